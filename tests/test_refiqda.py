"""REFI-QDA exchange: export valid files, import real NVivo and ATLAS.ti exports tolerantly,
round-trip projects, and refuse hostile archives."""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from builders import make_corpus
from cli_runner import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualcode.codebook import load_codebook, slugify, validate_codebook
from qualcode.errors import (
    CodebookError,
    ParameterError,
    ProjectError,
    ReaderError,
    UnsafeInputError,
)
from qualcode.export._refiqda_common import (
    code_guid,
    decode_description,
    encode_description,
    note_title,
)
from qualcode.export._refiqda_positions import Reading, Selection, SourceText, choose_reading
from qualcode.export.refiqda import (
    export_qdc,
    export_qdpx,
    import_qdc,
    import_qdpx,
    load_qdc,
    read_qdc,
    read_qdpx,
    write_qdpx,
)
from qualcode.model import Code, Codebook, Coding, Corpus, Document, Memo, normalise_text
from qualcode.project import Project

FIXTURES = Path(__file__).parent / "fixtures" / "refiqda"
T0 = "2025-01-02T03:04:05+00:00"
NS = "urn:QDA-XML:project:1.0"


# -- helpers ----------------------------------------------------------------------------------
def make_qdpx(path: Path, qde: str | bytes, files: dict[str, bytes] | None = None,
              qde_name: str = "project.qde") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(qde_name, qde)
        for name, data in (files or {}).items():
            archive.writestr(name, data)
    return path


def qde(body: str, origin: str = "Test tool 1.0", extra: str = "") -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="{NS}" name="t" '
            f'origin="{origin}" {extra}>{body}</Project>')


def utf16(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2


def project_schema(shared: Path):
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(shared / "refi-qda" / "Project.xsd")))


# The REFI-QDA Codebook 1.0 structure (Codebook.xsd is not in ../shared/data), written out
# from the standard: CodeBook(Codes, Sets?) with origin; Code(Description?, Code*).
CODEBOOK_XSD = """<?xml version="1.0" encoding="UTF-8"?>
<xsd:schema xmlns="urn:QDA-XML:codebook:1.0" xmlns:xsd="http://www.w3.org/2001/XMLSchema"
  targetNamespace="urn:QDA-XML:codebook:1.0" elementFormDefault="qualified">
  <xsd:element name="CodeBook"><xsd:complexType><xsd:sequence>
    <xsd:element name="Codes" type="CodesType"/>
    <xsd:element name="Sets" minOccurs="0"/>
  </xsd:sequence><xsd:attribute name="origin" type="xsd:string"/></xsd:complexType>
  </xsd:element>
  <xsd:complexType name="CodesType"><xsd:sequence>
    <xsd:element name="Code" type="CodeType" maxOccurs="unbounded"/>
  </xsd:sequence></xsd:complexType>
  <xsd:complexType name="CodeType"><xsd:sequence>
    <xsd:element name="Description" type="xsd:string" minOccurs="0"/>
    <xsd:element name="Code" type="CodeType" minOccurs="0" maxOccurs="unbounded"/>
  </xsd:sequence>
    <xsd:attribute name="guid" use="required"><xsd:simpleType>
      <xsd:restriction base="xsd:token"><xsd:pattern
        value="[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"/>
      </xsd:restriction></xsd:simpleType></xsd:attribute>
    <xsd:attribute name="name" type="xsd:string" use="required"/>
    <xsd:attribute name="isCodable" type="xsd:boolean" use="required"/>
    <xsd:attribute name="color"><xsd:simpleType><xsd:restriction base="xsd:token">
      <xsd:pattern value="#([A-Fa-f0-9]{6}|[A-Fa-f0-9]{3})"/></xsd:restriction>
    </xsd:simpleType></xsd:attribute>
  </xsd:complexType>
</xsd:schema>"""


def tree_order(codebook: Codebook) -> tuple[Code, ...]:
    out: list[Code] = []

    def walk(parent: str | None) -> None:
        for code in codebook.children(parent):
            out.append(code)
            walk(code.id)

    walk(None)
    return tuple(out)


def coding_keys(project: Project) -> list[tuple]:
    return sorted((c.document_id, c.start, c.end, c.code_id, c.coder, c.memo, c.created)
                  for c in project.codings())


def memo_keys(project: Project) -> list[tuple]:
    codings = {c.id: (*c.key, c.coder) for c in project.codings()}
    return sorted((m.text, m.document_id or "", m.code_id or "",
                   codings.get(m.coding_id) or (), m.author or "") for m in project.memos())


@pytest.fixture
def rich_project(tmp_path: Path) -> Project:
    book = Codebook("small", (
        Code("visits", name="Visits", definition="Why and how visits happen."),
        Code("attendance", name="Attendance", parent="visits", color="#1b9e77",
             definition="A visit because the pupil is absent.",
             examples=("He hadn't been in all week so I went round.",),
             keywords=("attendance", "absent")),
        Code("tea", name="Hospitality", parent="visits",
             definition="Being offered a drink.\nInclude: a line that looks like a label",
             include="offers of tea", exclude="meals",
             examples=("She put the kettle on.",), keywords=("cup of tea", "kettle")),
        Code("place", name="Atmospheres"),
    ))
    project = Project.create(tmp_path / "s.qualcode", codebook=book)
    project.add_corpus(make_corpus({
        "d1": "INTERVIEWER: Why did you visit?\nAnna: He was absent all week 😀.\n"
              "Anna: Mum put the kettle on.",
        "d2": "INTERVIEWER: Tell me more.\nBen: We went because of attendance, ő.",
    }))
    project.set_attributes("d1", {"setting": "Broadtown", "role": "TA"})
    ids = project.add_codings([
        Coding("d1", 45, 62, "attendance", "anna", created=T0),
        Coding("d1", 45, 62, "tea", "anna", created=T0, memo="odd one"),
        Coding("d1", 50, 75, "place", "ben", created=T0),
        Coding("d2", 51, 64, "attendance", "ben", created=T0),
    ])
    project.add_codings([Coding("d2", 35, 39, "tea", "rules", method="rules",
                                status="suggested", created=T0)])
    project.add_memo("Project memo\nsecond line", author="anna")
    project.add_memo("On d1", document="d1")
    project.add_memo("On tea", code="tea", author="ben")
    project.add_memo("On a coding", coding=ids[0])
    yield project
    project.close()


