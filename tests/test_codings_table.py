"""Reading codings tables: tolerant excerpt location, matching documents and codes, the
row-by-row report, offsets, export and import round trips, and the shared study."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from builders import make_corpus
from hypothesis import given, settings
from hypothesis import strategies as st

from qualcode.codings_table import (
    codings_frame,
    export_codings,
    import_codings,
    locate_excerpt,
    read_codings_table,
)
from qualcode.errors import ParameterError, TableError
from qualcode.model import Code, Codebook, Coding, Document
from qualcode.project import Project

TEXT = (
    "INTERVIEWER: What happened at the door?\n"
    "Mia: We knocked — twice — and waited. "
    "Mum said \u201cyou\u2019re not the bailiffs, are you?\u201d\n"
    "Mia: Okay. So we went in.\n"
    "Mia: Okay. The kitchen was spotless, café-clean.\n"
    "INTERVIEWER: Okay.\n"
)

CODEBOOK = Codebook("door", (
    Code("thresholds", name="Thresholds"),
    Code("doorstep_wait", name="Waiting at the door", parent="thresholds"),
    Code("mistaken_identity", name="Mistaken identity", parent="thresholds"),
    Code("atmospheres", name="Atmospheres"),
    Code("sensory", name="Sensory impressions", parent="atmospheres"),
    Code("other_door", name="Other", parent="thresholds"),
    Code("other_home", name="Other", parent="atmospheres"),
))


def table(*rows: tuple[str, ...], columns=("document", "code", "text")) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(columns))


@pytest.fixture
def documents() -> list[Document]:
    return [Document("d1", TEXT, source="/data/transcripts/d1.odt"),
            Document("d2", "Ben: Nothing to report.", source="d2.txt")]


def read(frame: pd.DataFrame, documents, **kwargs):
    return read_codings_table(frame, documents, CODEBOOK, coder="alice", **kwargs)


@pytest.mark.parametrize(
    ("excerpt", "expected"),
    [
        pytest.param("We knocked — twice — and waited.", "We knocked — twice — and waited.",
                     id="exact"),
        pytest.param("We  knocked —\n twice — and\twaited.", "We knocked — twice — and waited.",
                     id="whitespace"),
        pytest.param("we KNOCKED - twice - and waited", "We knocked — twice — and waited",
                     id="case-and-dashes"),
        pytest.param('Mum said "you\'re not the bailiffs, are you?"',
                     "Mum said \u201cyou\u2019re not the bailiffs, are you?\u201d",
                     id="straight-quotes"),
        pytest.param("spotless, cafe-clean", "spotless, café-clean", id="accents"),
        pytest.param("We knocked … and waited.", "We knocked — twice — and waited.",
                     id="ellipsis-omission"),
        pytest.param("We knocked [...] waited. Mum said", "We knocked — twice — and waited. Mum "
                     "said", id="bracketed-ellipsis"),
        pytest.param("are you?”\nMia: Okay. So we", "are you?\u201d\nMia: Okay. So we",
                     id="across-turns"),
    ],
)
def test_excerpts_are_found_despite_typographic_differences(excerpt: str, expected: str) -> None:
    spans = locate_excerpt(TEXT, excerpt)
    assert len(spans) == 1
    start, end = spans[0]
    assert TEXT[start:end] == expected


def test_an_excerpt_not_in_the_text_is_not_found() -> None:
    assert locate_excerpt(TEXT, "We rang the bell.") == []
    assert locate_excerpt(TEXT, "   ") == []


words = st.sampled_from(["the", "door", "mum", "tea", "dog", "we", "went", "in", "it's"])


@settings(max_examples=80, deadline=None)
@given(st.lists(words, min_size=3, max_size=30), st.data())
def test_any_passage_is_found_again_after_its_whitespace_changes(tokens, data) -> None:
    text = " ".join(tokens)
    first = data.draw(st.integers(0, len(tokens) - 1))
    last = data.draw(st.integers(first, len(tokens) - 1))
    start = len(" ".join(tokens[:first])) + (1 if first else 0)
    end = len(" ".join(tokens[: last + 1]))
    gap = data.draw(st.sampled_from(["\n", "  ", " \n\t"]))
    mangled = text[start:end].replace(" ", gap).upper()
    assert (start, end) in locate_excerpt(text, mangled)


def test_rows_are_located_with_documents_by_file_name_and_codes_by_name(documents) -> None:
    report = read(table(
        ("d1", "doorstep_wait", "We knocked — twice — and waited."),
        ("d1.odt", "Mistaken identity", "not the bailiffs"),
        ("transcripts/D1.ODT", "sensory impressions", "The kitchen was spotless"),
        ("d2.txt", "Thresholds/Other", "Nothing to report."),
        ("d1", "waiting_at_the_door", "We knocked"),
    ), documents)
    assert report.rows == report.located == 5 and report.unmatched == 0
    assert [c.code_id for c in report.codings] == [
        "doorstep_wait", "mistaken_identity", "sensory", "other_door", "doorstep_wait"]
    assert [c.document_id for c in report.codings] == ["d1", "d1", "d1", "d2", "d1"]
    assert all(c.coder == "alice" and c.method == "import" and c.status == "accepted"
               for c in report.codings)
    assert TEXT[report.codings[1].start:report.codings[1].end] == "not the bailiffs"


def test_repeated_excerpts_take_the_occurrence_after_the_previous_row(documents) -> None:
    report = read(table(
        ("d1", "doorstep_wait", "Okay."),           # 3 occurrences: the first
        ("d1", "mistaken_identity", "So we went in."),
        ("d1", "sensory", "Okay."),                 # after the previous row: the second
        ("d1", "doorstep_wait", "Okay."),           # again after: the third
        ("d1", "doorstep_wait", "Okay."),           # none left after: the first free one
    ), documents)
    okays = [i for i in range(len(TEXT)) if TEXT.startswith("Okay.", i)]
    starts = [o.start for o in report.outcomes]
    assert starts[0] == okays[0] and starts[2] == okays[1] and starts[3] == okays[1]
    assert [o.status for o in report.outcomes] == [
        "ambiguous", "located", "ambiguous", "ambiguous", "ambiguous"]
    assert "occurs 3 times" in report.outcomes[2].reason
    assert "after the previous excerpt (row 1)" in report.outcomes[2].reason
    # Row 3 is the same words as row 2 with another code: the same passage.
    assert report.outcomes[4].start == okays[2]
    assert report.ambiguous == 4 and report.located == 5


def test_the_same_excerpt_with_two_codes_is_one_passage_coded_twice(documents) -> None:
    report = read(table(("d1", "sensory", "The kitchen was spotless"),
                        ("d1", "atmospheres", "The kitchen was spotless")), documents)
    assert {(c.start, c.end) for c in report.codings} == {(report.codings[0].start,
                                                           report.codings[0].end)}
    assert len(report.codings) == 2 and report.ambiguous == 0


def test_unmatched_rows_are_reported_with_row_numbers_and_reasons(tmp_path, documents) -> None:
    path = tmp_path / "codings.csv"
    table(
        ("d1", "doorstep_wait", "We knocked — twice — and waited."),
        ("d9.odt", "doorstep_wait", "We knocked"),
        ("d1", "Door wait", "We knocked"),
        ("d1", "other", "We knocked"),  # a name two codes share
        ("d1", "sensory", "The kitchen was filthy and dark"),
        ("d1", "sensory", "Nothing to report."),
        ("", "", ""),
        ("d1", "doorstep_wait", "We knocked — twice — and waited."),
    ).to_csv(path, index=False)
    report = read_codings_table(path, documents, CODEBOOK, coder="alice")
    problems = {o.row: o for o in report.problems()}
    assert report.rows == 8 and report.located == 2 and report.unmatched == 6
    assert sorted(problems) == [3, 4, 5, 6, 7, 8, 9]
    assert problems[3].problem == "unknown document"
    assert "no document 'd9.odt'" in problems[3].reason and "'d1'" in problems[3].reason
    assert problems[4].problem == "unknown code" and "no code 'Door wait'" in problems[4].reason
    assert "could be any of other_door, other_home" in problems[5].reason
    assert problems[6].problem == "not found"
    assert "its first 16 of 31 characters match" in problems[6].reason
    assert "but it is in 'd2'" in problems[7].reason
    assert problems[8].problem == "empty"
    assert problems[9].problem == "duplicate" and "codings.csv row 2" in problems[9].reason
    assert report.unknown_documents == {"d9.odt": 1}
    assert report.unknown_codes == {"Door wait": 1, "other": 1}
    assert len(report.codings) == 1
    assert "2 located" in report.summary() and "Unknown documents: d9.odt" in report.summary()
    frame = report.to_frame(problems_only=True)
    assert list(frame["row"]) == [3, 4, 5, 6, 7, 8, 9]
    assert set(frame["file"]) == {"codings.csv"}


def test_offsets_are_used_and_checked_against_the_excerpt(documents) -> None:
    start = TEXT.index("Okay. The kitchen")
    report = read(table(
        ("d1", "sensory", str(start), str(start + 5), "Okay."),
        ("d1", "sensory", "0", "5", "The kitchen was spotless"),     # wrong: found by text
        ("d1", "sensory", "10", "9999", ""),
        ("d1", "sensory", "x", "5", ""),
        ("d2", "other_door", "0", "3", ""),
        columns=("document", "code", "start", "end", "text")), documents)
    outcomes = report.outcomes
    assert (outcomes[0].start, outcomes[0].match, outcomes[0].status) == (start, "offsets",
                                                                           "located")
    assert outcomes[1].match == "exact" and "located by its text instead" in outcomes[1].reason
    assert outcomes[2].problem == "bad offsets" and "do not lie inside" in outcomes[2].reason
    assert "not whole numbers" in outcomes[3].reason
    assert (outcomes[4].start, outcomes[4].end) == (0, 3)


def test_a_dataframe_reports_its_index_labels(documents) -> None:
    frame = table(("d1", "sensory", "nowhere at all in it"), ("d1", "sensory", "spotless"))
    frame.index = [10, 20]
    report = read(frame, documents)
    assert [o.row for o in report.outcomes] == [10, 20]
    assert report.problems()[0].where == "row 10"


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (("doc", "tag"), "start and end columns or an excerpt column"),
        (("file", "quote"), "a code column"),
        (("node", "content"), "a document column"),
    ],
)
def test_missing_columns_are_named(tmp_path, documents, columns, message) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame([["x"] * len(columns)], columns=list(columns)).to_csv(path, index=False)
    with pytest.raises(TableError, match=message) as info:
        read_codings_table(path, documents, CODEBOOK, coder="a")
    assert info.value.line == 1 and str(path) in str(info.value)


def test_tolerant_headers_semicolons_and_xlsx(tmp_path, documents) -> None:
    semicolons = tmp_path / "excel.csv"
    semicolons.write_text("File;Node;Coded text;Coder\nd1;Sensory impressions;spotless;bob\n",
                          encoding="cp1252")
    report = read_codings_table(semicolons, documents, CODEBOOK)
    assert report.located == 1 and report.codings[0].coder == "bob"
    assert report.columns == {"document": "File", "code": "Node", "text": "Coded text",
                              "coder": "Coder"}
    xlsx = tmp_path / "codings.xlsx"
    table(("d1", "sensory", "spotless")).to_excel(xlsx, index=False)
    assert read_codings_table(xlsx, documents, CODEBOOK, coder="c").located == 1


def test_a_folder_of_tables_is_read_file_by_file(tmp_path, documents) -> None:
    folder = tmp_path / "codings"
    folder.mkdir()
    table(("d1", "sensory", "spotless")).to_csv(folder / "a.csv", index=False)
    table(("d2", "other_home", "no such words")).to_csv(folder / "b.csv", index=False)
    report = read_codings_table(folder, documents, CODEBOOK, coder="c")
    assert report.located == 1 and report.problems()[0].where == "b.csv row 2"


@pytest.mark.parametrize(
    ("kwargs", "codebook", "message"),
    [
        ({"coder": "a", "status": "done"}, CODEBOOK, "'status' parameter"),
        ({}, CODEBOOK, "Whose codings are these"),
        ({"coder": "a"}, None, "no codebook to match"),
    ],
)
def test_bad_parameters(documents, kwargs, codebook, message) -> None:
    with pytest.raises(ParameterError, match=message):
        read_codings_table(table(("d1", "sensory", "spotless")), documents, codebook, **kwargs)


@pytest.fixture
def project(tmp_path: Path):
    p = Project.create(tmp_path / "p.qualcode", codebook=CODEBOOK)
    p.add_corpus(make_corpus({"d1": TEXT.strip(), "d2": "Ben: Nothing to report."}))
    yield p
    p.close()


def test_import_stores_codings_once_and_reports_it(project: Project) -> None:
    rows = table(("d1", "sensory", "spotless"), ("d2", "other_door", "Nothing to report"))
    first = import_codings(project, rows, "alice")
    again = import_codings(project, rows, "alice")
    assert (first.stored, again.stored) == (2, 0)
    assert len(project.codings(coder="alice")) == 2
    assert "2 new codings stored" in first.summary()
    assert json.loads(json.dumps(first.to_dict()))["stored"] == 2


def test_create_codes_adds_unknown_codes_to_a_new_codebook_version(project: Project) -> None:
    rows = table(("d1", "Dogs barking", "We knocked"), ("d1", "dogs barking", "Okay. So"),
                 ("d1", "sensory", "spotless"))
    report = import_codings(project, rows, "alice", create_codes=True)
    assert [c.id for c in report.created_codes] == ["dogs_barking"]
    assert project.codebook.get("dogs_barking").name == "Dogs barking"
    assert project.codebook_versions()[-1]["note"].startswith("codes created by importing")
    assert report.stored == 3


def test_export_then_import_gives_back_the_same_codings(project: Project, tmp_path) -> None:
    segments = project.segments()
    codings = [
        Coding("d1", segments[1].start + 3, segments[1].end, "doorstep_wait", "alice"),
        Coding("d1", segments[2].start, segments[3].end, "sensory", "bob", status="suggested",
               method="semantic", confidence=0.5),
        Coding("d2", 5, 12, "other_door", "alice"),
    ]
    project.add_codings(codings)
    path = export_codings(project, tmp_path / "out.csv")
    frame = pd.read_csv(path, keep_default_na=False)
    assert list(frame.columns) == ["document", "start", "end", "speaker", "code", "theme",
                                   "confidence", "status", "coder", "method", "text"]
    assert list(frame["speaker"]) == ["Mia", "Mia", "Ben"]
    assert list(frame["theme"]) == ["thresholds", "atmospheres", "thresholds"]
    with Project.create(tmp_path / "copy.qualcode", codebook=CODEBOOK) as copy:
        copy.add_corpus(make_corpus({"d1": TEXT.strip(), "d2": "Ben: Nothing to report."}))
        report = import_codings(copy, path)
        assert report.located == 3 and all(o.match == "offsets" for o in report.outcomes)
        # bob's suggestion comes back a suggestion, not a person's accepted coding
        assert {(*c.key, c.coder, c.status) for c in copy.codings()} == {
            (*c.key, c.coder, c.status) for c in codings}
    records = json.loads(export_codings(project, format="json"))
    assert records[1]["confidence"] == 0.5 and records[0]["confidence"] is None


def test_a_status_given_overrides_the_column_and_a_bad_one_is_reported(
        project: Project) -> None:
    rows = table(("d1", "sensory", "spotless", "suggested"),
                 ("d1", "doorstep_wait", "We knocked", "maybe"),
                 ("d2", "other_door", "Nothing to report", ""),
                 columns=("document", "code", "text", "status"))
    report = read_codings_table(rows, project, coder="alice")
    assert [c.status for c in report.codings] == ["suggested", "accepted"]
    assert [(o.row, o.problem) for o in report.problems()] == [(1, "bad status")]
    assert "'maybe' is not one of suggested, accepted, rejected" in report.problems()[0].reason
    given = read_codings_table(rows, project, coder="alice", status="rejected")
    assert [c.status for c in given.codings] == ["rejected"] * 3


def test_a_coding_that_starts_on_a_speaker_label_is_that_speakers(tmp_path: Path) -> None:
    # The label "Ben: " lies outside every segment: the previous turn is Mia's.
    text = "Mia: We knocked twice.\nBen: Nobody came to the door."
    with Project.create(tmp_path / "labels.qualcode", codebook=CODEBOOK) as project:
        project.add_corpus(make_corpus({"d1": text}))
        start = text.index("Ben: ")
        project.add_codings([
            Coding("d1", start, len(text), "doorstep_wait", "alice"),
            Coding("d1", 0, 4, "other_door", "alice"),  # "Mia:" alone meets no segment
        ])
        frame = codings_frame(project)
    assert list(frame["text"]) == ["Mia:", "Ben: Nobody came to the door."]
    assert pd.isna(frame["speaker"][0]) and frame["speaker"][1] == "Ben"


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(1, 40),
                          st.sampled_from(["sensory", "other_door", "doorstep_wait"])),
                min_size=1, max_size=12))
def test_round_trip_property(spans) -> None:
    text = TEXT.strip()
    with tempfile.TemporaryDirectory() as folder:
        codings = {Coding("d1", s, min(s + n, len(text)), code, "alice")
                   for s, n, code in spans}
        with Project.create(Path(folder) / "a.qualcode", codebook=CODEBOOK) as source:
            source.add_corpus(make_corpus({"d1": text}))
            source.add_codings(codings)
            frame = codings_frame(source)
        with Project.create(Path(folder) / "b.qualcode", codebook=CODEBOOK) as target:
            target.add_corpus(make_corpus({"d1": text}))
            import_codings(target, frame)
            assert {c.key for c in target.codings()} == {c.key for c in codings}


# -- the shared study ---------------------------------------------------------------------------
def test_the_shared_usability_study_is_located(shared_data: Path) -> None:
    from qualcode.codebook import load_codebook
    from qualcode.ingest import load_corpus

    study = shared_data / "swj2022-usability"
    corpus = load_corpus(study / "transcripts")
    codebook = load_codebook(study / "codebooks" / "codebook_20220303_8.csv")
    report = read_codings_table(study / "codings_20220303.csv", corpus, codebook,
                                coder="authors")
    assert report.rows == 1930 and len(codebook.leaves()) == 22
    assert report.located / report.rows > 0.98
    assert report.unmatched == 0 and report.unknown_documents == {} == report.unknown_codes
    # Repeated stage directions ("(The participant reads the task again)") are ambiguous.
    assert 0 < report.ambiguous < 60
    assert all("occurs" in o.reason for o in report.outcomes if o.status == "ambiguous")
    texts = {d.id: d.text for d in corpus.documents}
    for outcome, coding in zip(report.outcomes[:50], report.codings[:50], strict=True):
        assert " ".join(texts[coding.document_id][coding.start:coding.end].split())
        assert outcome.document.startswith(coding.document_id)


def test_rows_after_a_blank_line_keep_the_numbers_a_spreadsheet_shows(tmp_path,
                                                                      documents) -> None:
    # Excel and LibreOffice show a blank line as an empty row: the rows after it must not
    # be reported one row too early. A trailing line end is not a row.
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbfdocument;code;text\r\n"
                     b"d1;sensory;spotless\r\n"
                     b"\r\n"
                     b"d1;sensory;nowhere in the transcript\r\n\r\n")
    report = read_codings_table(path, documents, CODEBOOK, coder="alice")
    assert [o.row for o in report.outcomes] == [2, 3, 4]
    assert [(o.row, o.problem) for o in report.problems()] == [(3, "empty"), (4, "not found")]


def test_a_row_placed_by_its_text_instead_of_its_offsets_is_listed(documents) -> None:
    # The table's offsets were set aside: a person must see it, not only the stored coding.
    report = read(table(("d1", "sensory", "0", "5", "The kitchen was spotless"),
                        ("d1", "sensory", "0", "99999", "café-clean"),
                        columns=("document", "code", "start", "end", "text")), documents)
    assert report.located == 2 and report.unmatched == 0
    assert [(o.row, o.status, o.problem) for o in report.problems()] == [
        (0, "located", "bad offsets"), (1, "located", "bad offsets")]
    assert "located by its text instead" in report.problems()[1].reason
    assert list(report.to_frame(problems_only=True)["row"]) == [0, 1]


def test_every_sheet_of_codings_in_a_workbook_is_read(tmp_path, documents) -> None:
    path = tmp_path / "coders.xlsx"
    columns = ("document", "code", "text", "coder")
    with pd.ExcelWriter(path) as workbook:
        pd.DataFrame({"about": ["one sheet per coder"]}).to_excel(
            workbook, sheet_name="Notes", index=False)
        table(("d1", "sensory", "spotless", "alice"), columns=columns).to_excel(
            workbook, sheet_name="alice", index=False)
        table(("d1", "doorstep_wait", "We knocked", "bob"),
              ("d1", "sensory", "not there at all", "bob"), columns=columns).to_excel(
            workbook, sheet_name="bob", index=False)
    report = read_codings_table(path, documents, CODEBOOK)
    assert report.rows == 3 and report.located == 2
    assert sorted((c.coder, c.code_id) for c in report.codings) == [
        ("alice", "sensory"), ("bob", "doorstep_wait")]
    assert report.problems()[0].where == "coders.xlsx (sheet bob) row 3"


def test_sheets_of_codings_that_do_not_say_whose_they_are_are_refused(tmp_path,
                                                                       documents) -> None:
    # One sheet per coder: importing them all under one coder would make two people's
    # codings one person's, and reading only the first would drop the rest.
    path = tmp_path / "coders.xlsx"
    with pd.ExcelWriter(path) as workbook:
        table(("d1", "sensory", "spotless")).to_excel(workbook, sheet_name="alice",
                                                      index=False)
        table(("d1", "sensory", "spotless", "bob"), columns=("document", "code", "text",
                                                             "coder")).to_excel(
            workbook, sheet_name="bob", index=False)
    with pytest.raises(TableError, match=r"2 sheets \(alice, bob\), and sheet alice has no "
                       r"coder column: .*import it with --coder NAME") as caught:
        read_codings_table(path, documents, CODEBOOK)
    assert "coders.xlsx" in str(caught.value)
    with pytest.raises(TableError, match=r"a coder name was given \(carol\)"):
        read_codings_table(path, documents, CODEBOOK, coder="carol")


def test_a_csv_named_xlsx_or_an_old_xls_is_named_for_what_it_is(tmp_path, documents) -> None:
    renamed = tmp_path / "codings.xlsx"
    renamed.write_text("document,code,text\nd1,sensory,spotless\n", encoding="utf-8")
    with pytest.raises(TableError, match="not an Excel workbook; it looks like text, perhaps "
                       r"a CSV renamed: give it the name \.csv") as caught:
        read_codings_table(renamed, documents, CODEBOOK, coder="alice")
    assert caught.value.path == str(renamed)
    old = tmp_path / "old.xlsx"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    with pytest.raises(TableError, match=r"an older Excel workbook \(.xls\)"):
        read_codings_table(old, documents, CODEBOOK, coder="alice")


def test_a_table_with_a_header_and_no_rows_is_an_error(tmp_path, documents) -> None:
    # Importing nothing and saying "0 rows" with success would hide a wrong export.
    path = tmp_path / "codings.csv"
    path.write_text("document,code,text\n", encoding="utf-8")
    with pytest.raises(TableError, match="a header but no rows") as caught:
        read_codings_table(path, documents, CODEBOOK, coder="alice")
    assert caught.value.path == str(path)
    with pytest.raises(TableError, match="a header but no rows"):
        read(pd.DataFrame(columns=["document", "code", "text"]), documents)
