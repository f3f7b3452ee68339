"""Survey tables stored as columns: ``qc.ingest`` stores a table's answers without a
Document and a Segment for each, and must store, report and refuse exactly what
``load_corpus`` + ``Project.add_corpus`` do."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualcode import api
from qualcode.errors import ParameterError, ProjectError, TableError
from qualcode.ingest import load_corpus, read_documents
from qualcode.ingest.base import ParsedTable
from qualcode.ingest.corpus import read_sources
from qualcode.ingest.encoding import decode_bytes
from qualcode.ingest.tables import read_answers, read_table
from qualcode.model import (
    Coding,
    Corpus,
    Document,
    DocumentColumns,
    Segment,
    check_span,
    normalise_text,
)
from qualcode.project import Project, attribute_texts, attributes_json


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def stored(path: Path) -> dict[str, list[tuple]]:
    """Every row a project holds of its documents (all but the time added) and segments,
    with the rowids, and the unit."""
    con = sqlite3.connect(path)
    try:
        return {
            "documents": con.execute(
                "SELECT rowid, id, position, text, length, source, content_hash, attributes "
                "FROM documents ORDER BY rowid").fetchall(),
            "segments": con.execute(
                "SELECT rowid, document_id, kind, idx, start, end, speaker, role, start_time, "
                "end_time FROM segments ORDER BY rowid").fetchall(),
            "meta": con.execute("SELECT value FROM meta WHERE key = 'unit'").fetchall(),
        }
    finally:
        con.close()


def outcome(call, project: Path):
    try:
        return "ok", call()
    except Exception as exc:  # the error's every detail, to compare (but which project)
        return "error", (type(exc), str(exc).replace(str(project), "PROJECT"),
                         getattr(exc, "line", None), getattr(exc, "field", None))


def ingest_both_ways(tmp_path: Path, batches: list[tuple[object, dict]]) -> tuple:
    """Each batch ingested into one project by ``qc.ingest`` and into another by
    ``load_corpus`` + ``add_corpus``: what each gave back and stored."""
    by_ingest, by_corpus = tmp_path / "ingest.qualcode", tmp_path / "corpus.qualcode"
    api.init(by_ingest).close()
    api.init(by_corpus).close()
    results = [both_ways(paths, dict(options), by_ingest, by_corpus)
               for paths, options in batches]
    return results, stored(by_ingest), stored(by_corpus)


def both_ways(paths: object, options: dict, by_ingest: Path, by_corpus: Path) -> tuple:
    replace = options.pop("replace", False)
    summary = outcome(lambda: api.ingest(by_ingest, paths, progress=False, replace=replace,
                                         **options), by_ingest)

    def through_corpus():
        corpus = load_corpus(paths, **options)
        with Project.open(by_corpus) as project:
            return project.add_corpus(corpus, replace=replace), corpus

    loaded = outcome(through_corpus, by_corpus)
    if summary[0] == "ok" and loaded[0] == "ok":
        report, corpus = loaded[1]
        summary = ("ok", summary[1].to_dict())
        summary[1].pop("project")
        loaded = ("ok", {**report, "segments": len(corpus.segments),
                         "unit": summary[1]["unit"],
                         "skipped_files": [str(s) for s in corpus.report.skipped],
                         "documents_without_cases":
                             list(corpus.report.documents_without_cases),
                         "notes": list(corpus.report.notes)})
    return summary, loaded


def assert_same_both_ways(tmp_path: Path, batches: list[tuple[object, dict]]) -> list:
    results, by_ingest, by_corpus = ingest_both_ways(tmp_path, batches)
    for summary, loaded in results:
        assert summary == loaded
    assert by_ingest == by_corpus
    return results


SURVEY = (
    "id,setting,role,response\n"
    "r1,Oakview,TA,More time with families.\n"
    'r2,Broadtown,"SENCo, acting","Two adults per visit,\nalways."\n'
    "r3,Oakview,,\n"
    "r4,,Head,  A phone that works.\t\n"
    'r5,"say ""hi""",50%,Café 😀 \u2028 ok\n'
)