# -- positions -------------------------------------------------------------------------------------
RAW = "Hi 😀 there\r\nSecond 🎉 line: café\r\nend"


@pytest.mark.parametrize("reading, convert", [
    (Reading("codepoints", True, False), lambda raw, i: i),
    (Reading("utf16", True, False), utf16),
    (Reading("utf16", True, True), lambda raw, i: utf16(raw, i) + 1),
    (Reading("codepoints", False, False), lambda raw, i: len(normalise_text(raw[:i]))),
    (Reading("utf16", False, False), lambda raw, i: utf16(normalise_text(raw[:i]),
                                                          len(normalise_text(raw[:i])))),
])
@pytest.mark.parametrize("word", ["there", "Second", "line: café", "end", "Hi", "😀 there"])
def test_positions_map_to_the_same_words_in_normalised_text(reading, convert, word) -> None:
    source = SourceText(RAW, had_bom=True)
    i = RAW.index(word)
    span = source.span(convert(RAW, i), convert(RAW, i + len(word)), reading)
    assert span is not None
    assert source.text[span[0]:span[1]] == word


def test_a_position_inside_a_surrogate_pair_keeps_the_whole_emoji() -> None:
    source = SourceText("a😀b")
    assert source.span(2, 4, Reading("utf16")) == (1, 3)  # from mid-emoji to b
    assert source.span(0, 2, Reading("utf16")) == (0, 2)  # ends mid-emoji: emoji kept
    assert source.span(0, 9, Reading("utf16")) is None


@pytest.mark.parametrize("units, expected", [("utf16", "utf16"), ("codepoints", "codepoints")])
def test_the_evidence_of_word_boundaries_picks_the_units(units, expected) -> None:
    raw = "\r\n".join(f"{'😀' * (i % 3)} comment number {i} is here" for i in range(30))
    words = [m.span() for m in re.finditer(r"comment number \d+", raw)]
    convert = utf16 if units == "utf16" else (lambda text, i: i)
    selections = [Selection(convert(raw, a), convert(raw, b)) for a, b in words]
    chosen = choose_reading([(SourceText(raw), selections)])
    assert chosen.reading.units == expected and chosen.reading.crlf_as_two
    assert chosen.on_boundaries == len(words)


def test_stored_quotation_text_decides_when_boundaries_do_not() -> None:
    raw = "😀😀😀😀😀 aaaa bbbb cccc"
    # [11, 15) is "bbbb" in code points and "aaaa" in UTF-16 units: both whole words.
    chosen = choose_reading([(SourceText(raw), [Selection(11, 15, "bbbb")])], prefer="utf16")
    assert chosen.reading.units == "codepoints" and chosen.name_matches == 1


# -- the Description layout ------------------------------------------------------------------------
@pytest.mark.parametrize("code", [
    Code("a", name="A"),
    Code("a", name="A", definition="Plain text."),
    Code("x1", name="Anything", definition="Line\nInclude: not a label\n\\Exclude: escaped",
         include="first\nExamples: inside\n\nafter blank", exclude="e",
         examples=("one", "two\n  indented\n\n- dash"), keywords=("k; with semicolon",),
         patterns=(r"\bvisit(s|ed)?\b",)),
    Code("poor_att", name="Poor or no attendance", examples=("only examples",)),
    Code("a", name="A", definition="qualcode id: b\n- not a list"),
])
def test_code_fields_survive_the_description(code: Code) -> None:
    parts = decode_description(encode_description(code))
    assert (parts.definition, parts.include, parts.exclude, parts.examples, parts.keywords,
            parts.patterns) == (code.definition, code.include, code.exclude, code.examples,
                                code.keywords, code.patterns)
    assert parts.id == (None if code.id == slugify(code.name) else code.id)


def test_a_note_is_named_by_its_first_line() -> None:
    assert note_title("Short title\nbody") == "Short title"
    assert note_title("x" * 80) == "x" * 59 + "…"


def test_a_foreign_description_is_all_definition() -> None:
    text = "Erősen szkeptikus (piros)\r\nEnyhén szkeptikus, kétkedő (sárga)\n"
    assert decode_description(text).definition == (
        "Erősen szkeptikus (piros)\nEnyhén szkeptikus, kétkedő (sárga)")


