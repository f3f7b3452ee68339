"""Every reader, every encoding (hand-made bytes), and the messages for bad input.

Binary fixtures (docx, odt, xlsx) are built here in ``tmp_path`` by the helpers below.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from types import MappingProxyType

import pytest

from qualcode.errors import ParameterError, ReaderError, TableError, UnsafeInputError
from qualcode.ingest import (
    ParsedSource,
    Turn,
    read_document,
    read_documents,
    register_reader,
    supported_suffixes,
)
from qualcode.ingest.base import _READERS
from qualcode.model import Document, check_document_id

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"


# -- builders --------------------------------------------------------------------------
def make_docx(path: Path, paragraphs: list[str], *, table: list[list[str]] | None = None,
              title: str | None = None) -> Path:
    """A .docx whose paragraphs are ``paragraphs`` ("\\n" = line break), then a table."""
    import docx

    document = docx.Document()
    for text in paragraphs:
        paragraph = document.add_paragraph()
        for i, line in enumerate(text.split("\n")):
            run = paragraph.add_run(line)
            if i < len(text.split("\n")) - 1:
                run.add_break()
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
        document.add_paragraph("After the table.")
    if title:
        document.core_properties.title = title
    document.save(path)
    return path


_ODT_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"'
)


def make_odt(path: Path, body: str, *, title: str | None = None,
             mimetype: str = "application/vnd.oasis.opendocument.text",
             content: bytes | None = None, extra: dict[str, bytes] | None = None) -> Path:
    """An .odt whose office:text holds ``body`` (ODF XML with the text: prefix)."""
    if content is None:
        content = (
            f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODT_NS} '
            f'office:version="1.2"><office:body><office:text>{body}</office:text>'
            "</office:body></office:document-content>"
        ).encode()
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        if title is not None:
            archive.writestr("meta.xml", (
                f'<?xml version="1.0"?><office:document-meta {_ODT_NS}><office:meta>'
                f"<dc:title>{title}</dc:title></office:meta></office:document-meta>"
            ))
        for name, data in (extra or {}).items():
            archive.writestr(zipfile.ZipInfo(name), data)
    return path


def make_xlsx(path: Path, rows: list[list[object]], *, sheet: str = "Sheet1",
              second: list[list[object]] | None = None) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    worksheet = book.active
    worksheet.title = sheet
    for row in rows:
        worksheet.append(row)
    if second is not None:
        other = book.create_sheet("Second")
        for row in second:
            other.append(row)
    book.save(path)
    return path


def write(path: Path, data: bytes | str) -> Path:
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def turns_of(source: ParsedSource) -> list[tuple[str | None, str | None, str]]:
    return [(t.speaker, t.role, source.text[t.start:t.end]) for t in source.turns]


# -- plain text ------------------------------------------------------------------------
TRANSCRIPT = (
    "INTERVIEWER: So tell me about the last home visit you did.\n\n"
    "Sarah, Ash Grove: Well, it was a Tuesday.\n\n"
    "We went in pairs (laughs).\n\n"
    "INTERVIEWER: And then?"
)


def test_txt_reader_finds_turns_and_uses_the_stem_as_id(tmp_path):
    source = read_document(write(tmp_path / "AP01_sarah.txt", TRANSCRIPT))
    assert source.id == "AP01_sarah"
    assert source.format == "txt"
    assert source.encoding == "utf-8"
    assert source.source == str(tmp_path / "AP01_sarah.txt")
    assert source.text == TRANSCRIPT
    assert turns_of(source) == [
        ("INTERVIEWER", "interviewer", "So tell me about the last home visit you did."),
        ("Sarah", "participant", "Well, it was a Tuesday.\n\nWe went in pairs (laughs)."),
        ("INTERVIEWER", "interviewer", "And then?"),
    ]
    assert source.speakers == ("INTERVIEWER", "Sarah")
    assert read_document(tmp_path / "AP01_sarah.txt", document_id="sarah").id == "sarah"


def test_the_fixture_transcript_reads(tmp_path):
    source = read_document(FIXTURES / "southfield.txt")
    assert [(t.speaker, t.start_time) for t in source.turns] == [
        ("INTERVIEWER", 4.0), ("Dave", 12.0), ("INTERVIEWER", 57.0), ("Dave", 64.0),
    ]
    assert source.text[source.turns[1].start:].startswith("Yeah, course.")


SAMPLE = "Q: Café?\r\nA: Oui – ‘très’ bien.\r\n\r\nQ: Fin\r"
NORMALISED = "Q: Café?\nA: Oui – ‘très’ bien.\n\nQ: Fin\n"


@pytest.mark.parametrize(("data", "encoding"), [
    (SAMPLE.encode("utf-8"), "utf-8"),
    (b"\xef\xbb\xbf" + SAMPLE.encode("utf-8"), "utf-8"),
    (b"\xff\xfe" + SAMPLE.encode("utf-16-le"), "utf-16"),
    (b"\xfe\xff" + SAMPLE.encode("utf-16-be"), "utf-16"),
    (SAMPLE.encode("utf-16-le"), "utf-16-le"),
    (SAMPLE.encode("utf-16-be"), "utf-16-be"),
    (b"\xff\xfe\x00\x00" + SAMPLE.encode("utf-32-le"), "utf-32"),
    (SAMPLE.encode("cp1252"), "cp1252"),
    (SAMPLE.replace("‘", "'").replace("’", "'").replace("–", "-").encode("latin-1")
     + b"\x81", "latin-1"),
], ids=["utf8", "utf8-bom", "utf16le-bom", "utf16be-bom", "utf16le", "utf16be", "utf32-bom",
        "cp1252", "latin1"])
def test_every_encoding_gives_the_same_normalised_text(tmp_path, data, encoding):
    source = read_document(write(tmp_path / "t.txt", data))
    assert source.encoding == encoding
    expected = NORMALISED
    if encoding == "latin-1":
        expected = NORMALISED.replace("‘", "'").replace("’", "'").replace("–", "-") + "\x81"
    assert source.text == expected
    first = source.turns[0]
    assert (first.speaker, source.text[first.start:first.end]) == ("Q", "Café?")


def test_an_explicit_encoding_overrides_detection(tmp_path):
    path = write(tmp_path / "t.txt", "Q: Ça va?".encode("cp1252"))
    assert read_document(path).text == "Q: Ça va?"
    assert read_document(path, encoding="latin-1").text == "Q: Ça va?"
    utf8 = write(tmp_path / "u.txt", "Q: Ça va?".encode())
    assert read_document(utf8, encoding="cp1252").text == "Q: Ã‡a va?"  # as asked
    with pytest.raises(ReaderError, match="not valid utf-8") as caught:
        read_document(path, encoding="utf-8")
    assert caught.value.path == str(path)
    with pytest.raises(ReaderError, match="Unknown encoding 'klingon'"):
        read_document(path, encoding="klingon")


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"


@pytest.mark.parametrize(("data", "message"), [
    (PNG, "not a text file: it looks like a PNG image"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "looks like a PDF"),
    (b"PK\x03\x04\x14\x00\x06\x00", "zip archive .*proper suffix"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "legacy Office file"),
    (bytes(range(256)) * 8, "binary data"),
    (b"\x01\x02\x03\x04\x05\x06\x07\x08" * 100, "control characters"),
    (b"", "empty"),
    (b"  \n\t\r\n  ", "empty"),
    (b"\xef\xbb\xbf", "empty"),
    (b"\xff\xfe\x00\xd8", "byte-order mark but is not valid"),
])
def test_files_that_are_not_text_are_refused_with_a_reason(tmp_path, data, message):
    path = write(tmp_path / "interview.txt", data)
    with pytest.raises(ReaderError, match=message) as caught:
        read_document(path)
    assert str(caught.value).startswith(str(path))


# Control characters are counted in the decoded text, but a file is only scanned when it
# holds a control byte: every codec of the guess must agree with the byte count.
@pytest.mark.parametrize(("text", "codec", "is_text"), [
    ("Anna: café, and a bell \x07 once.", "utf-8", True),
    ("Anna: café, and a bell \x07 once.", "cp1252", True),
    ("Anna: \x81 is no cp1252 byte \x01\x02", "latin-1", True),
    ("Anna: café " + "\x01\x1f\x7f" * 10, "utf-8", False),
    ("Anna: café " + "\x01\x1f\x7f" * 10, "cp1252", False),
    ("Anna: \x81" + "\x01\x08\x0e" * 10, "latin-1", False),
    ("Anna: tabs\tand\x0bvertical\x0cfeeds\x1c\x1d are text", "utf-8", True),
])
def test_text_with_a_few_control_characters_is_read_and_full_of_them_is_refused(
    tmp_path, text, codec, is_text
):
    path = write(tmp_path / "interview.txt", text.encode(codec))
    if is_text:
        assert read_document(path).text == text
    else:
        with pytest.raises(ReaderError, match="full of control characters"):
            read_document(path)


def test_missing_file_folder_and_unsupported_suffix(tmp_path):
    with pytest.raises(ReaderError, match="does not exist") as caught:
        read_document(tmp_path / "nope.txt")
    assert caught.value.path == str(tmp_path / "nope.txt")
    with pytest.raises(ReaderError, match="is a folder"):
        read_document(tmp_path)
    pdf = write(tmp_path / "scan.pdf", b"%PDF")
    with pytest.raises(ReaderError, match=r"no reader for '\.pdf' files\. It reads .*\.docx"):
        read_document(pdf)


def test_markdown_front_matter_becomes_attributes_and_bold_labels_work(tmp_path):
    text = (
        "---\nsetting: Oakview\ndate: 2022-03-11\nwave: 2\n---\n"
        "# Interview with Marcus\n\n**Interviewer:** Why visit?\n\n**Marcus:** Attendance."
    )
    source = read_document(write(tmp_path / "m.md", text))
    assert dict(source.attributes) == {"setting": "Oakview", "date": "2022-03-11", "wave": "2"}
    assert source.text.startswith("# Interview with Marcus")
    assert turns_of(source) == [
        (None, None, "# Interview with Marcus"),
        ("Interviewer", "interviewer", "Why visit?"),
        ("Marcus", "participant", "Attendance."),
    ]


def test_broken_front_matter_names_its_line(tmp_path):
    path = write(tmp_path / "m.md", "---\nsetting: [Oakview\n---\nQ: Hi")
    with pytest.raises(ReaderError, match=r"front matter .* not valid YAML") as caught:
        read_document(path)
    assert caught.value.line is not None


# -- docx ------------------------------------------------------------------------------
def test_docx_paragraphs_tables_and_title(tmp_path):
    path = make_docx(
        tmp_path / "AP02_emma.docx",
        ["INTERVIEWER: Tell me.", "", "Emma, Broadtown: First line\nsecond line.",
         "Still Emma.", "INTERVIEWER: The table?"],
        table=[["Visit", "Reason"], ["1", "Attendance"]],
        title="Interview 2",
    )
    source = read_document(path)
    assert source.format == "docx"
    assert dict(source.attributes) == {"title": "Interview 2"}
    assert source.text == (
        "INTERVIEWER: Tell me.\n\nEmma, Broadtown: First line\nsecond line.\n\nStill Emma."
        "\n\nINTERVIEWER: The table?\n\nVisit\n\nReason\n\n1\n\nAttendance\n\nAfter the table."
    )
    assert turns_of(source)[1] == ("Emma", "participant", "First line\nsecond line.\n\nStill Emma.")
    assert source.text.endswith("After the table.")


def test_docx_keeps_tracked_insertions_and_content_controls(tmp_path):
    import docx
    from docx.oxml import parse_xml

    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    stamp = 'w:author="Anna" w:date="2022-03-09T10:00:00Z"'
    document = docx.Document()
    document.add_paragraph("INTERVIEWER: How long did you wait?")
    paragraph = document.add_paragraph("Emma, Broadtown: We knocked and ")
    for xml in (  # corrected with Track Changes on; a field; a smart tag
        f'<w:ins {w} w:id="1" {stamp}><w:r><w:t xml:space="preserve">waited </w:t></w:r></w:ins>',
        f'<w:del {w} w:id="2" {stamp}><w:r><w:delText>left </w:delText></w:r></w:del>',
        f'<w:fldSimple {w} w:instr="NUMWORDS"><w:r><w:t>ten</w:t></w:r></w:fldSimple>',
        f'<w:smartTag {w} w:uri="u" w:element="place"><w:r><w:t> minutes.</w:t></w:r></w:smartTag>',
    ):
        paragraph._p.append(parse_xml(xml))
    body = document.element.body
    body.insert(len(body) - 1, parse_xml(  # a content control around a paragraph
        f"<w:sdt {w}><w:sdtContent><w:p><w:r><w:t>INTERVIEWER: And then?</w:t></w:r></w:p>"
        "</w:sdtContent></w:sdt>"))
    document.save(tmp_path / "AP02_emma.docx")
    source = read_document(tmp_path / "AP02_emma.docx")
    assert turns_of(source) == [
        ("INTERVIEWER", "interviewer", "How long did you wait?"),
        ("Emma", "participant", "We knocked and waited ten minutes."),
        ("INTERVIEWER", "interviewer", "And then?"),
    ]


def test_docx_without_text_is_refused(tmp_path):
    with pytest.raises(ReaderError, match="has no text"):
        read_document(make_docx(tmp_path / "empty.docx", ["", "   "]))


def test_a_docx_that_is_not_a_zip_is_a_reader_error(tmp_path):
    path = write(tmp_path / "old.docx", b"\xd0\xcf\x11\xe0 legacy word")
    with pytest.raises(ReaderError, match="not a readable zip"):
        read_document(path)


def test_a_docx_with_a_traversal_member_is_refused(tmp_path):
    path = make_docx(tmp_path / "evil.docx", ["Q: hi"])
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(zipfile.ZipInfo("../../evil.sh"), b"rm -rf")
    with pytest.raises(UnsafeInputError, match="climbs out"):
        read_document(path)


def test_a_zip_without_word_content_is_a_reader_error(tmp_path):
    path = tmp_path / "fake.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(ReaderError, match="docx"):
        read_document(path)


# -- odt -------------------------------------------------------------------------------
ODT_BODY = (
    '<text:h text:outline-level="1">Session 4</text:h>'
    "<text:p>1 Read the <text:span>home</text:span> tab.</text:p>"
    "<text:p><text:tab/>Alright,<text:s/>I<text:s text:c=\"3\"/>logged in."
    '<office:annotation><text:p>comment to skip</text:p></office:annotation> Kept tail.</text:p>'
    "<text:p><text:tab/>MODERATOR: Could you<text:line-break/>start?"
    '<text:note><text:note-citation>1</text:note-citation><text:note-body>'
    "<text:p>footnote</text:p></text:note-body></text:note></text:p>"
    "<text:p/>"
    "<text:list><text:list-item><text:p>first item</text:p></text:list-item>"
    "<text:list-item><text:list><text:list-item><text:p>nested item</text:p>"
    "</text:list-item></text:list></text:list-item></text:list>"
    "<table:table><table:table-row><table:table-cell><text:p>cell A</text:p>"
    "</table:table-cell><table:table-cell><text:p>cell B</text:p></table:table-cell>"
    "</table:table-row></table:table>"
    "<text:tracked-changes><text:changed-region><text:deletion><text:p>deleted</text:p>"
    "</text:deletion></text:changed-region></text:tracked-changes>"
    "<text:p><text:tab/>MODERATOR: Thanks.</text:p>"
)


def test_odt_text_elements_and_think_aloud_turns(tmp_path):
    source = read_document(make_odt(tmp_path / "P4.odt", ODT_BODY, title="Usability P4"))
    assert source.format == "odt"
    assert dict(source.attributes) == {"title": "Usability P4"}
    assert source.text == (
        "Session 4\n\n1 Read the home tab.\n\n\tAlright, I   logged in. Kept tail.\n\n"
        "\tMODERATOR: Could you\nstart?\n\nfirst item\n\nnested item\n\ncell A\n\ncell B"
        "\n\n\tMODERATOR: Thanks."
    )
    assert turns_of(source) == [
        (None, "participant", "Session 4"),
        (None, None, "1 Read the home tab."),
        (None, "participant", "Alright, I   logged in. Kept tail."),
        ("MODERATOR", "interviewer", "Could you\nstart?"),
        (None, "participant", "first item\n\nnested item\n\ncell A\n\ncell B"),
        ("MODERATOR", "interviewer", "Thanks."),
    ]


@pytest.mark.parametrize(("content", "error", "message"), [
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
     b"<x>&b;</x>", UnsafeInputError, "DTD"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
     UnsafeInputError, "DTD"),
    (b"<office:document-content>\n<unclosed>", ReaderError, "malformed"),
])
def test_hostile_or_broken_odt_xml(tmp_path, content, error, message):
    path = make_odt(tmp_path / "bad.odt", "", content=content)
    with pytest.raises(error, match=message) as caught:
        read_document(path)
    assert caught.value.path == f"{path}:content.xml"


def test_malformed_odt_xml_reports_the_line(tmp_path):
    path = make_odt(tmp_path / "bad.odt", "", content=b"<a>\n<b>\n</a>")
    with pytest.raises(ReaderError) as caught:
        read_document(path)
    assert caught.value.line == 3


def test_odt_zip_bomb_is_refused(tmp_path):
    path = make_odt(tmp_path / "bomb.odt", "", extra={"Pictures/big.bin": b"\0" * (3 << 20)})
    with zipfile.ZipFile(path) as archive:  # ZipInfo defaults to stored: recompress it
        assert archive.getinfo("Pictures/big.bin")
    bomb = tmp_path / "bomb2.odt"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    with pytest.raises(UnsafeInputError, match="zip bomb"):
        read_document(bomb)


@pytest.mark.parametrize(("kind", "message"), [
    ("spreadsheet", "not an OpenDocument text file"),
    ("no-content", "no content.xml"),
    ("no-body", "no text body"),
])
def test_odt_that_is_not_a_text_document(tmp_path, kind, message):
    path = tmp_path / "x.odt"
    if kind == "spreadsheet":
        make_odt(path, "<text:p>x</text:p>",
                 mimetype="application/vnd.oasis.opendocument.spreadsheet")
    elif kind == "no-content":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
    else:
        make_odt(path, "", content=f"<office:document-content {_ODT_NS}/>".encode())
    with pytest.raises(ReaderError, match=message):
        read_document(path)


def test_an_empty_odt_is_refused(tmp_path):
    with pytest.raises(ReaderError, match="has no text"):
        read_document(make_odt(tmp_path / "e.odt", "<text:p>  </text:p>"))


# -- captions --------------------------------------------------------------------------
VTT = """WEBVTT
Kind: captions