@pytest.mark.parametrize(("name", "text", "options"), [
    ("survey.csv", SURVEY, {"id_column": "id"}),
    ("survey.csv", SURVEY, {}),  # ids numbered from the file's name
    ("survey.csv", SURVEY, {"id_column": "id", "attribute_columns": ["role", "ROLE"]}),
    ("survey.csv", SURVEY, {"id_column": "id", "segment": "sentences"}),
    ("crlf.csv", SURVEY.replace("\n", "\r\n"), {"id_column": "id"}),
    ("marks.csv", "\ufeffid,text,a\nx,\ufeffStarts with a mark.,\ufeffA\ny,Ends\ufeff,B\ufeff\n",
     {"id_column": "id", "text_column": "text"}),
    ("short.csv", "id,a,b,response\nr1,x\nr2,y,z,Two.\nr3,,,Three.,,\n", {"id_column": "id"}),
    ("semicolons.csv", "id;response\n1;Fine.\n2;Not fine.\n", {}),
    ("empty.csv", "id,response\nr1,\nr2,  \n", {"id_column": "id"}),
    ("twice.csv", "id,response\nr1,One.\n r1 ,Two.\n", {"id_column": "id"}),
    ("no_id.csv", "id,response\nr1,One.\n ,Two.\n", {"id_column": "id"}),
    ("wide.csv", "id,response\nr1,One, two\n", {"id_column": "id"}),
    ("quotes.csv", 'id,response\nr1,"closed"early\n', {"id_column": "id"}),
    ("header.csv", "id,response,Response\nr1,a,b\n", {}),
])
def test_ingest_stores_reports_and_refuses_a_table_as_load_corpus_and_add_corpus_do(
        tmp_path, name, text, options):
    path = write(tmp_path / "in" / name, text)
    assert_same_both_ways(tmp_path, [(path, {"text_column": "response", **options})])


def test_several_tables_transcripts_and_cases_in_one_ingest(tmp_path):
    folder = tmp_path / "study"
    write(folder / "AP01_anna.txt", "INTERVIEWER: How was it?\n\nAnna: Fine. Mostly.\n")
    write(folder / "a.csv", "id,setting,role,response\na1,Oak,TA,From A.\na2,,TA,Also A.\n")
    # the same attributes in another order: each table's rows keep their own
    write(folder / "b.csv", "id,role,setting,response\nb1,Head,Elm,From B.\nb2,Head,,\n")
    cases = write(tmp_path / "cases.csv", "document,wave,setting\na,1,\nb1,2,Override\n"
                                          "AP01_anna,3,Home\n")
    options = {"text_column": "response", "id_column": "id", "cases": cases}
    results = assert_same_both_ways(tmp_path, [(folder, options)])
    assert results[0][0][1]["added"] == ["a1", "a2", "AP01_anna", "b1"]
    with Project.open(tmp_path / "ingest.qualcode") as project:
        assert dict(project.documents["b1"].attributes) == {
            "role": "Head", "setting": "Override", "wave": "2"}
        assert dict(project.documents["a2"].attributes) == {"role": "TA", "wave": "1"}


def test_a_second_ingest_keeps_unchanged_answers_and_replaces_or_refuses_changed_ones(
        tmp_path):
    first = write(tmp_path / "in" / "v1.csv", "id,response\nd1,One.\nd2,Two.\nd3,Three.\n")
    second = write(tmp_path / "in" / "v2.csv",
                   "id,response\nd1,One.\nd2,Two changed.\nd3,Three.\nd4,Four.\n")
    third = write(tmp_path / "in" / "v3.csv", "id,response\nd3,Three changed.\nd9,Nine.\n")
    options = {"text_column": "response", "id_column": "id"}
    results = assert_same_both_ways(tmp_path, [
        (first, options), (first, options), (second, options),
        (second, {**options, "replace": True}), ([first, third], options),
        ([tmp_path / "in" / "v3.csv"], {**options, "replace": True}),
    ])
    assert results[1][0][1]["unchanged"] == ["d1", "d2", "d3"]
    assert results[2][0][0] == "error"  # d2 is in the project with other text
    assert results[3][0][1]["replaced"] == ["d2"] and results[3][0][1]["added"] == ["d4"]