# -- export ----------------------------------------------------------------------------------------
def test_export_is_valid_against_the_schema_and_reproducible(
        rich_project: Project, tmp_path: Path, shared_data: Path) -> None:
    from lxml import etree

    first = export_qdpx(rich_project, tmp_path / "a.qdpx")
    export_qdpx(rich_project, tmp_path / "b.qdpx")
    assert (tmp_path / "a.qdpx").read_bytes() == (tmp_path / "b.qdpx").read_bytes()
    assert (first.documents, first.codes, first.codings, first.memos, first.users) == (
        2, 4, 4, 4, 2)
    with zipfile.ZipFile(tmp_path / "a.qdpx") as archive:
        names = archive.namelist()
        root = etree.fromstring(archive.read("project.qde"))
        texts = {n: archive.read(n).decode("utf-8") for n in names if n.startswith("sources/")}
    schema = project_schema(shared_data)
    assert schema.validate(root), schema.error_log
    assert names[0] == "project.qde" and len(texts) == 2
    assert all(re.fullmatch(r"sources/[0-9A-F-]{36}\.txt", n) for n in texts)
    assert sorted(texts.values()) == sorted(d.text for d in rich_project.documents)
    ns = {"q": NS}
    # positions are code points over the exported text: the emoji counts once
    d1 = root.find("q:Sources/q:TextSource[@name='d1']", ns)
    text = texts[f"sources/{d1.get('plainTextPath').split('//')[1]}"]
    selection = d1.find("q:PlainTextSelection", ns)
    start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
    assert text[start:end] == "absent all week 😀" == selection.get("name")
    # codes nested, with colour and the definition in the Description
    attendance = root.find(".//q:Code[@name='Visits']/q:Code[@name='Attendance']", ns)
    assert attendance.get("color") == "#1b9e77"
    assert attendance.findtext("q:Description", namespaces=ns).startswith(
        "A visit because the pupil is absent.")
    assert {u.get("name") for u in root.iterfind(".//q:User", ns)} == {"anna", "ben"}
    case = root.find("q:Cases/q:Case", ns)
    assert case.get("name") == "d1" and len(case.findall("q:VariableValue", ns)) == 2
    assert len(root.findall("q:Notes/q:Note", ns)) == 4
    assert root.find("q:NoteRef", ns) is not None  # the project memo


def test_export_matches_the_golden_file(rich_project: Project, tmp_path: Path) -> None:
    # The memos carry the time they were written; the golden file is about the rest.
    export_qdpx(rich_project, tmp_path / "a.qdpx")
    with zipfile.ZipFile(tmp_path / "a.qdpx") as archive:
        xml = archive.read("project.qde").decode("utf-8")
    xml = re.sub(r'(<Note [^>]*creationDateTime=")[^"]+', r"\1(time)", xml)
    xml = re.sub(r'origin="qualcode [^"]+"', 'origin="qualcode (version)"', xml)
    golden = FIXTURES / "small-project.qde"
    assert xml == golden.read_text(encoding="utf-8")


