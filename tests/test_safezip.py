"""Hostile archives and XML are refused; honest ones open."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest

from qualcode.errors import ReaderError, UnsafeInputError
from qualcode.safezip import check_archive, open_zip, parse_xml


def make_zip(path: Path, members: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)  # ZipInfo keeps the name as given ("..", "\\")
            info.compress_type = compression
            archive.writestr(info, data)
    return path


def test_an_honest_archive_opens_and_members_are_found_case_insensitively(tmp_path):
    path = make_zip(tmp_path / "p.qdpx", {"project.qde": b"<a/>", "Sources/one.txt": b"hello"})
    with open_zip(path) as archive:
        assert archive.names == ["project.qde", "Sources/one.txt"]
        assert archive.find("sources/ONE.txt") == "Sources/one.txt"
        assert archive.find("Sources\\one.txt") == "Sources/one.txt"
        assert "sources/one.txt" in archive
        assert archive.find("missing.txt") is None
        assert archive.read("sources/one.txt") == b"hello"
        with pytest.raises(ReaderError, match=r"no member 'missing.txt'"):
            archive.read("missing.txt")


def test_a_file_object_can_be_opened(tmp_path):
    data = make_zip(tmp_path / "a.zip", {"a.txt": b"x"}).read_bytes()
    with open_zip(io.BytesIO(data), source_name="upload.zip") as archive:
        assert archive.read("a.txt") == b"x"


@pytest.mark.parametrize(("name", "reason"), [
    ("../evil.txt", "climbs out"),
    ("content/../../evil.txt", "climbs out"),
    ("..\\..\\evil.txt", "climbs out"),
    ("/etc/passwd", "absolute path"),
    ("\\\\server\\share\\x", "absolute path"),
    ("C:\\Windows\\evil.dll", "drive letter"),
    ("c:evil", "drive letter"),
])
def test_traversal_names_are_refused(tmp_path, name, reason):
    path = make_zip(tmp_path / "evil.zip", {"ok.txt": b"x", name: b"y"})
    with pytest.raises(UnsafeInputError, match=reason) as caught:
        open_zip(path)
    assert caught.value.path == str(path)
    with pytest.raises(UnsafeInputError):
        check_archive(path)


def test_duplicate_member_names_are_refused(tmp_path):
    path = tmp_path / "dup.zip"
    with pytest.warns(UserWarning, match="Duplicate name"):  # zipfile's own warning
        make_zip(path, {"a.txt": b"1"})
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr("a.txt", b"2")
    with pytest.raises(UnsafeInputError, match="appears twice"):
        open_zip(path)


def test_a_symbolic_link_is_refused(tmp_path):
    path = tmp_path / "link.zip"
    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo("link")
        info.external_attr = (0o120777 << 16)
        archive.writestr(info, "/etc/passwd")
    with pytest.raises(UnsafeInputError, match="symbolic link"):
        open_zip(path)


def test_a_bomb_by_compression_ratio_is_refused(tmp_path):
    path = make_zip(tmp_path / "bomb.zip", {"content.xml": b"\0" * (4 * 1024 * 1024)})
    with pytest.raises(UnsafeInputError, match=r"compressed .* to 1"):
        open_zip(path)
    # with a looser limit it opens
    with open_zip(path, max_ratio=10_000) as archive:
        assert len(archive.read("content.xml")) == 4 * 1024 * 1024


def test_small_members_are_not_held_to_the_ratio(tmp_path):
    path = make_zip(tmp_path / "small.zip", {"spaces.txt": b" " * 100_000})
    with open_zip(path) as archive:
        assert len(archive.read("spaces.txt")) == 100_000


def test_too_many_members_are_refused(tmp_path):
    path = make_zip(tmp_path / "many.zip", {f"m{i}.txt": b"x" for i in range(30)},
                    compression=zipfile.ZIP_STORED)
    with pytest.raises(UnsafeInputError, match="30 members, more than the limit of 20"):
        open_zip(path, max_members=20)
    open_zip(path, max_members=30).close()


def test_total_and_member_size_limits(tmp_path):
    path = make_zip(tmp_path / "big.zip", {"a.txt": b"a" * 3000, "b.txt": b"b" * 3000},
                    compression=zipfile.ZIP_STORED)
    with pytest.raises(UnsafeInputError, match="inflate to more than 5,000 bytes"):
        open_zip(path, max_total_size=5000)
    with pytest.raises(UnsafeInputError, match=r"'a.txt' would inflate to 3,000 bytes"):
        open_zip(path, max_member_size=2000)
    with open_zip(path) as archive, pytest.raises(UnsafeInputError, match="past the limit"):
        archive.read("a.txt", max_size=100)


def test_a_header_that_understates_the_size_cannot_inflate_past_it(tmp_path):
    path = make_zip(tmp_path / "liar.zip", {"a.txt": b"x" * 100_000})
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 10)  # uncompressed size: 10 bytes
    path.write_bytes(bytes(data))
    with open_zip(path) as archive, pytest.raises(ReaderError, match="damaged"):
        archive.read("a.txt")  # zipfile stops at 10 bytes; the CRC then fails


def test_the_total_budget_counts_what_was_actually_read(tmp_path):
    path = make_zip(tmp_path / "two.zip", {"a.txt": b"a" * 600, "b.txt": b"b" * 600},
                    compression=zipfile.ZIP_STORED)
    with open_zip(path, max_total_size=1200) as archive:
        archive.read("a.txt")
        archive.read("b.txt")
        with pytest.raises(UnsafeInputError, match="past the limit of 0 bytes"):
            archive.read("a.txt")


@pytest.mark.parametrize("data", [b"not a zip at all", b"PK\x03\x04broken", b""])
def test_not_a_zip_is_a_reader_error(tmp_path, data):
    path = tmp_path / "x.docx"
    path.write_bytes(data)
    with pytest.raises(ReaderError, match="not a readable zip") as caught:
        open_zip(path)
    assert not isinstance(caught.value, UnsafeInputError)


def test_a_missing_archive_is_a_reader_error(tmp_path):
    with pytest.raises(ReaderError, match="does not exist"):
        open_zip(tmp_path / "missing.odt")


# -- XML ------------------------------------------------------------------------------
def test_parse_xml_reads_honest_xml():
    root = parse_xml(b'<?xml version="1.0"?><a xmlns="urn:x"><b>text</b></a>', "a.xml")
    assert root.find("{urn:x}b").text == "text"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz>&lol3;</lolz>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<foo>&xxe;</foo>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE foo SYSTEM "http://example.org/evil.dtd">
<foo/>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
def test_parse_xml_refuses_dtds_entities_and_external_references(data):
    with pytest.raises(UnsafeInputError, match="DTD") as caught:
        parse_xml(data, "evil.odt:content.xml")
    assert caught.value.path == "evil.odt:content.xml"


def test_malformed_xml_names_its_line():
    with pytest.raises(ReaderError, match="malformed") as caught:
        parse_xml(b"<a>\n<b>\n</a>", "x.odt:content.xml")
    assert caught.value.line == 3
    assert "x.odt:content.xml, line 3" in str(caught.value)