def test_an_answer_with_codings_is_not_replaced(tmp_path):
    first = write(tmp_path / "in" / "v1.csv", "id,response\nd1,One.\nd2,Two.\n")
    second = write(tmp_path / "in" / "v2.csv", "id,response\nd1,One.\nd2,Two changed.\n")
    project_path = tmp_path / "p.qualcode"
    api.init(project_path).close()
    api.ingest(project_path, first, text_column="response", id_column="id", progress=False)
    with Project.open(project_path) as project:
        project.add_codings([Coding("d2", 0, 3, "c", "me")], check_codes=False)
        before = stored(project_path)
    with pytest.raises(ProjectError, match="'d2' has 1 codings"):
        api.ingest(project_path, second, text_column="response", id_column="id",
                   replace=True, progress=False)
    assert stored(project_path) == before


# Tables of any cells: quotes, delimiters, line ends of every kind, spaces, marks.
cells = st.text(alphabet=st.sampled_from(list('ab ,;"\n\r\t\ufeff\u00e9\x0c\u2028x')),
                max_size=8)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cells, min_size=1, max_size=4), min_size=1, max_size=6),
       line_end=st.sampled_from(["\n", "\r\n", "\r"]))
def test_any_table_is_stored_or_refused_as_load_corpus_and_add_corpus_do(
        tmp_path_factory, rows, line_end):
    tmp_path = tmp_path_factory.mktemp("any")
    text = line_end.join(",".join(row) for row in [["id", "a", "response"], *rows])
    path = write(tmp_path / "in" / "table.csv", text + line_end)
    for options in ({"id_column": "id"}, {}):
        projects = tmp_path / f"projects-{len(options)}"
        projects.mkdir()
        assert_same_both_ways(projects, [(path, {"text_column": "response", **options})])


# -- the reader -----------------------------------------------------------------------
def test_read_answers_gives_the_rows_read_survey_gives(tmp_path):
    path = write(tmp_path / "survey.csv", SURVEY)
    table = read_answers(path, document_id="survey", text_column="response", id_column="id")
    assert isinstance(table, ParsedTable) and len(table) == 4
    assert table.notes == ("1 rows with an empty answer were skipped (lines 5).",)
    assert table.documents.attribute_names == ("setting", "role")
    assert table.documents.starts[2:4] == (2, 0)  # the turn is the answer, trimmed
    sources = read_documents(path, text_column="response", id_column="id")
    assert table.sources() == sources
    assert [repr(s) for s in table.sources()] == [repr(s) for s in sources]


def test_a_cell_of_several_lines_is_normalised_whatever_the_line_ends(tmp_path):
    rows = ['id,response', 'r1,"One\r\ntwo\rthree\nfour"', 'r2,Two.']
    for line_end in ("\n", "\r\n", "\r"):
        path = write(tmp_path / "lines.csv", line_end.join(rows) + line_end)
        table = read_table(path)
        assert table.rows == (("r1", "One\ntwo\nthree\nfour"), ("r2", "Two."))
        assert table.lines == (2, 6)