def test_export_never_overwrites_unless_asked(rich_project: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.qdpx"
    out.write_bytes(b"precious")
    with pytest.raises(ParameterError, match="already exists"):
        export_qdpx(rich_project, out)
    assert out.read_bytes() == b"precious"
    export_qdpx(rich_project, out, overwrite=True)
    assert zipfile.is_zipfile(out)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("status, expected", [("accepted", 4), ("all", 5),
                                              (("suggested",), 1)])
def test_export_chooses_codings_by_status(rich_project, tmp_path, status, expected) -> None:
    assert export_qdpx(rich_project, tmp_path / "a.qdpx", status=status).codings == expected


def test_export_rejects_an_unknown_status(rich_project, tmp_path) -> None:
    with pytest.raises(ParameterError, match="'status' parameter of export_qdpx"):
        export_qdpx(rich_project, tmp_path / "a.qdpx", status="maybe")


def test_qdc_export_is_valid_and_loads_back(rich_project, tmp_path) -> None:
    from lxml import etree

    path = export_qdc(rich_project, tmp_path / "book.qdc")
    schema = etree.XMLSchema(etree.fromstring(CODEBOOK_XSD.encode()))
    document = etree.parse(str(path))
    assert schema.validate(document), schema.error_log
    assert document.getroot().tag == "{urn:QDA-XML:codebook:1.0}CodeBook"
    assert load_codebook(path).codes == tree_order(rich_project.codebook)
    assert read_qdc(path).codes == rich_project.codebook.codes
    with pytest.raises(ParameterError):
        export_qdc(rich_project, path)


# -- round trip ------------------------------------------------------------------------------------
def test_a_project_survives_export_and_import(rich_project: Project, tmp_path: Path) -> None:
    export_qdpx(rich_project, tmp_path / "a.qdpx", status="all")
    result = import_qdpx(tmp_path / "a.qdpx", tmp_path / "back.qualcode")
    assert result.created and result.codings_added == 5 and result.memos_added == 4
    with Project.open(tmp_path / "back.qualcode") as back:
        assert [(d.id, d.text, dict(d.attributes)) for d in back.documents] == [
            (d.id, d.text, dict(d.attributes)) for d in rich_project.documents]
        assert back.codebook.codes == tree_order(rich_project.codebook)
        assert coding_keys(back) == coding_keys(rich_project)
        assert {c.status for c in back.codings()} == {"accepted"}
        assert {c.method for c in back.codings()} == {"import"}
        assert memo_keys(back) == memo_keys(rich_project)
        assert back.segments()  # segmented on import


WORDS = ["visit", "é", "ő", "字", "😀", "🎉", "\n", " ", "Anna:", "tea", "Include: x",
         "- y", "\\Exclude:", "qualcode id: z"]
# Characters that trip offset code: astral (two UTF-16 units), combining marks, joiners,
# right-to-left, non-breaking and Unicode line separators, tabs, quotes, XML specials.
CHARS = [*"aZ09 _-.:;,'\"<>&\t", "e\u0301", "\u200d", "👩\u200d💻", "\U0001f1ed\U0001f1fa",
         "\u05d0", "\u00a0", "\u2028", "\u0085", "ß", "İ", "𝔘", "\u3000", "\ufe0f"]


@st.composite
def projects(draw):
    # Text fields: XML-safe, no CR (texts are normalised), stripped (as loaders strip them).
    chunk = st.sampled_from(WORDS + CHARS)
    text = st.lists(chunk, max_size=8).map("".join)
    field = st.one_of(st.just(""), text.map(str.strip))
    items = st.lists(text.map(str.strip).filter(bool), max_size=2).map(tuple)
    name = st.lists(st.sampled_from([*CHARS, "Anna", "d1", "visit"]), min_size=1,
                    max_size=4).map("".join).map(str.strip).filter(bool)
    code_id = st.tuples(st.sampled_from("aqZ7"), st.text("az09_.-Q", max_size=4)).map("".join)

    ids = draw(st.lists(code_id, min_size=1, max_size=5, unique=True))
    codes = []
    for i, cid in enumerate(ids):
        definition, include, exclude = draw(st.tuples(field, field, field))
        codes.append(Code(
            cid, name=draw(st.one_of(name, st.just(cid), st.just("Same name"))),
            parent=draw(st.sampled_from([None, *ids[:i]])), definition=definition,
            include=include, exclude=exclude, examples=draw(items), keywords=draw(items),
            patterns=draw(items), color=draw(st.sampled_from([None, "#1b9e77", "#ABC"])),
        ))
    book = Codebook("generated", tree_order(Codebook("g", tuple(codes))))
    documents = [
        Document(doc_id, normalise_text(draw(st.lists(st.one_of(chunk, st.sampled_from(
                     ["\r\n", "\r", "\x00", "\x1b", "\ufeff"])), min_size=1,
                     max_size=20).map("".join))),
                 draw(st.dictionaries(name, text, max_size=2)))
        for doc_id in draw(st.lists(name, min_size=1, max_size=3, unique=True))
    ]
    coders = ["Anna", "Ben Ő", "rules"]
    codings = []
    for _ in range(draw(st.integers(0, 6))):
        document = draw(st.sampled_from(documents))
        start, end = sorted(draw(st.tuples(st.integers(0, len(document.text)),
                                           st.integers(0, len(document.text)))))
        codings.append(Coding(document.id, start, end, draw(st.sampled_from(ids)),
                              draw(st.sampled_from(coders)), memo=draw(field),
                              created=draw(st.sampled_from([T0, "2024-12-31T23:59:59Z"]))))
    memos = draw(st.lists(st.tuples(text.map(str.strip).filter(bool),
                                    st.sampled_from(["project", "document", "code", "coding"]),
                                    st.sampled_from([None, *coders])), max_size=3))
    return book, documents, codings, memos


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=projects())
def test_round_trip_property_of_the_format(tmp_path_factory, data) -> None:
    # Values -> .qdpx -> values, without a project store: fast enough for many examples.
    book, documents, codings, memo_specs = data
    unique: dict[tuple, Coding] = {}
    for coding in codings:
        unique.setdefault((*coding.key, coding.coder), coding)
    codings = [replace(c, id=i) for i, c in enumerate(unique.values(), start=1)]
    memos = []
    for i, (text, target, author) in enumerate(memo_specs, start=1):
        where = {"document": {"document_id": documents[0].id},
                 "code": {"code_id": book.codes[0].id},
                 "coding": {"coding_id": codings[-1].id} if codings else {}}.get(target, {})
        memos.append(Memo(text, author=author, id=i, created=T0, **where))
    path = tmp_path_factory.mktemp("fmt") / "p.qdpx"
    write_qdpx(path, documents=documents, codebook=book, codings=codings, memos=memos)
    back = read_qdpx(path)
    assert [(d.id, d.text, dict(d.attributes)) for d in back.documents] == [
        (d.id, d.text, dict(d.attributes)) for d in documents]
    assert back.codebook.codes == book.codes
    assert sorted((*c.key, c.coder, c.memo, c.created, c.status) for c in back.codings) == sorted(
        (*c.key, c.coder, c.memo, c.created, "accepted") for c in codings)
    by_id = {c.id: (*c.key, c.coder) for c in codings}
    assert sorted((m.text, m.document or "", m.code or "", m.coding or (), m.author or "")
                  for m in back.memos) == sorted(
        (m.text, m.document_id or "", m.code_id or "", by_id.get(m.coding_id) or (),
         m.author or "") for m in memos)


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=projects())
def test_round_trip_property_through_projects(tmp_path_factory, data) -> None:
    book, documents, codings, memos = data
    folder = tmp_path_factory.mktemp("rt")
    with Project.create(folder / "p.qualcode", codebook=book) as project:
        project.add_corpus(Corpus(tuple(documents), ()))
        stored = project.add_codings(codings)
        coding_ids = [c.id for c in project.codings()]
        for text, target, author in memos:
            if target == "document":
                project.add_memo(text, document=documents[0].id, author=author)
            elif target == "code":
                project.add_memo(text, code=book.codes[0].id, author=author)
            elif target == "coding" and coding_ids:
                project.add_memo(text, coding=coding_ids[-1], author=author)
            else:
                project.add_memo(text, author=author)
        del stored
        export_qdpx(project, folder / "p.qdpx")
        import_qdpx(folder / "p.qdpx", folder / "back.qualcode")
        with Project.open(folder / "back.qualcode") as back:
            assert [(d.id, d.text, dict(d.attributes)) for d in back.documents] == [
                (d.id, d.text, dict(d.attributes)) for d in documents]
            assert back.codebook.codes == book.codes
            assert coding_keys(back) == coding_keys(project)
            assert memo_keys(back) == memo_keys(project)


# -- import into existing projects ---------------------------------------------------------------
def test_import_into_an_existing_project_merges(rich_project: Project, tmp_path: Path) -> None:
    export_qdpx(rich_project, tmp_path / "a.qdpx")
    before = len(rich_project.codings())
    result = import_qdpx(tmp_path / "a.qdpx", rich_project)
    assert result.documents_unchanged == ("d1", "d2") and not result.documents_added
    assert result.codes_added == 0 and result.codebook_version is None
    assert result.codings_added == 0 and len(rich_project.codings()) == before
    assert result.memos_added == 0 and len(rich_project.memos()) == 4