NOTE recorded on Zoom

1
00:00:01.000 --> 00:00:04.000
<v Anna Smith>Hello and welcome.</v>

2
00:00:04.500 --> 00:00:06.000 align:start
<v Anna Smith>Shall we <i>start</i>?

00:06.500 --> 00:09.000
<v.loud Ben>Yes &amp; please.

00:00:09.500 --> 00:00:10.000
Ben: I went home.

00:00:11.000 --> 00:00:12.000
Interviewer: Why?
"""


def test_vtt_voices_prefixes_merging_and_times(tmp_path):
    source = read_document(write(tmp_path / "zoom.vtt", VTT))
    assert source.format == "vtt"
    assert source.text == (
        "Anna Smith: Hello and welcome. Shall we start?\n\nBen: Yes & please. I went home."
        "\n\nInterviewer: Why?"
    )
    assert [(t.speaker, t.role, t.start_time, t.end_time, source.text[t.start:t.end])
            for t in source.turns] == [
        ("Anna Smith", "participant", 1.0, 6.0, "Hello and welcome. Shall we start?"),
        ("Ben", "participant", 6.5, 10.0, "Yes & please. I went home."),
        ("Interviewer", "interviewer", 11.0, 12.0, "Why?"),
    ]
    marked = read_document(tmp_path / "zoom.vtt", interviewers=["anna smith"])
    assert [t.role for t in marked.turns] == ["interviewer", "participant", "interviewer"]


def test_srt_with_crlf_and_tags(tmp_path):
    data = (
        "1\r\n00:00:01,000 --> 00:00:02,500\r\nINTERVIEWER: Hi there.\r\n\r\n"
        "2\r\n00:00:03,000 --> 00:00:04,000\r\n<i>Sarah: Hello.</i>\r\n\r\n"
        "3\r\n00:00:04,000 --> 00:00:05,000\r\n{\\an8}Sarah: More\r\nlines.\r\n\r\n"
        "4\r\n01:00:05,000 --> 01:00:06,000\r\nNo speaker here.\r\n"
    ).encode("utf-16")
    source = read_document(write(tmp_path / "call.srt", data))
    assert source.encoding == "utf-16"
    assert [(t.speaker, t.start_time, t.end_time, source.text[t.start:t.end])
            for t in source.turns] == [
        ("INTERVIEWER", 1.0, 2.5, "Hi there."),
        ("Sarah", 3.0, 5.0, "Hello. More lines."),
        (None, 3605.0, 3606.0, "No speaker here."),
    ]


def test_a_cue_timing_without_milliseconds_keeps_its_words(tmp_path):
    data = ("1\n00:00:01,000 --> 00:00:04,000\nSpeaker 1: Hello.\n\n"
            "2\n00:00:04 --> 00:00:06\nSpeaker 2: We waited.\n\n"
            "3\n00:00:06,000 --> 00:00:09,000\nSpeaker 1: Then?\n")
    source = read_document(write(tmp_path / "call.srt", data))
    assert [(t.speaker, t.start_time, t.end_time, source.text[t.start:t.end])
            for t in source.turns] == [
        ("Speaker 1", 1.0, 4.0, "Hello."),
        ("Speaker 2", 4.0, 6.0, "We waited."),
        ("Speaker 1", 6.0, 9.0, "Then?"),
    ]


@pytest.mark.parametrize(("name", "data", "line"), [
    ("a.srt", "1\n00:00:01,000 --> 00:00:02,000\nHi.\n\n2\n00:00:03,000 -> 00:00:04,000\n"
              "Lost?\n", 6),
    ("a.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nHi.\n\n\n00:03.000 --> 00:04.0x0\nLost?\n",
     7),
])
def test_an_unreadable_timing_line_is_an_error_naming_its_line(tmp_path, name, data, line):
    with pytest.raises(ReaderError, match="timing line cannot be read") as caught:
        read_document(write(tmp_path / name, data))
    assert caught.value.line == line


def test_clock_times_in_a_note_or_a_caption_are_not_taken_for_a_timing_line(tmp_path):
    data = ("WEBVTT\n\nNOTE\n10:30 - 11:45 second interview\n\n"
            "00:01.000 --> 00:02.000\n<v Amy>Between 10:30 and 11:45.\n\n"
            "00:02.000 --> 00:03.000\n<v Ben>10:30-11:45, yes.\n")
    source = read_document(write(tmp_path / "call.vtt", data))
    assert [(t.speaker, source.text[t.start:t.end]) for t in source.turns] == [
        ("Amy", "Between 10:30 and 11:45."), ("Ben", "10:30-11:45, yes.")]


@pytest.mark.parametrize(("name", "data", "message"), [
    ("a.vtt", "Just some text\n", "not a WebVTT file"),
    ("a.vtt", "WEBVTT\n\nNOTE only a note\n", "No cues with text"),
    ("a.srt", "1\n00:00:01,000 --> 00:00:02,000\n\n", "No cues with text"),
])
def test_caption_files_without_cues(tmp_path, name, data, message):
    with pytest.raises(ReaderError, match=message):
        read_document(write(tmp_path / name, data))


# -- survey tables ---------------------------------------------------------------------
SURVEY = (
    "respondent,age,setting,What would help?\n"
    "r1,34,Oakview,More time with families.\n"
    'r2,51,Broadtown,"Two adults per visit,\nalways."\n'
    "r3,29,Oakview,\n"
    "r4,40,,A phone that works.\n"
)


def test_survey_csv_one_document_per_row(tmp_path):
    path = write(tmp_path / "survey.csv", SURVEY)
    sources = read_documents(path, text_column="What would help?", id_column="respondent")
    assert [s.id for s in sources] == ["r1", "r2", "r4"]
    assert sources[1].text == "Two adults per visit,\nalways."
    assert dict(sources[0].attributes) == {"age": "34", "setting": "Oakview"}
    assert dict(sources[2].attributes) == {"age": "40"}
    assert turns_of(sources[0]) == [(None, "participant", "More time with families.")]
    assert sources[0].notes == ("1 rows with an empty answer were skipped (lines 5).",)
    numbered = read_documents(path, text_column="what would help?", attribute_columns=["age"])
    assert [s.id for s in numbered] == ["survey-1", "survey-2", "survey-4"]
    assert dict(numbered[0].attributes) == {"age": "34"}
    with pytest.raises(ReaderError, match="holds 3 documents"):
        read_document(path, text_column="What would help?")


def test_survey_turn_is_the_trimmed_answer_and_every_row_carries_the_notes(tmp_path):
    path = write(tmp_path / "padded.csv",
                 "id,text,site\na,  Padded answer.\t ,  Oak  \nb,,x\nc,Plain.,\nd, ,y\n")
    sources = read_documents(path, id_column="id")
    assert [(s.id, s.text, turns_of(s), dict(s.attributes)) for s in sources] == [
        ("a", "  Padded answer.\t ", [(None, "participant", "Padded answer.")], {"site": "Oak"}),
        ("c", "Plain.", [(None, "participant", "Plain.")], {}),
    ]
    assert sources[0].turns[0] == Turn(2, 16, None, "participant")
    assert [s.notes for s in sources] == [
        ("2 rows with an empty answer were skipped (lines 3, 5).",)] * 2
    assert [(s.source, s.format, s.encoding) for s in sources] == [(str(path), "csv", None)] * 2


def test_survey_cells_lose_a_leading_byte_order_mark(tmp_path):
    # one at the start of the file goes with the decoding; one opening a cell, with the cell
    path = write(tmp_path / "marks.csv",
                 "\ufeffid,text,a\nx,\ufeffStarts with a mark.,\ufeffA\ny,Ends\ufeff,B\ufeff\n")
    sources = read_documents(path, id_column="id")
    assert [(s.id, s.text, dict(s.attributes)) for s in sources] == [
        ("x", "Starts with a mark.", {"a": "A"}), ("y", "Ends\ufeff", {"a": "B\ufeff"})]


def test_survey_text_column_is_found_by_name_or_asked_for(tmp_path):
    path = write(tmp_path / "s.csv", "id;Response\n1;Fine.\n2;Not fine.\n")  # semicolons
    assert [s.text for s in read_documents(path)] == ["Fine.", "Not fine."]
    path = write(tmp_path / "q.csv", "id,q1\n1,Fine.\n")
    with pytest.raises(TableError, match=r"Which column holds the answers.*id, q1") as caught:
        read_documents(path)
    assert (caught.value.line, caught.value.field) == (1, "text_column")
    with pytest.raises(TableError, match=r"No column 'q2'.*Did you mean 'q1'"):
        read_documents(path, text_column="q2")


@pytest.mark.parametrize(("data", "message", "line"), [
    ("id,text\na,One.\na,Two.\n", "'a' is used again .first on line 2", 3),
    ("id,text\n,One.\n", "no id", 2),
    # ids are checked all at once, then row by row: the first row in error is named
    ("id,text\na,One.\nb,\na,Two.\n ,Three.\n", "'a' is used again .first on line 2", 4),
    ("id,text\na,One.\n ,Two.\na,Three.\n", "no id", 3),
    ("id,text\na,One, two\n", "3 cells but the header names 2", 2),
    ("id,text,id\na,b,c\n", "'id' appears twice", 1),
    ("id,,text\na,b,c\n", "Column 2 has no name", 1),
    ("id,text\na,\nb,  \n", "holds no answers", None),
    ('id,text\nb,ok\na,"unclosed\nb,c\n', "malformed", 3),
    ('id,text\na,"closed"early\n', "malformed", 2),
])
def test_survey_table_errors_name_the_line(tmp_path, data, message, line):
    path = write(tmp_path / "bad.csv", data)
    with pytest.raises(TableError, match=message) as caught:
        read_documents(path, text_column="text", id_column="id")
    if line is not None:
        assert caught.value.line == line
    assert caught.value.path == str(path)


def test_survey_xlsx_with_numbers_dates_and_sheets(tmp_path):
    from datetime import datetime

    path = make_xlsx(
        tmp_path / "answers.xlsx",
        [["ID", "Date", "Comment"], [101, datetime(2022, 3, 7), "Visits helped."],
         [None, None, None], [102.0, datetime(2022, 3, 8, 14, 30), "They did not."]],
        second=[["id", "text"], ["x", "Other sheet."]],
    )
    sources = read_documents(path, text_column="Comment", id_column="ID")
    assert [(s.id, s.text, dict(s.attributes)) for s in sources] == [
        ("101", "Visits helped.", {"Date": "2022-03-07"}),
        ("102", "They did not.", {"Date": "2022-03-08T14:30:00"}),
    ]
    assert [s.id for s in read_documents(path, sheet="Second", id_column="id")] == ["x"]
    assert [s.id for s in read_documents(path, sheet=1, id_column="id")] == ["x"]
    with pytest.raises(TableError, match="No sheet 'Third'; the sheets are: Sheet1, Second"):
        read_documents(path, sheet="Third")
    with pytest.raises(TableError, match="no sheet 5"):
        read_documents(path, sheet=5)


def test_a_broken_xlsx_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(TableError, match="Excel file cannot be read"):
        read_documents(path, text_column="x")


# -- the registry ----------------------------------------------------------------------
def test_supported_suffixes():
    assert {".txt", ".md", ".docx", ".odt", ".vtt", ".srt", ".csv", ".xlsx"} <= set(
        supported_suffixes())


def test_unknown_options_are_typos(tmp_path):
    path = write(tmp_path / "a.txt", "Q: hi")
    with pytest.raises(ParameterError, match=r"unknown reader option 'text_colum'.*'text_column'"):
        read_document(path, text_colum="x")
    # an option for another reader is ignored
    assert read_document(path, text_column="x").turns[0].speaker == "Q"


def test_register_a_reader_for_a_new_suffix(tmp_path):
    @register_reader(".qcfoo", options=("shout",))
    def read_foo(path, *, document_id, encoding=None, shout=False):
        text = path.read_text().upper() if shout else path.read_text()
        return [ParsedSource(document_id, text, (Turn(0, len(text), "X", "participant"),),
                             source=str(path), format="foo")]

    try:
        path = write(tmp_path / "a.qcfoo", "hello")
        assert read_document(path, shout=True).text == "HELLO"
        assert ".qcfoo" in supported_suffixes()
    finally:
        _READERS.pop(".qcfoo")
    with pytest.raises(ParameterError, match=r"must start with '.'"):
        register_reader("txt")


def test_a_source_from_checked_values_equals_a_checked_source():
    values = ("d", "  Hello.", (Turn(2, 8, None, "participant"),), {"site": "Oak"},
              "d.csv", "csv", None, ("a note",))
    checked = ParsedSource(*values)
    made = ParsedSource.from_checked(
        (*values[:3], MappingProxyType(dict(values[3])), *values[4:]))
    assert made == checked and repr(made) == repr(checked)
    assert made.segments() == checked.segments()


@pytest.mark.parametrize("extra", [{}, {"wave": "2"}, {"site": "Elm"}])
def test_a_source_gives_the_document_a_checked_constructor_gives(extra):
    source = ParsedSource("d", "Q: Hi.\n\nA: Hello.", (Turn(3, 6, "Q"), Turn(11, 17, "A")),
                          {"site": "Oak"}, "d.txt", "txt")
    document = source.to_document(**extra)
    expected = Document("d", source.text, {"site": "Oak", **extra}, "d.txt")
    assert document == expected and hash(document) == hash(expected)
    assert document.content_hash == expected.content_hash != ""
    with pytest.raises(TypeError):
        document.attributes["site"] = "Elm"  # type: ignore[index]


@pytest.mark.parametrize("bad_id", ["", "  ", None, 5])
def test_a_source_without_an_id_makes_no_document(bad_id):
    message = f"A document id must be a non-empty string. Got {bad_id!r}."
    with pytest.raises(ParameterError, match=re.escape(message)):
        check_document_id(bad_id)
    with pytest.raises(ParameterError, match=re.escape(message)):
        ParsedSource(bad_id, "Hi.", (Turn(0, 3),)).to_document()
    with pytest.raises(ParameterError, match=re.escape(message)):
        Document(bad_id, "Hi.")


def test_a_document_from_checked_values_equals_a_checked_document():
    checked = Document("d", "Hello.", {"site": "Oak"}, "d.txt")
    made = Document.from_checked(
        ("d", "Hello.", MappingProxyType({"site": "Oak"}), "d.txt", checked.content_hash))
    assert made == checked and hash(made) == hash(checked) and repr(made) == repr(checked)
    assert made.with_attributes(wave="2") == checked.with_attributes(wave="2")


def test_parsed_source_checks_its_turns():
    with pytest.raises(ParameterError, match="ordered, non-overlapping"):
        ParsedSource("d", "abcdef", (Turn(0, 4), Turn(2, 5)))
    with pytest.raises(ParameterError, match="'role' of a turn"):
        ParsedSource("d", "abc", (Turn(0, 3, role="moderator"),))


def test_parsed_source_to_document_and_segments():
    source = ParsedSource("d", "Q: one. Two.", (Turn(3, 12, "Q", "interviewer"),),
                          {"setting": "x"}, "d.txt", "txt")
    document = source.to_document(role="TA")
    assert dict(document.attributes) == {"setting": "x", "role": "TA"}
    assert document.source == "d.txt"
    assert [s.text for s in source.segments("sentences")] == ["one.", "Two."]


def test_markdown_starting_with_a_rule_is_text(tmp_path):
    text = "---\n\nQ: Why?\n\n---\n\nA: Because."
    source = read_document(write(tmp_path / "r.md", text))
    assert source.text == text
    assert [t.speaker for t in source.turns] == [None, "Q", "A"]  # the rule is text