def test_a_cell_longer_than_the_csv_limit_only_before_its_line_ends_are_normalised(
        tmp_path):
    limit = csv.field_size_limit()
    fits = write(tmp_path / "fits.csv",
                 'id,response\r\nr1,"' + "x\r\n" * (limit // 2 - 1) + '"\r\nr2,Two.\r\n')
    assert read_table(fits).rows[0][1] == "x\n" * (limit // 2 - 1)
    too_long = write(tmp_path / "long.csv",
                     'id,response\r\nr1,One.\r\nr2,"' + "x\r\n" * (limit // 2 + 1) + '"\r\n')
    with pytest.raises(TableError, match=r"field larger than field limit") as caught:
        read_table(too_long)
    assert caught.value.line == 3


@pytest.mark.parametrize("odd", ["\x0c", "\x0b", "\x1c", "\x85", "\u2028", "\u2029"])
def test_characters_that_only_str_splitlines_takes_for_line_ends_stay_in_their_cell(
        tmp_path, odd):
    path = write(tmp_path / "odd.csv",
                 f'id,response\nr1,a{odd}b\nr2,"c{odd}\nd"\nr3,e\n')
    assert read_table(path).rows == (("r1", f"a{odd}b"), ("r2", f"c{odd}\nd"), ("r3", "e"))
    assert read_table(path).lines == (2, 3, 5)


def test_line_ends_are_left_to_the_reader_only_when_asked(tmp_path):
    data = "\ufeffa\r\nb\rc\n".encode()
    assert decode_bytes(data, "x.csv") == ("a\nb\nc\n", "utf-8")
    assert decode_bytes(data, "x.csv", line_ends=False) == ("a\r\nb\rc\n", "utf-8")
    assert normalise_text("\ufeffa\r\nb", line_ends=False) == "a\r\nb"


# -- what ingest gives the store ------------------------------------------------------
def test_a_table_goes_to_the_store_as_columns_only_when_segmented_by_turns(tmp_path):
    folder = tmp_path / "study"
    write(folder / "AP01_anna.txt", "INTERVIEWER: How was it?\n\nAnna: Fine.\n")
    write(folder / "survey.csv", SURVEY)
    options = {"text_column": "response", "id_column": "id"}
    parts = read_sources(folder, **options).to_store()
    assert [type(p) for p in parts] == [Corpus, DocumentColumns]
    assert parts[1].ids == ("r1", "r2", "r4", "r5")
    parts = read_sources(folder, segment="paragraphs", **options).to_store()
    assert [type(p) for p in parts] == [Corpus, Corpus]
    cases = write(tmp_path / "cases.csv", "document,wave\nsurvey,1\nr2,2\n")
    columns = read_sources(folder / "survey.csv", cases=cases, **options).to_store()[0]
    assert {k: dict(v) for k, v in columns.extra_attributes.items()} == {
        "r1": {"wave": "1"}, "r2": {"wave": "2"}, "r4": {"wave": "1"}, "r5": {"wave": "1"}}


def test_interviewers_named_for_a_table_read_it_as_sources(tmp_path):
    path = write(tmp_path / "survey.csv", SURVEY)
    parts = read_sources(path, text_column="response", interviewers=["r1"]).parts
    assert isinstance(parts[0], tuple)
    with pytest.raises(TypeError):  # marked turn by turn, as read_documents does
        read_sources(path, text_column="response", interviewers=5)


# -- the columns themselves ---------------------------------------------------------------
def columns(**changes):
    values = {"ids": ["a", "b"], "texts": ["One.", " Two "], "starts": [0, 1],
              "ends": [4, 4], "source": "s.csv", "attribute_names": ["site"],
              "attribute_values": [["Oak", ""]]}
    return DocumentColumns(**{**values, **changes})


def message_of(call) -> str:
    with pytest.raises(ParameterError) as caught:
        call()
    return str(caught.value)


@pytest.mark.parametrize(("changes", "made_by"), [
    ({"ids": ["a", " "]}, lambda: Document(" ", "x")),
    ({"ids": ["a", 5]}, lambda: Document(5, "x")),
    ({"ids": ["a", "a"]}, lambda: Corpus((Document("a", "x"), Document("a", "y")), ())),
    ({"ends": [5, 4]}, lambda: check_span("a", 4, 0, 5, "turn")),
    ({"starts": [0, 5]}, lambda: check_span("b", 5, 5, 4, "turn")),
    ({"starts": [-1, 1]}, lambda: check_span("a", 4, -1, 4, "turn")),
    ({"ends": [4.0, 4]}, lambda: check_span("a", 4, 0, 4.0, "turn")),
])
def test_columns_are_refused_with_the_message_a_document_or_segment_gets(changes, made_by):
    assert message_of(lambda: columns(**changes)) == message_of(made_by)


def test_columns_must_line_up():
    with pytest.raises(ParameterError, match="one value per id"):
        columns(texts=["One."])
    with pytest.raises(ParameterError, match="one column per attribute name"):
        columns(attribute_values=[])
    with pytest.raises(ParameterError, match=r"attribute names .* must be unique"):
        columns(attribute_names=["a", "a"], attribute_values=[["x", "y"], ["x", "y"]])
    made = columns(ids=("a", "b"), starts=(False, True))  # ints, as check_span takes them
    assert made.starts == (False, True)
    assert repr(made) == "DocumentColumns(2 documents from 's.csv')"
    assert list(made.own_attributes()) == [{"site": "Oak"}, {}]
    assert made.lengths == (4, 5)


def test_columns_and_a_corpus_store_alike_in_one_transaction(tmp_path):
    table = columns(extra_attributes={"b": {"wave": "2", "site": "Elm"}})
    documents = (Document("a", "One.", {"site": "Oak"}, "s.csv"),
                 Document("b", " Two ", {"wave": "2", "site": "Elm"}, "s.csv"))
    corpus = Corpus(documents, (Segment.of(documents[0], 0, 4, role="participant"),
                                Segment.of(documents[1], 1, 4, role="participant")))
    transcript = Document("t", "Q: Hi.", {}, "t.txt")
    other = Corpus((transcript,), (Segment.of(transcript, 3, 6, speaker="Q"),))
    with Project.create(tmp_path / "columns.qualcode") as project:
        assert project.add_corpus([other, table]) == {
            "added": ["t", "a", "b"], "unchanged": [], "replaced": []}
        assert project.add_corpus([table]) == {
            "added": [], "unchanged": ["a", "b"], "replaced": []}
    with Project.create(tmp_path / "corpus.qualcode") as project:
        project.add_corpus(Corpus((transcript, *documents), (*other.segments, *corpus.segments)))
    assert stored(tmp_path / "columns.qualcode") == stored(tmp_path / "corpus.qualcode")


def test_columns_clashing_with_a_stored_document_are_refused_and_nothing_is_stored(tmp_path):
    with Project.create(tmp_path / "p.qualcode") as project:
        project.add_corpus(Corpus((Document("b", "Other."),), ()))
        before = stored(tmp_path / "p.qualcode")
        with pytest.raises(ProjectError, match=r"'b' is already in .* with different text"):
            project.add_corpus([columns()])
        assert stored(tmp_path / "p.qualcode") == before


def test_more_rows_than_one_statement_holds_are_stored_in_order(tmp_path):
    count = 2345  # a few statements of rows and a remainder
    table = DocumentColumns([f"d{i}" for i in range(count)], [f"Answer {i}." for i in range(count)],
                            [0] * count, [len(f"Answer {i}.") for i in range(count)], "s.csv")
    with Project.create(tmp_path / "p.qualcode") as project:
        project.add_corpus(table)
        assert [d.id for d in project.documents][:3] == ["d0", "d1", "d2"]
        assert len(project.segments()) == count
    rows = stored(tmp_path / "p.qualcode")
    assert [row[:3] for row in rows["documents"]] == [(i + 1, f"d{i}", i) for i in range(count)]
    assert [row[1] for row in rows["segments"]] == [f"d{i}" for i in range(count)]


# -- attributes as text -----------------------------------------------------------------
@settings(max_examples=80, deadline=None)
@given(names=st.lists(st.text(max_size=4), min_size=0, max_size=3, unique=True),
       values=st.lists(st.sampled_from(["", "a", "%s", '"', "\\", "é", "\u2028", "b c"]),
                       min_size=0, max_size=30),
       repeat_rows=st.booleans())
def test_attribute_columns_give_the_text_attributes_json_gives_each_row(
        names, values, repeat_rows):
    count = len(values) if names else 3
    rows = [[values[(i + j) % len(values)] if values else "" for j in range(len(names))]
            for i in range(count)]
    if repeat_rows:
        rows = rows * 3
    expected = [attributes_json({n: v for n, v in zip(names, row, strict=True) if v})
                for row in rows]
    columns_of_rows = [list(column) for column in zip(*rows, strict=True)] if names else []
    assert attribute_texts(names, columns_of_rows, len(rows)) == expected


def test_a_source_from_columns_is_a_checked_source(tmp_path):
    table = read_answers(write(tmp_path / "s.csv", SURVEY), document_id="s",
                         text_column="response", id_column="id")
    for source in table.sources():
        checked = type(source)(source.id, source.text, source.turns, dict(source.attributes),
                               source.source, source.format, source.encoding, source.notes)
        assert source == checked and isinstance(source.attributes, MappingProxyType)