def test_repeated_guids_do_not_lose_codes_or_sources(tmp_path: Path) -> None:
    guid = f"{'a' * 8}-aaaa-aaaa-aaaa-{'a' * 12}"
    body = (f'<CodeBook><Codes><Code guid="{guid}" name="One" isCodable="true"/>'
            f'<Code guid="{guid}" name="Two" isCodable="true"/></Codes></CodeBook><Sources>'
            f'<TextSource guid="{guid}" name="S"><PlainTextContent>x</PlainTextContent>'
            f'</TextSource><TextSource name="T"><PlainTextContent>y</PlainTextContent>'
            f'</TextSource><TextSource guid="{guid}" name="S"><PlainTextContent>z'
            f'</PlainTextContent></TextSource></Sources>')
    read = read_qdpx(make_qdpx(tmp_path / "x.qdpx", qde(body)))
    assert [c.id for c in read.codebook] == ["one", "two"]
    assert [(d.id, d.text) for d in read.documents] == [("S", "x"), ("T", "y"), ("S (2)", "z")]
    assert any("repeats the GUID" in n for n in read.notes)


def test_import_refuses_a_document_whose_text_changed(rich_project, tmp_path) -> None:
    export_qdpx(rich_project, tmp_path / "a.qdpx")
    with Project.create(tmp_path / "other.qualcode") as other:
        other.add_corpus(make_corpus({"d1": "Anna: something else entirely."}))
        with pytest.raises(ProjectError, match="different text; nothing was imported"):
            import_qdpx(tmp_path / "a.qdpx", other)
        assert other.codebook is None and not other.codings()


def test_force_replaces_the_project_only_after_a_successful_import(rich_project, tmp_path):
    export_qdpx(rich_project, tmp_path / "a.qdpx")
    target = tmp_path / "t.qualcode"
    Project.create(target).close()
    (tmp_path / "broken.qdpx").write_bytes(b"not a zip")
    with pytest.raises(ReaderError):
        import_qdpx(tmp_path / "broken.qdpx", target, overwrite=True)
    assert target.exists()
    result = import_qdpx(tmp_path / "a.qdpx", target, overwrite=True)
    assert result.created and result.project == str(target)
    assert sorted(p.name for p in tmp_path.iterdir() if "importing" in p.name) == []


def test_codes_named_alike_but_meaning_otherwise_get_new_ids(rich_project, tmp_path) -> None:
    book = Codebook("x", (Code("tea", name="Tea ceremonies"), Code("new_code", name="New")))
    with Project.create(tmp_path / "o.qualcode", codebook=book) as other:
        other.add_corpus(make_corpus({"d9": "Zoe: tea again."}))
        other.add_codings([Coding("d9", 5, 8, "tea", "zoe", created=T0)])
        export_qdpx(other, tmp_path / "o.qdpx")
    result = import_qdpx(tmp_path / "o.qdpx", rich_project)
    assert result.codes_added == 2
    book = rich_project.codebook
    assert book.get("tea").name == "Hospitality" and book.get("tea_2").name == "Tea ceremonies"
    assert [c.code_id for c in rich_project.codings(document="d9")] == ["tea_2"]


# -- real exports from other tools -----------------------------------------------------------------
NVIVO_SAMPLE = [  # (code name, how the excerpt starts, how it ends): read in NVivo's text
    ("+Belief in vaccine ineffectiveness", "CDC announces 79% of all U.S. omicron cases",
     "have occurred in vaccinated individuals"),
    ("Negligent healthcare", "Tisztelt Péter Ádám doktor úr, mert hazudik",
     "Szégyellje magát!!!!"),
    ("Anecdotal evidence", "Kiderült, hogy Csollány Szilveszter is be volt oltva!",
     "is be volt oltva!"),
    ("Exaggerated risk", "És meddig véd te istenbarma....6 hónapig", "hogy fogyjanak....hmmm...."),
    ("+Jews", "Terrorista Izrael, szabotálják", "Dr. Drábik János(„Uzsoracivilizáció)"),
    ("Unethical experimentation", "Mire is kéne teszteljék, ha az sc2 IZOLÁLATLAN",
     "el kell azt hagyja!!"),
    ("Resisting coercion", "ok kötelező de aki kötelez az vállalja a felelőséget?",
     "?Nem kötelezhetnek"),
    ("antiszemitizmus, xenofóbia", "Zacher - az egy magyar név?", "Zacher - az egy magyar név?"),
    ("+NGOs, watchdog organizations", "De facto rendőrbűnözők", "DE FACTO ELTÜNTÖK!!! MATT!!!"),
    ("orvosokkal szembeni bizalmatlanság", "Vállald véleményedet,vállald azt aki vagy.",
     'edukált "honfitársakkal"'),
]


@pytest.fixture(scope="module")
def nvivo():
    from conftest import SHARED_DATA

    path = SHARED_DATA / "refi-qda" / "nvivo12-win_oltas0517.qdpx"
    if not path.is_file():
        pytest.skip("../shared/data is not beside this checkout")
    return read_qdpx(path)


def test_nvivo_codes_sources_and_codings(nvivo) -> None:
    book = nvivo.codebook
    assert len(book) == 152 and len(book.themes) < 152
    assert book.resolve("COVID").parent == book.resolve("1. Oltás típusa").id
    deepest = max(len(book.ancestors(c.id)) for c in book)
    assert deepest >= 3
    assert book.resolve("elhúzódó hatás").parent == book.resolve("Betegség kockázatai").id
    assert book.resolve("relativizálás, analógiák").definition == "csak egy nátha"
    assert len({c.id for c in book}) == 152  # 'média' and '+Media' slug alike: made unique
    assert [d.id for d in nvivo.documents] == ["videos_selection", "videos_10_selected"]
    assert all("\r" not in d.text and not d.text.startswith("\ufeff") for d in nvivo.documents)
    assert len(nvivo.codings) == 303 and {c.coder for c in nvivo.codings} == {"Gergo"}
    assert {c.status for c in nvivo.codings} == {"accepted"}
    assert not nvivo.missing_sources and not nvivo.skipped
    assert "UTF-16" in nvivo.positions


