"""Small valid files of every format qualcode reads, and crafted hostile ones.

Imported as ``sample_files`` by the fuzz and hostile-file tests (tests/ is on pythonpath).
Everything is built in memory, deterministically: no fixture files to go stale.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

TRANSCRIPT = (
    "INTERVIEWER: Tell me about the last visit.\n\n"
    "Sarah, Ash Grove: We knocked and waited. Mum put the kettle on.\n\n"
    "INTERVIEWER: And then?\n\n"
    "Sarah, Ash Grove: (laughs) We sat in the kitchen. [inaudible] It felt calm.\n"
)
ZIP_DATE = (2022, 3, 7, 0, 0, 0)


def zip_bytes(members: list[tuple[str, bytes]], *, compression: int = zipfile.ZIP_DEFLATED
              ) -> bytes:
    """A zip holding ``members`` (name, data) in order, with fixed timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = compression
            archive.writestr(info, data)
    return buffer.getvalue()


def txt() -> bytes:
    return TRANSCRIPT.encode("utf-8")


def md() -> bytes:
    return ("---\nparticipant: Sarah\nsetting: Ash Grove\n---\n" + TRANSCRIPT).encode()


def vtt() -> bytes:
    return (
        b"WEBVTT\n\n"
        b"00:00:01.000 --> 00:00:04.000\n<v Interviewer>Tell me about the last visit.\n\n"
        b"00:00:05.000 --> 00:00:09.500\n<v Sarah>We knocked and waited.\n\n"
        b"00:00:10.000 --> 00:00:12.000\n<v Sarah>Mum put the kettle on.\n"
    )


def srt() -> bytes:
    return (
        b"1\n00:00:01,000 --> 00:00:04,000\nINTERVIEWER: Tell me about the last visit.\n\n"
        b"2\n00:00:05,000 --> 00:00:09,500\nSarah: We knocked and waited.\n\n"
        b"3\n00:00:10,000 --> 00:00:12,000\nSarah: Mum put the kettle on.\n"
    )


def csv_table() -> bytes:
    return (b"id,answer,site\nr1,We knocked and waited.,Ash Grove\n"
            b'r2,"Mum put the kettle on, then we talked.",Oakview\n')


def tsv_table() -> bytes:
    return b"id\tanswer\tsite\nr1\tWe knocked.\tAsh Grove\nr2\tMum made tea.\tOakview\n"


def xlsx_table() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in (("id", "answer", "site"), ("r1", "We knocked and waited.", "Ash Grove"),
                ("r2", "Mum put the kettle on.", "Oakview")):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def docx() -> bytes:
    import docx as python_docx

    document = python_docx.Document()
    for paragraph in TRANSCRIPT.strip().split("\n\n"):
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


ODT_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')


def odt_content(body: str | None = None, prolog: str = "") -> bytes:
    paragraphs = body if body is not None else "".join(
        f"<text:p>{p}</text:p>" for p in TRANSCRIPT.strip().split("\n\n"))
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}'
        f"<office:document-content {ODT_NS}><office:body><office:text>{paragraphs}"
        "</office:text></office:body></office:document-content>"
    ).encode()


def odt(content: bytes | None = None, extra: list[tuple[str, bytes]] = ()) -> bytes:
    return zip_bytes([
        ("mimetype", b"application/vnd.oasis.opendocument.text"),
        ("content.xml", odt_content() if content is None else content),
        *extra,
    ], compression=zipfile.ZIP_STORED)


def qdpx(tmp: Path) -> bytes:
    """A small REFI-QDA project written by qualcode's own exporter."""
    from builders import make_corpus

    from qualcode.export.refiqda import export_qdpx
    from qualcode.model import Code, Codebook, Coding
    from qualcode.project import Project

    path = tmp / "sample.qualcode"
    with Project.create(path, codebook=Codebook("b", (Code("tea", definition="Tea."),))) as p:
        p.add_corpus(make_corpus({"d1": "Anna: Mum put the kettle on.\nAnna: We sat down."}))
        p.add_codings([Coding("d1", 6, 28, "tea", "ref")])
        export_qdpx(p, tmp / "sample.qdpx")
    data = (tmp / "sample.qdpx").read_bytes()
    path.unlink()
    (tmp / "sample.qdpx").unlink()
    return data


def qdc(tmp: Path) -> bytes:
    from qualcode.export.refiqda import export_qdc
    from qualcode.model import Code, Codebook

    out = tmp / "sample.qdc"
    export_qdc(Codebook("b", (Code("tea", definition="Tea."),)), out)
    data = out.read_bytes()
    out.unlink()
    return data


def codebook_yaml() -> bytes:
    return (
        b"name: small\nversion: 1\nthemes:\n"
        b"  - id: visits\n    name: Visits\n    definition: Why visits happen.\n    codes:\n"
        b"      - id: tea\n        name: Hospitality\n        definition: A drink offered.\n"
        b"        examples: [She put the kettle on.]\n        keywords: [kettle, cup of tea]\n"
    )


def codebook_csv() -> bytes:
    return (b"name,definition,theme,keywords\nHospitality,A drink offered.,Visits,kettle|tea\n"
            b"Attendance,Pupil absent.,Visits,absent\n")


def codebook_xlsx() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in (("name", "definition", "theme"), ("Hospitality", "A drink offered.", "Visits")):
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# -- hostile XML -----------------------------------------------------------------------------
BILLION_LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
              for i in range(1, 10))
    + "]>"
)


def external_entity(target: Path) -> str:
    return f'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{target.as_posix()}">]>'


def with_entity_body(prolog: str, reference: str) -> bytes:
    """ODT content.xml whose paragraph is an entity reference after a hostile DTD."""
    return odt_content(f"<text:p>{reference}</text:p>", prolog)


# -- damaged archives (the central directory is sound, a member is not) ----------------------
def with_bad_local_header(data: bytes) -> bytes:
    """The first member's local header signature zeroed: 'Bad magic number for file header'."""
    return b"\x00" + data[1:]


def with_corrupt_member(data: bytes, name: str) -> bytes:
    """Bytes in the middle of member ``name``'s compressed data overwritten."""
    import struct

    start = data.index(b"PK\x03\x04")
    while True:
        name_length, extra_length = struct.unpack("<HH", data[start + 26:start + 30])
        member = data[start + 30:start + 30 + name_length].decode()
        size = struct.unpack("<I", data[start + 18:start + 22])[0]
        body = start + 30 + name_length + extra_length
        if member == name:
            middle = body + size // 2
            return data[:middle] + b"\x00" * 8 + data[middle + 8:]
        start = data.index(b"PK\x03\x04", body + size)


def with_unsupported_zip_version(data: bytes) -> bytes:
    """The first central-directory entry claims it needs zip version 6.4 to extract."""
    at = data.index(b"PK\x01\x02") + 6
    return data[:at] + bytes([64]) + data[at + 1:]
