"""Hostile archives and XML are refused (issue 8, part 2).

DOCX, ODT, XLSX and REFI-QDA (.qdpx) are zips of XML, and a .qdc is XML. Each format is
crafted with path traversal (``../../x``, ``..\\x``), absolute member names, a symbolic
link, duplicate names, a zip bomb (by compression ratio), too many members, entity
expansion ("billion laughs"), an external entity that points at a local file, and an
external DTD. Each must be refused with an :class:`~qualcode.errors.InputError` (for the
archive and XML attacks an :class:`~qualcode.errors.UnsafeInputError`) whose message names
the file; nothing may be written outside the target folder, and the local file's content
must appear nowhere.
"""

from __future__ import annotations

import io
import stat
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import sample_files

from qualcode.errors import InputError, UnsafeInputError
from qualcode.safezip import MAX_MEMBERS

SECRET = "TOP-SECRET-" + uuid.uuid4().hex
ABSOLUTE_TARGET = Path(f"/tmp/qualcode-hostile-{uuid.uuid4().hex}.txt")

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def members_of(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def with_members(data: bytes, extra: list[tuple[str, bytes]]) -> bytes:
    return sample_files.zip_bytes(members_of(data) + extra)


def replacing(data: bytes, name: str, new: bytes) -> bytes:
    return sample_files.zip_bytes([(n, new if n == name else d) for n, d in members_of(data)])


def with_symlink(data: bytes) -> bytes:
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a") as archive:
        info = zipfile.ZipInfo("link", date_time=sample_files.ZIP_DATE)
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def with_duplicate(data: bytes) -> bytes:
    members = members_of(data)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, member in [*members, members[-1]]:
            info = zipfile.ZipInfo(name, date_time=sample_files.ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            with pytest.warns(UserWarning, match="Duplicate name") if (
                    name, member) == members[-1] and archive.namelist().count(name) else _null():
                archive.writestr(info, member)
    return buffer.getvalue()


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None


# -- the main XML member of each format, with a prolog and a body -----------------------------
def docx_xml(prolog: str, body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{prolog}'
            f'<w:document xmlns:w="{W}"><w:body><w:p><w:r><w:t>{body}</w:t></w:r></w:p>'
            "</w:body></w:document>").encode()


def odt_xml(prolog: str, body: str) -> bytes:
    return sample_files.odt_content(f"<text:p>{body}</text:p>", prolog)


def xlsx_xml(prolog: str, body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{prolog}'
            f'<worksheet xmlns="{S}"><sheetData>'
            '<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c>'
            '<c r="B1" t="inlineStr"><is><t>answer</t></is></c></row>'
            f'<row r="2"><c r="A2" t="inlineStr"><is><t>r1</t></is></c>'
            f'<c r="B2" t="inlineStr"><is><t>{body}</t></is></c></row>'
            "</sheetData></worksheet>").encode()


def qde_xml(prolog: str, body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?>{prolog}'
            f'<Project xmlns="urn:QDA-XML:project:1.0" name="{body}" origin="x"/>').encode()


def qdc_xml(prolog: str, body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?>{prolog}'
            '<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="x"><Codes>'
            f'<Code guid="3b0c8a4c-51e7-4b6a-9d5f-0c2d2f0f3a11" name="{body}" isCodable="true"/>'
            "</Codes></CodeBook>").encode()


FORMATS: dict[str, tuple[str, Callable[[str, str], bytes]]] = {
    ".docx": ("word/document.xml", docx_xml),
    ".odt": ("content.xml", odt_xml),
    ".xlsx": ("xl/worksheets/sheet1.xml", xlsx_xml),
    ".qdpx": ("project.qde", qde_xml),
}


def xml_attacks(secret: Path) -> dict[str, tuple[str, str]]:
    # Each body holds ordinary text too, so a reader that merely drops the entity still
    # has a document to return: only a refusal passes.
    return {
        "billion laughs": (sample_files.BILLION_LAUGHS, "Anna: we knocked. &lol9;"),
        "external entity to a local file": (sample_files.external_entity(secret),
                                            "Anna: we knocked. &xxe;"),
        "external DTD": (f'<!DOCTYPE x SYSTEM "file://{secret.as_posix()}">',
                         "Anna: we knocked."),
        "parameter entity": (f'<!DOCTYPE x [<!ENTITY % p SYSTEM "file://{secret.as_posix()}"> '
                             "%p;]>", "Anna: we knocked."),
    }


ARCHIVE_ATTACKS: dict[str, Callable[[bytes], bytes]] = {
    "path traversal": lambda d: with_members(d, [("../../evil.txt", b"owned")]),
    "backslash traversal": lambda d: with_members(d, [("..\\..\\evil.txt", b"owned")]),
    "absolute path": lambda d: with_members(d, [(str(ABSOLUTE_TARGET), b"owned")]),
    "drive letter": lambda d: with_members(d, [("C:/evil.txt", b"owned")]),
    "symbolic link": with_symlink,
    "duplicate member": with_duplicate,
    "zip bomb (ratio)": lambda d: with_members(d, [("bomb.xml", b"\0" * 8 * 1024 * 1024)]),
    "too many members": lambda d: with_members(
        d, [(f"m/{i}.xml", b"") for i in range(MAX_MEMBERS + 1)]),
}


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp/sandbox/in/deep`` is the working folder, so '../../x' would land in the
    sandbox where the test sees it. ``tmp/secret.txt`` is the local file attacks reach for."""
    (tmp_path / "secret.txt").write_text(SECRET, encoding="utf-8")
    work = tmp_path / "sandbox" / "in" / "deep"
    work.mkdir(parents=True)
    (tmp_path / "sandbox" / "out").mkdir()
    monkeypatch.chdir(work)
    return tmp_path


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def valid() -> dict[str, bytes]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        qdpx = sample_files.qdpx(Path(folder))
    return {".docx": sample_files.docx(), ".odt": sample_files.odt(),
            ".xlsx": sample_files.xlsx_table(), ".qdpx": qdpx}


def read(path: Path, out: Path) -> object:
    """Read ``path`` as qualcode would: ingest a transcript or table, import a .qdpx."""
    if path.suffix == ".qdpx":
        from qualcode.export.refiqda import import_qdpx

        return import_qdpx(path, out / "imported.qualcode")
    from qualcode.ingest import load_corpus

    return load_corpus([path], text_column="answer")


def assert_refused(path: Path, sandbox: Path, error: type[Exception] = UnsafeInputError
                   ) -> InputError:
    before = files_under(sandbox)
    with pytest.raises(InputError) as info:
        read(path, sandbox / "sandbox" / "out")
    assert isinstance(info.value, error), f"{type(info.value).__name__}: {info.value}"
    message = str(info.value)
    assert path.name in message and SECRET not in message
    assert files_under(sandbox) == before, "something was written"
    assert not ABSOLUTE_TARGET.exists()
    return info.value


def test_the_valid_files_are_read(sandbox: Path, valid: dict[str, bytes]) -> None:
    for suffix, data in valid.items():
        path = sandbox / "sandbox" / "in" / f"valid{suffix}"
        path.write_bytes(data)
        assert read(path, sandbox / "sandbox" / "out")


@pytest.mark.parametrize("suffix", sorted(FORMATS))
@pytest.mark.parametrize("attack", sorted(ARCHIVE_ATTACKS))
def test_hostile_archives_are_refused(sandbox: Path, valid: dict[str, bytes], suffix: str,
                                      attack: str) -> None:
    path = sandbox / "sandbox" / "in" / f"hostile{suffix}"
    path.write_bytes(ARCHIVE_ATTACKS[attack](valid[suffix]))
    error = assert_refused(path, sandbox)
    assert "Refused" in str(error)


@pytest.mark.parametrize("suffix", sorted(FORMATS))
@pytest.mark.parametrize("attack", ["billion laughs", "external entity to a local file",
                                    "external DTD", "parameter entity"])
def test_hostile_xml_is_refused(sandbox: Path, valid: dict[str, bytes], suffix: str,
                                attack: str) -> None:
    member, make = FORMATS[suffix]
    prolog, body = xml_attacks(sandbox / "secret.txt")[attack]
    path = sandbox / "sandbox" / "in" / f"hostile{suffix}"
    path.write_bytes(replacing(valid[suffix], member, make(prolog, body)))
    # qualcode parses ODT and REFI-QDA XML itself (safezip.parse_xml: any DTD is refused as
    # unsafe); python-docx and openpyxl parse DOCX and XLSX, where a ReaderError/TableError
    # from the library's own limits is an acceptable refusal.
    assert_refused(path, sandbox, UnsafeInputError if suffix in (".odt", ".qdpx") else
                   InputError)


@pytest.mark.parametrize("attack", ["billion laughs", "external entity to a local file",
                                    "external DTD", "parameter entity"])
def test_hostile_qdc_codebook_is_refused(sandbox: Path, attack: str) -> None:
    from qualcode.codebook import load_codebook

    prolog, body = xml_attacks(sandbox / "secret.txt")[attack]
    path = sandbox / "sandbox" / "in" / "hostile.qdc"
    path.write_bytes(qdc_xml(prolog, body))
    with pytest.raises(InputError) as info:
        load_codebook(path)
    assert path.name in str(info.value) and SECRET not in str(info.value)


@pytest.mark.parametrize("attack", ["zip bomb (ratio)", "too many members", "path traversal"])
def test_hostile_codebook_workbook_is_refused(sandbox: Path, attack: str) -> None:
    from qualcode.codebook import load_codebook

    path = sandbox / "sandbox" / "in" / "hostile.xlsx"
    path.write_bytes(ARCHIVE_ATTACKS[attack](sample_files.codebook_xlsx()))
    with pytest.raises(InputError) as info:  # a CodebookError carrying safezip's refusal
        load_codebook(path)
    assert path.name in str(info.value) and "Refused" in str(info.value)


def test_a_lying_size_header_cannot_inflate_past_the_cap(sandbox: Path) -> None:
    """A member whose central directory claims 10 bytes but inflates to megabytes."""
    from qualcode.safezip import open_zip

    data = bytearray(sample_files.zip_bytes([("a.xml", b"\0" * 4 * 1024 * 1024)]))
    central = data.index(b"PK\x01\x02")
    data[central + 24:central + 28] = (10).to_bytes(4, "little")  # uncompressed size
    path = sandbox / "sandbox" / "in" / "liar.zip"
    path.write_bytes(bytes(data))
    with open_zip(path) as archive, pytest.raises(InputError) as info:
        archive.read("a.xml")
    assert path.name in str(info.value)


def test_a_qdpx_cannot_pull_in_files_silently(sandbox: Path, valid: dict[str, bytes]) -> None:
    """A project may point its sources at files on this computer (the standard allows it);
    only plain-text files are read, and every one is reported."""
    from qualcode.export.refiqda import read_qdpx

    (sandbox / "notes.txt").write_text(SECRET, encoding="utf-8")
    (sandbox / "id_rsa").write_text(SECRET, encoding="utf-8")
    qde = (
        '<?xml version="1.0" encoding="utf-8"?><Project xmlns="urn:QDA-XML:project:1.0" '
        'name="p" origin="x"><Sources>'
        '<TextSource guid="11111111-1111-4111-8111-111111111111" name="a" '
        'plainTextPath="relative://../../../notes.txt"/>'
        '<TextSource guid="22222222-2222-4222-8222-222222222222" name="b" '
        f'plainTextPath="file://{(sandbox / "id_rsa").as_posix()}"/>'
        "</Sources></Project>"
    ).encode()
    path = sandbox / "sandbox" / "in" / "pull.qdpx"
    path.write_bytes(sample_files.zip_bytes([("project.qde", qde)]))
    read = read_qdpx(path)
    texts = [d.text for d in read.documents]
    report = " ".join([*read.notes, *read.skipped, *read.missing_sources])
    assert not any(SECRET in t for t in texts) or "notes.txt" in report
    assert all("id_rsa" not in t for t in texts)


def test_a_relative_source_path_cannot_climb_out_of_the_project_folder(sandbox: Path) -> None:
    from qualcode.export.refiqda import read_qdpx

    (sandbox / "sandbox" / "secret.txt").write_text(SECRET, encoding="utf-8")
    (sandbox / "sandbox" / "in" / "beside.txt").write_text("Fine to read.", encoding="utf-8")
    qde = (
        b'<?xml version="1.0" encoding="utf-8"?><Project xmlns="urn:QDA-XML:project:1.0" '
        b'name="p" origin="x"><Sources>'
        b'<TextSource guid="11111111-1111-4111-8111-111111111111" name="a" '
        b'plainTextPath="relative://../secret.txt"/>'
        b'<TextSource guid="22222222-2222-4222-8222-222222222222" name="b" '
        b'plainTextPath="relative://beside.txt"/>'
        b"</Sources></Project>"
    )
    path = sandbox / "sandbox" / "in" / "climb.qdpx"
    path.write_bytes(sample_files.zip_bytes([("project.qde", qde)]))
    read = read_qdpx(path)
    assert [d.text for d in read.documents] == ["Fine to read."]
    report = " ".join([*read.notes, *read.skipped, *read.missing_sources])
    assert "relative://../secret.txt points outside the project's folder; refused" in report


def test_cli_refuses_a_hostile_docx_with_exit_code_3(sandbox: Path, valid: dict[str, bytes],
                                                    capsys) -> None:
    from qualcode.cli import main
    from qualcode.project import Project

    project = sandbox / "sandbox" / "out" / "p.qualcode"
    Project.create(project).close()
    path = sandbox / "sandbox" / "in" / "bomb.docx"
    path.write_bytes(ARCHIVE_ATTACKS["zip bomb (ratio)"](valid[".docx"]))
    with pytest.raises(SystemExit) as info:
        main(["ingest", str(project), str(path)])
    err = capsys.readouterr().err
    assert info.value.code == 3 and "zip bomb" in err and "Traceback" not in err