def test_nvivo_codings_land_on_the_same_words(nvivo) -> None:
    texts = {d.id: d.text for d in nvivo.documents}
    excerpts = [(c, texts[c.document_id][c.start:c.end]) for c in nvivo.codings]
    text_of = {c.document_id: texts[c.document_id] for c in nvivo.codings}

    def boundary(text: str, i: int) -> bool:
        return i in (0, len(text)) or not (text[i - 1].isalnum() and text[i].isalnum())

    on_words = sum(boundary(text_of[c.document_id], c.start) and
                   boundary(text_of[c.document_id], c.end) for c, _ in excerpts)
    # each comment is one line of the export: a coded comment is a whole line
    whole_lines = sum(text_of[c.document_id][c.start - 1] == "\n" and
                      text_of[c.document_id][c.end] == "\n" for c, _ in excerpts)
    in_one_line = sum("\n" not in text for _, text in excerpts)
    assert (on_words, in_one_line, whole_lines) == (300, 299, 274)
    names = {c.id: c.name for c in nvivo.codebook}
    for code_name, head, tail in NVIVO_SAMPLE:
        found = [t for c, t in excerpts if names[c.code_id] == code_name
                 and t.startswith(head) and t.endswith(tail)]
        assert found, code_name


def test_nvivo_positions_are_detected_without_naming_the_tool(nvivo, shared_data) -> None:
    path = shared_data / "refi-qda" / "nvivo12-win_oltas0517.qdpx"
    guessed = read_qdpx(path, tool="maxqda")
    assert [c.key for c in guessed.codings] == [c.key for c in nvivo.codings]
    assert "chosen from the evidence" in guessed.positions
    forced = read_qdpx(path, positions="codepoints")
    assert [c.key for c in forced.codings] != [c.key for c in nvivo.codings]


def test_nvivo_import_into_a_new_project(nvivo, shared_data, tmp_path) -> None:
    path = shared_data / "refi-qda" / "nvivo12-win_oltas0517.qdpx"
    result = import_qdpx(path, tmp_path / "nv.qualcode")
    assert (result.codes, result.codings_added, len(result.documents_added)) == (152, 303, 2)
    with Project.open(tmp_path / "nv.qualcode") as project:
        assert len(project.codebook) == 152 and len(project.codings(status="accepted")) == 303
        assert {c.method for c in project.codings()} == {"import"}


def test_atlasti_codes_sets_and_notes(shared_data) -> None:
    read = read_qdpx(shared_data / "refi-qda" / "atlasti8-mac_TestProject.qdpx")
    book = read.codebook
    assert len(book) == 14 and read.origin.startswith("ATLAS.ti 8.4")
    assert book.resolve("Coke::diet Coke").parent == book.resolve("Coke").id
    assert book.resolve("Coke").definition == "the breakfast of champions"
    assert book.resolve("cornflakes").color == "#DC0000"
    assert not read.documents and not read.codings
    assert len(read.missing_sources) == 8  # 6 text sources and 2 PDF texts, not included
    assert any("Mabel.txt" in m for m in read.missing_sources)
    texts = [m.text for m in read.memos]
    assert any(t.startswith("Research Plan\n\nThis is a great project") for t in texts)
    assert any("This version is much better" in t for t in texts)
    assert any(t.startswith("On “For some reason babies") and t.endswith(
        "Mabel is not the only person I know who has Coke for breakfast!") for t in texts)
    groups = [t for t in texts if t.startswith("Code group")]
    assert len(groups) == 4 and any("“negative feelings”" in g for g in groups)
    skipped = " ".join(read.skipped)
    for expected in ("1 graph", "1 picture source", "2 video sources", "1 audio source",
                     "1 empty set", "11 document sets", "9 codings on the 8 text sources",
                     "3 audio/video transcripts", "1 link"):
        assert expected in skipped, expected


# -- tolerant reading of crafted files -------------------------------------------------------------
def test_tolerant_reading_of_an_nvivo_like_file(tmp_path: Path) -> None:
    raw = "Anna: café 😀 visit\r\nBen: another 🎉 visit here\r\nZoe: last"
    data = b"\xef\xbb\xbf" + raw.encode("utf-8")
    beside = "Separate file beside the archive"
    (tmp_path / "beside.txt").write_text(beside, encoding="utf-8")
    a, b = raw.index("another 🎉 visit"), raw.index(" here")
    c = raw.index("last")
    body = f"""
<Users><User guid="{'1' * 8}-1111-1111-1111-{'1' * 12}" name="Rita"/><User
  guid="{'2' * 8}-2222-2222-2222-{'2' * 12}"/></Users>
<CodeBook><Codes><Code guid="{'a' * 8}-aaaa-aaaa-aaaa-{'a' * 12}" name="Visits" isCodable="false"
  color="#12345"><Code guid="{{{'b' * 8}-bbbb-bbbb-bbbb-{'b' * 12}}}" name="Visits"
  isCodable="true"><Description>Nested, same name</Description></Code></Code></Codes></CodeBook>
<Variables><Variable guid="{'c' * 8}-cccc-cccc-cccc-{'c' * 12}" name="age"
  typeOfVariable="Integer"/></Variables>
<Cases><Case guid="{'d' * 8}-dddd-dddd-dddd-{'d' * 12}" name="Participant 7"><VariableValue>
  <VariableRef targetGUID="{'c' * 8}-cccc-cccc-cccc-{'c' * 12}"/><IntegerValue>41</IntegerValue>
  </VariableValue><SourceRef targetGUID="{'e' * 8}-eeee-eeee-eeee-{'e' * 12}"/></Case></Cases>
<Sources>
 <TextSource guid="{'e' * 8}-eeee-eeee-eeee-{'e' * 12}" name="Interview 7.docx"
   plainTextPath="internal://E.txt">
  <PlainTextSelection guid="{'f' * 8}-ffff-ffff-ffff-{'f' * 12}" startPosition="{utf16(raw, a)}"
    endPosition="{utf16(raw, b)}" creatingUser="{'1' * 8}-1111-1111-1111-{'1' * 12}">
   <Description>a comment</Description>
   <Coding guid="{'9' * 8}-9999-9999-9999-{'9' * 12}"
     creatingUser="{'2' * 8}-2222-2222-2222-{'2' * 12}">
    <CodeRef targetGUID="{'B' * 8}-BBBB-BBBB-BBBB-{'B' * 12}"/></Coding>
  </PlainTextSelection>
  <PlainTextSelection guid="{'8' * 8}-8888-8888-8888-{'8' * 12}" startPosition="{utf16(raw, c)}"
    endPosition="{utf16(raw, c + 4)}"><Description>an annotation</Description>
  </PlainTextSelection>
  <Coding guid="{'7' * 8}-7777-7777-7777-{'7' * 12}"><CodeRef
    targetGUID="{'a' * 8}-aaaa-aaaa-aaaa-{'a' * 12}"/></Coding>
  <NoteRef targetGUID="{'6' * 8}-6666-6666-6666-{'6' * 12}"/>
 </TextSource>
 <TextSource guid="{'5' * 8}-5555-5555-5555-{'5' * 12}" name="Beside"
   plainTextPath="relative://beside.txt"/>
 <TextSource guid="{'4' * 8}-4444-4444-4444-{'4' * 12}" name="Gone"
   plainTextPath="internal://gone.txt"/>
 <TextSource guid="{'3' * 8}-3333-3333-3333-{'3' * 12}" name="Inline">
   <PlainTextContent>Inline text</PlainTextContent></TextSource>
 <TextSource guid="{'0' * 8}-0000-0000-0000-{'0' * 12}" name="Absolute"
   plainTextPath="absolute://{tmp_path / 'beside.txt'}"/>
</Sources>
<Notes><Note guid="{'6' * 8}-6666-6666-6666-{'6' * 12}" name="Memo title"><PlainTextContent
  >The memo.</PlainTextContent></Note></Notes>"""
    path = make_qdpx(tmp_path / "odd.qdpx", qde(body, origin="NVivo 14"),
                     {"Sources/E.txt": data}, qde_name="My Project.qde")
    read = read_qdpx(path)
    assert [d.id for d in read.documents] == ["Interview 7", "Beside", "Inline", "Absolute"]
    interview = read.documents[0]
    assert interview.text == normalise_text(raw[:])
    assert dict(interview.attributes) == {"age": "41", "case": "Participant 7"}
    assert read.documents[1].text == beside == read.documents[3].text
    assert read.missing_sources == ("Gone (internal://gone.txt is not in the archive)",)
    assert [c.id for c in read.codebook] == ["visits", "visits_2"]
    assert read.codebook.get("visits_2").parent == "visits"
    assert read.codebook.get("visits").color is None  # '#12345' is not a colour
    by_code = {c.code_id: c for c in read.codings}
    coded = by_code["visits_2"]
    assert interview.text[coded.start:coded.end] == "another 🎉 visit"
    assert (coded.coder, coded.memo) == ("user 22222222", "a comment")
    whole = by_code["visits"]
    assert (whole.start, whole.end, whole.coder) == (0, len(interview.text), "unknown")
    memos = {m.text: m for m in read.memos}
    assert memos["Memo title\n\nThe memo."].document == "Interview 7"
    annotation = next(t for t in memos if t.startswith("On characters"))
    assert "“last”" in annotation and annotation.endswith("an annotation")
    assert any("outside the archive" in n for n in read.notes)


def test_positions_outside_the_text_are_reported(tmp_path: Path) -> None:
    body = f"""<CodeBook><Codes><Code guid="{'a' * 8}-aaaa-aaaa-aaaa-{'a' * 12}" name="A"
      isCodable="true"/></Codes></CodeBook><Sources><TextSource guid="{'e' * 8}-eeee-eeee-eeee-
{'e' * 12}" name="S"><PlainTextContent>short</PlainTextContent><PlainTextSelection
      guid="{'f' * 8}-ffff-ffff-ffff-{'f' * 12}" startPosition="2" endPosition="99"><Coding
      guid="{'9' * 8}-9999-9999-9999-{'9' * 12}"><CodeRef targetGUID="{'a' * 8}-aaaa-aaaa-aaaa-
{'a' * 12}"/></Coding></PlainTextSelection></TextSource></Sources>"""
    read = read_qdpx(make_qdpx(tmp_path / "x.qdpx", qde(body.replace("-\n", "-"))))
    assert not read.codings and "1 selection outside the text" in read.skipped[0]


def test_unknown_tool_or_positions_are_parameter_errors(tmp_path: Path) -> None:
    path = make_qdpx(tmp_path / "x.qdpx", qde(""))
    with pytest.raises(ParameterError, match="'tool' parameter of import_qdpx"):
        read_qdpx(path, tool="excel")
    with pytest.raises(ParameterError, match="'positions' parameter"):
        read_qdpx(path, positions="bytes")


# -- hostile and broken input ----------------------------------------------------------------------
def test_path_traversal_in_member_names_is_refused(tmp_path: Path) -> None:
    path = make_qdpx(tmp_path / "evil.qdpx", qde(""), {"../../evil.txt": b"x"})
    with pytest.raises(UnsafeInputError, match="climbs out"):
        read_qdpx(path)
    assert not (tmp_path.parent / "evil.txt").exists()


def test_a_zip_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.qdpx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", qde(""))
        archive.writestr("sources/big.txt", b"\0" * (20 * 1024 * 1024))
    with pytest.raises(UnsafeInputError, match="zip bomb"):
        read_qdpx(path)


@pytest.mark.parametrize("payload", [
    '<!DOCTYPE Project [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>'
    f'<Project xmlns="{NS}" name="&b;"/>',
    f'<!DOCTYPE Project [<!ENTITY x SYSTEM "file:///etc/passwd">]><Project xmlns="{NS}" '
    'name="&x;"/>',
])
def test_entity_expansion_and_external_entities_are_refused(tmp_path, payload) -> None:
    path = make_qdpx(tmp_path / "e.qdpx", payload)
    with pytest.raises(UnsafeInputError, match="Refused"):
        read_qdpx(path)
    qdc = tmp_path / "e.qdc"
    qdc.write_text(payload.replace("Project", "CodeBook"), encoding="utf-8")
    with pytest.raises(UnsafeInputError):
        load_codebook(qdc)


def test_broken_xml_names_the_line(tmp_path: Path) -> None:
    path = make_qdpx(tmp_path / "b.qdpx", qde("\n<Users>\n<User guid='x'>\n</Project"))
    with pytest.raises(ReaderError) as info:
        read_qdpx(path)
    assert info.value.line is not None and info.value.line >= 3
    assert "project.qde" in str(info.value)
    qdc = tmp_path / "b.qdc"
    qdc.write_text('<CodeBook xmlns="urn:QDA-XML:codebook:1.0">\n<Codes>\n</CodeBook>')
    with pytest.raises(CodebookError) as info:
        load_codebook(qdc)
    assert info.value.line == 3


def test_an_archive_without_a_project_is_a_reader_error(tmp_path: Path) -> None:
    path = tmp_path / "x.qdpx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ReaderError, match=r"no project\.qde"):
        read_qdpx(path)


def test_sources_outside_the_archive_must_be_plain_text(tmp_path: Path) -> None:
    secret = tmp_path / "id_rsa"
    secret.write_text("PRIVATE KEY")
    body = (f'<Sources><TextSource guid="{"e" * 8}-eeee-eeee-eeee-{"e" * 12}" name="S" '
            f'plainTextPath="absolute://{secret}"/></Sources>')
    read = read_qdpx(make_qdpx(tmp_path / "x.qdpx", qde(body)))
    assert not read.documents and len(read.missing_sources) == 1


# -- codebooks (.qdc) ------------------------------------------------------------------------------
def test_a_foreign_qdc_loads_with_warnings(tmp_path: Path) -> None:
    text = f"""<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="ATLAS.ti Win 23.4.0">
  <Codes>
    <Code guid="1FF58B12-6F6F-4B0C-8BE5-BBDC91F55294" name="code one" color="#46AA00"
      isCodable="true"><Description>description</Description>
      <Code guid="{code_guid('kept_id')}" name="Child"
        isCodable="true"><Description>qualcode id: kept_id</Description></Code></Code>
  </Codes>
  <Sets><Set name="group 1" guid="ECA18D76-2B8B-4F26-BC1D-19ECA19FB3F0">
    <MemberCode guid="1FF58B12-6F6F-4B0C-8BE5-BBDC91F55294"/></Set></Sets>
</CodeBook>"""
    path = tmp_path / "book.qdc"
    path.write_text(text, encoding="utf-8")
    book, problems = load_qdc(path)
    assert [(c.id, c.parent) for c in book] == [("code_one", None), ("kept_id", "code_one")]
    assert book.get("code_one").definition == "description"
    assert any("group 1" in p.message for p in problems)
    assert any(p.code == "kept_id" and p.field == "definition" for p in validate_codebook(path))
    result = import_qdc(path, tmp_path / "new.qualcode")
    assert result.created and result.codebook_version == 1 and result.codes == 2


def test_a_qdc_without_codes_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.qdc"
    path.write_text('<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes/></CodeBook>')
    with pytest.raises(CodebookError, match="no codes"):
        load_codebook(path)


# -- the command line -----------------------------------------------------------------------------


def test_cli_export_and_import(rich_project: Project, tmp_path: Path, capsys) -> None:
    rich_project.close()
    project = str(tmp_path / "s.qualcode")
    out = str(tmp_path / "s.qdpx")
    code, text, _ = run(capsys, "export", "qdpx", project, "--out", out)
    assert code == 0 and "4 codings" in text
    code, _, err = run(capsys, "export", "qdpx", project, "--out", out)
    assert code == 2 and "already exists" in err and "Traceback" not in err
    code, text, _ = run(capsys, "import", "qdpx", out, str(tmp_path / "new.qualcode"), "--json")
    data = json.loads(text)
    assert code == 0 and data["created"] and data["codings_added"] == 4
    code, text, _ = run(capsys, "export", "qdc", project, "--out", str(tmp_path / "b.qdc"))
    assert code == 0 and "b.qdc" in text
    code, text, _ = run(capsys, "import", "qdc", str(tmp_path / "b.qdc"),
                        str(tmp_path / "cb.qualcode"))
    assert code == 0 and "4 codes" in text
    code, _, err = run(capsys, "import", "qdpx", out, project, "--tool", "excel")
    assert code == 2


def test_cli_reports_what_was_not_imported(shared_data: Path, tmp_path: Path, capsys) -> None:
    code, text, _ = run(capsys, "import", "qdpx",
                        str(shared_data / "refi-qda" / "atlasti8-mac_TestProject.qdpx"),
                        str(tmp_path / "a.qualcode"))
    assert code == 0 and "14 codes" in text and "Mabel.txt" in text and "1 graph" in text



def test_module_docstring_examples_are_marked_to_skip():
    # Its examples need files a reader has not got; unmarked, doctest runs them and fails.
    import doctest

    from qualcode.export import refiqda

    finder = doctest.DocTestFinder(recurse=False)
    results = doctest.DocTestRunner(verbose=False).run(finder.find(refiqda)[0], out=lambda _: None)
    assert results.failed == 0
