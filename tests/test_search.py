"""Text search: matching on lemmas, exact text and regular expressions, the filters, offsets
on the bundled study, keyword in context, counts, files, coding every hit, and the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from builders import make_corpus
from cli_runner import run
from conftest import BUNDLED, BUNDLED_CODEBOOK

from qualcode.errors import NotFoundError, ParameterError
from qualcode.model import Code, Codebook, Coding
from qualcode.project import Project
from qualcode.text_search import search

TEXTS = {
    "d1": "INTERVIEWER: Did you visit the home?\n"
          "Anna: We visited on Monday. Visits are hard.\n"
          "Anna: The visitor book was signed at the home. Visit two went well.\n"
          "Anna: I said \"home-visit\" twice; it’s a home visit, really.\n"
          "Anna: Tea? Cup of TEA, always. The team said <no> & left.",
    "d2": "INTERVIEWER: And the doorstep?\n"
          "Ben: The doorstep is where it starts.\n"
          "Ben: I was visiting again, home, visit after visit.",
    "d3": "Cara: Nothing about it here at all.",
}
ATTRIBUTES = {"d1": {"setting": "Oakview"}, "d2": {"setting": "Broadtown"},
              "d3": {"setting": "Broadtown"}}
CODEBOOK = Codebook("search", (
    Code("visits", name="Visits"),
    Code("attendance", name="Poor attendance", parent="visits"),
    Code("tea", name="Hospitality", parent="visits"),
))


def segment_span(doc: str, words: str) -> tuple[int, int]:
    start = TEXTS[doc].index(words)
    return start, start + len(words)


def build(path: Path) -> Path:
    """The small study: three documents, a codebook, an accepted and a suggested coding."""
    project = Project.create(path, codebook=CODEBOOK)
    project.add_corpus(make_corpus(TEXTS))
    for doc, attributes in ATTRIBUTES.items():
        project.set_attributes(doc, attributes)
    project.add_codings([
        Coding("d1", *segment_span("d1", "Cup of TEA, always."), "tea", coder="alice"),
        Coding("d2", *segment_span("d2", "I was visiting again"), "attendance",
               coder="rules", method="rules", status="suggested", reason="test"),
    ])
    project.close()
    return path


@pytest.fixture
def study(tmp_path: Path) -> Path:
    return build(tmp_path / "study.qualcode")


def texts(result) -> list[str]:
    return [hit.text for hit in result]


# -- matching ---------------------------------------------------------------------------------
def test_words_match_inflections_on_lemmas_but_not_other_words(study: Path) -> None:
    import qualcode as qc

    # the one-liner and the function the module defines (qualcode.text_search) agree
    with Project.open(study) as project:
        result = qc.search(project, "visit")
    assert result == search(study, "visit")
    assert texts(result) == ["visited", "Visits", "Visit", "visit", "visit", "visiting",
                             "visit", "visit"]
    assert "visitor" not in " ".join(texts(result)).lower()
    assert result.interviewer_hits == 1  # "Did you visit the home?" is the interviewer's
    assert all(hit.speaker in ("Anna", "Ben") for hit in result)
    with_interviewer = search(study, "visit", interviewer=True)
    assert len(with_interviewer) == len(result) + 1 and with_interviewer.interviewer_hits == 0
    assert with_interviewer.hits[0].speaker == "INTERVIEWER"


def test_a_phrase_matches_across_punctuation_and_a_hyphen(study: Path) -> None:
    result = search(study, "home visit")
    assert texts(result) == ["home. Visit", "home-visit", "home visit", "home, visit"]
    assert search(study, "visit home").hits == ()


def test_a_phrase_never_matches_across_two_turns(study: Path) -> None:
    # "And the doorstep?" ends the interviewer's turn, "The doorstep is" starts Ben's
    assert search(study, "doorstep the doorstep", interviewer=True).hits == ()
    assert search(study, "doorstep the doorstep", match="exact", interviewer=True).hits == ()
    assert search(study, r"doorstep\W+the", match="regex", interviewer=True).hits == ()
    # ^ and $ are a segment's edges
    assert texts(search(study, r"^the\b", match="regex")) == ["The", "The"]


def test_or_separates_alternatives_and_each_hit_names_its_term(study: Path) -> None:
    result = search(study, "doorstep OR cup of tea OR home visit")
    assert [(h.text, h.term) for h in result] == [
        ("home. Visit", "home visit"), ("home-visit", "home visit"),
        ("home visit", "home visit"), ("Cup of TEA", "cup of tea"),
        ("doorstep", "doorstep"), ("home, visit", "home visit")]
    assert result.terms == ("doorstep", "cup of tea", "home visit")
    # a lower-case "or" is a word of the phrase
    assert search(study, "tea or coffee").hits == ()
    counts = result.counts("term").set_index("term")["hits"].to_dict()
    assert counts == {"home visit": 4, "cup of tea": 1, "doorstep": 1}


@pytest.mark.parametrize("match", ["words", "exact"])
def test_alternatives_that_overlap_are_each_a_hit(tmp_path: Path, match: str) -> None:
    # One regular expression of all alternatives found "home visit" and went on after it,
    # so "visit day" in "home visit day" was lost; an alternative inside a longer hit
    # ("visit" in "home visit") is still no hit of its own.
    path = tmp_path / "overlap.qualcode"
    with Project.create(path, codebook=CODEBOOK) as project:
        project.add_corpus(make_corpus({
            "d1": "Anna: The home visit day was long. Home visit days, every week.",
            "d2": "Ben: It was a visit day, then a home visit."}))
    found = search(path, "home visit OR visit day", match=match)
    assert [(h.document, h.text, h.term) for h in found] == [
        ("d1", "home visit", "home visit"), ("d1", "visit day", "visit day"),
        ("d1", "Home visit", "home visit"),
        *([("d1", "visit days", "visit day")] if match == "words" else []),
        ("d2", "visit day", "visit day"), ("d2", "home visit", "home visit")]
    assert [h.text for h in search(path, "home visit OR visit", match=match)] == [
        "home visit", "Home visit", "visit", "home visit"]
    # both overlapping hits are coded
    report = found.code(path, "visits", by="anna")
    assert report.added == len(found)
    # two alternatives matching the same words: the hit names the one written first
    same = search(path, '"visit day" OR "VISIT DAY"', match=match)
    assert {h.term for h in same} == {"visit day"}


def test_exact_is_literal_text_ignoring_case_at_word_edges(study: Path) -> None:
    assert texts(search(study, "tea", match="exact")) == ["Tea", "TEA"]  # not "team"
    assert texts(search(study, "cup of tea", match="exact")) == ["Cup of TEA"]
    assert texts(search(study, "visit", match="exact")) == ["Visit", "visit", "visit",
                                                            "visit", "visit"]
    assert texts(search(study, "it's", match="exact")) == ["it’s"]  # either apostrophe
    assert texts(search(study, '"home visit" OR <no>', match="exact")) == [
        "home visit", "<no>"]


def test_regex_is_a_python_regular_expression_ignoring_case(study: Path) -> None:
    assert texts(search(study, r"visit(?:or|ed)\b", match="regex")) == ["visited", "visitor"]
    assert texts(search(study, r"(?-i:TEA)", match="regex")) == ["TEA"]
    assert search(study, r"x*", match="regex").hits == ()  # empty matches are no hits


def test_a_bad_regex_is_an_error_naming_the_pattern_and_the_problem(study: Path) -> None:
    with pytest.raises(ParameterError, match=re.escape(
            "The regular expression 'visit(' is not valid: missing ) at position 6")):
        search(study, "visit(", match="regex")


def test_a_regex_that_would_run_for_ever_ends(study: Path, monkeypatch) -> None:
    # Python's re backtracks for ever on nested repeats, and Ctrl-C cannot stop it.
    import qualcode.text_search as module

    turn = "word " * 30 + "!"  # with re, still running after 20 s (Ctrl-C cannot stop it)
    assert list(module._matcher(r"(\w+\s*)*$", "regex").find([turn])) == []
    # and one that still runs too long is stopped with a clear error

    monkeypatch.setattr(module, "REGEX_SECONDS", 1e-9)
    with pytest.raises(ParameterError, match=r"took more than 1e-09 s on one segment .*"
                                             r"Simplify it"):
        search(study, r"(\w+\s*)*$", match="regex")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"match": "fuzzy"}, "'match' parameter of search() must be 'words', 'exact' or 'regex'"),
    ({"context": -1}, "'context' parameter of search()"),
    ({"query": "  "}, "'query' parameter of search()"),
    ({"query": "visit OR"}, "an OR without words on both sides"),
    # a doubled OR is not the phrase "OR doorstep" (which would silently match nothing)
    ({"query": "visit OR OR doorstep"}, "an OR without words on both sides"),
    ({"query": "OR"}, "an OR without words on both sides"),
    ({"query": '""'}, "nothing between its quotes"),
    ({"query": 'visit OR " "'}, "nothing between its quotes"),
    ({"query": "?!"}, "no words to match in '?!'"),
    ({"speakers": "Annie"}, "No turn of speaker 'Annie' in the documents searched. Did you "
                            "mean 'Anna'?"),
    ({"attributes": {"room": "x"}}, "No document has the attribute 'room'"),
    ({"attributes": {"setting": "Nowhere"}}, "No document has setting = 'Nowhere'"),
    ({"status": "approved"}, "'status' parameter of search()"),
])
def test_bad_parameters_are_one_sentence(study: Path, kwargs, message: str) -> None:
    kwargs = {"query": "visit", **kwargs}
    with pytest.raises(ParameterError, match=re.escape(message)):
        search(study, kwargs.pop("query"), **kwargs)


def test_unknown_documents_codes_and_coders_are_not_found(study: Path) -> None:
    with pytest.raises(NotFoundError, match="d9"):
        search(study, "visit", documents="d9")
    with pytest.raises(NotFoundError, match="Did you mean 'attendance'"):
        search(study, "visit", codes="atendance")
    with pytest.raises(NotFoundError, match="No codings by coder 'zoe'"):
        search(study, "visit", coder="zoe")


# -- filters ----------------------------------------------------------------------------------
def test_each_filter_narrows_the_segments_searched(study: Path) -> None:
    everything = search(study, "visit OR doorstep OR tea")
    assert {h.document for h in everything} == {"d1", "d2"}
    assert {h.document for h in search(study, "visit", documents=["d2"])} == {"d2"}
    assert {h.speaker for h in search(study, "visit", speakers="ben")} == {"Ben"}
    oakview = search(study, "visit OR doorstep", attributes={"setting": "oakview"})
    assert {h.document for h in oakview} == {"d1"} and oakview.documents == ("d1",)
    assert oakview.filters == {"setting": "oakview"}
    # naming the interviewer searches their turns
    asked = search(study, "doorstep", speakers="INTERVIEWER")
    assert [h.speaker for h in asked] == ["INTERVIEWER"]


def test_codes_keep_segments_coded_with_them_by_status_and_coder(study: Path) -> None:
    tea = search(study, "tea OR always", match="exact", codes="tea")
    assert texts(tea) == ["Tea", "TEA", "always"]  # the whole segment the coding overlaps
    assert all(h.codes == ("tea",) for h in tea)
    assert tea.filters == {"status": "accepted", "codes": "tea"}
    # the theme brings its codes; the attendance coding is only suggested
    assert texts(search(study, "tea OR visit", codes="visits")) == ["Tea", "TEA"]
    suggested = search(study, "visit", codes="visits", status="suggested")
    assert texts(suggested) == ["visiting", "visit", "visit"]
    assert {h.codes for h in suggested} == {("attendance",)}
    assert texts(search(study, "visit", coder="rules", status="all")) == texts(suggested)
    assert search(study, "visit", coder="alice").hits == ()  # alice coded only the tea turn


# -- offsets and context ----------------------------------------------------------------------
def test_offsets_are_the_document_text_and_context_stays_in_the_segment(study: Path) -> None:
    result = search(study, "visit OR tea OR doorstep", context=12, interviewer=True)
    for hit in result:
        assert TEXTS[hit.document][hit.start : hit.end] == hit.text
        segment = TEXTS[hit.document][hit.segment_start : hit.segment_end]
        assert hit.left.strip() in segment and hit.right.strip() in segment
        assert len(hit.left) <= 12 and len(hit.right) <= 12
    first = result.hits[0]
    assert (first.left, first.text, first.right) == ("Did you ", "visit", " the home?")
    visited = result.hits[1]
    assert (visited.left, visited.right) == ("We ", " on Monday.")  # no word cut in half
    assert all(h.left == h.right == "" for h in search(study, "visit", context=0))


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from qualcode.api import ingest, init
    from qualcode.codings_table import import_codings

    path = tmp_path_factory.mktemp("bundled") / "study.qualcode"
    with init(path, codebook=BUNDLED_CODEBOOK) as project:
        ingest(project, BUNDLED / "transcripts", cases=BUNDLED / "cases.csv")
        import_codings(project, BUNDLED / "codings.csv", coder="reference")
    return path


@pytest.mark.parametrize(("query", "match", "pattern"), [
    ("the", "words", r"\bthe\b"),
    ("visit", "words", r"\bvisit(?:s|ed|ing)?\b"),
    ("the", "exact", r"\bthe\b"),
    (r"\bhome\w*", "regex", r"\bhome\w*"),
])
def test_every_hit_on_the_bundled_study_is_its_document_slice(
        bundled: Path, query: str, match: str, pattern: str) -> None:
    result = search(bundled, query, match=match, interviewer=True)
    with Project.open(bundled) as project:
        documents = {d.id: d.text for d in project.documents}
        expected = sum(len(re.findall(pattern, s.text, re.IGNORECASE))
                       for s in project.segments())
    assert len(result) == expected > 100
    for hit in result:
        assert documents[hit.document][hit.start : hit.end] == hit.text
        assert hit.segment_start <= hit.start < hit.end <= hit.segment_end


def test_bundled_study_counts_by_document_code_and_attribute(bundled: Path) -> None:
    result = search(bundled, "bailiffs OR social services")
    assert "visitor" not in {h.text.lower() for h in search(bundled, "visit")}
    assert {h.term for h in result} == {"bailiffs", "social services"}
    by_document = result.counts("document")
    assert len(by_document) == 23 and by_document["hits"].sum() == len(result)
    by_code = result.counts("code").set_index("code")
    assert by_code.loc["mistaken_identity", "hits"] >= 5
    assert by_code.loc["mistaken_identity", "name"] == "Mistaken identity"
    by_setting = result.counts("setting")
    assert by_setting["hits"].sum() == len(result)
    with pytest.raises(ParameterError, match="or a case attribute"):
        result.counts("colour")


# -- displays and files -----------------------------------------------------------------------
def test_html_highlights_the_hit_escapes_user_text_and_caps_rows(study: Path) -> None:
    result = search(study, "<no>", match="exact")
    page = result.to_html()
    assert '<mark class="qc-hit"' in page and "&lt;no&gt;</mark>" in page
    assert "<no>" not in page and "&amp; left." in page
    many = search(study, "visit")
    capped = many.to_html(max_rows=3)
    assert capped.count("<tr data-document") == 3 and "… and 5 more" in capped
    assert many._repr_html_().count("<tr data-document") == 8
    assert "8 hits in 4 segments of 2 documents (3 searched)" in str(many)


def test_write_csv_round_trips_and_xlsx_has_hits_counts_and_about(study: Path,
                                                                   tmp_path: Path) -> None:
    import pandas as pd
    from openpyxl import load_workbook

    result = search(study, "visit OR <no>")
    target = result.write(tmp_path / "hits.csv")
    back = pd.read_csv(target, keep_default_na=False)
    expected = result.to_frame()
    assert list(back.columns) == list(expected.columns)
    assert back.astype(str).values.tolist() == expected.astype(str).values.tolist()
    with pytest.raises(ParameterError, match="already exists"):
        result.write(target)
    result.write(target, overwrite=True)
    workbook = load_workbook(result.write(tmp_path / "hits.xlsx"))
    assert workbook.sheetnames == ["Hits", "Counts", "About"]
    assert workbook["Hits"].max_row == len(result) + 1
    with pytest.raises(ParameterError, match=r"written as \.csv or \.xlsx"):
        result.write(tmp_path / "hits.pdf")


# -- coding the hits --------------------------------------------------------------------------
def test_coding_every_hit_once_with_the_query_as_reason(study: Path) -> None:
    result = search(study, "visit")
    report = result.code(study, "Poor attendance", by="anna", status="suggested")
    assert (report.code, report.added, report.existing) == ("attendance", 8, 0)
    with Project.open(study) as project:
        stored = project.codings(coder="anna")
        assert len(stored) == 8 and {c.status for c in stored} == {"suggested"}
        assert {(c.document_id, c.start, c.end) for c in stored} == {
            (h.document, h.start, h.end) for h in result}
        assert stored[0].method == "search"
        assert stored[0].reason == 'matched "visited" (text search, words: visit)'
    again = result.code(study, "attendance", by="anna", status="suggested")
    assert (again.added, again.existing) == (0, 8)
    assert str(again) == ("Coded 8 hits as 'attendance' (by anna, suggested): 0 added; "
                          "8 were there already.")


def test_coding_segments_holding_hits(study: Path) -> None:
    result = search(study, "visit")
    report = result.code(study, "visits", by="anna", unit="segment")
    assert (report.added, report.existing) == (4, 0)
    with Project.open(study) as project:
        stored = project.codings(coder="anna")
        assert {c.status for c in stored} == {"accepted"}
        assert {(c.start, c.end) for c in stored} == {
            (h.segment_start, h.segment_end) for h in result}
        assert sorted(c.reason.removesuffix(" (text search, words: visit)")
                      for c in stored) == ['matched "Visit"', 'matched "visit"',
                                           'matched "visited"; "Visits"',
                                           'matched "visiting"; "visit"']


def test_a_hit_inside_the_coders_coding_of_that_code_is_there_already(study: Path) -> None:
    # alice coded "Cup of TEA, always." as tea: her "TEA" is coded, her "Tea?" is not
    result = search(study, "tea")
    assert texts(result) == ["Tea", "TEA"]
    report = result.code(study, "tea", by="alice")
    assert (report.added, report.existing) == (1, 1)
    assert result.code(study, "tea", by="anna").added == 2  # another coder's are not hers
    # segments coded first: their hits are in them, so coding the hits adds nothing
    visits = search(study, "visit")
    assert visits.code(study, "visits", by="ben", unit="segment").added == 4
    again = visits.code(study, "visits", by="ben", status="suggested")
    assert (again.added, again.existing) == (0, 8)
    with Project.open(study) as project:
        assert len(project.codings(coder="ben")) == 4
        assert [(c.document_id, project.documents[c.document_id].text[c.start:c.end])
                for c in project.codings(coder="alice")] == [
            ("d1", "Cup of TEA, always."), ("d1", "Tea")]


def test_coding_refuses_unknown_codes_statuses_and_other_projects(study: Path,
                                                                  tmp_path: Path,
                                                                  monkeypatch) -> None:
    result = search(study, "visit")
    with pytest.raises(NotFoundError, match="Did you mean 'attendance'"):
        result.code(study, "atendance", by="anna")
    with pytest.raises(ParameterError,
                       match=re.escape("'status' parameter of SearchResult.code()")):
        result.code(study, "attendance", by="anna", status="rejected")
    with pytest.raises(ParameterError, match="'unit' parameter"):
        result.code(study, "attendance", by="anna", unit="document")
    monkeypatch.delenv("QUALCODE_CODER", raising=False)
    with pytest.raises(ParameterError, match="pass by='your name' \\(--by"):
        result.code(study, "attendance")
    other = tmp_path / "other.qualcode"
    with Project.create(other, codebook=CODEBOOK) as project:
        project.add_corpus(make_corpus({**TEXTS, "d1": TEXTS["d1"].replace("visited", "revisit")}))
    with pytest.raises(ParameterError, match="another project or an earlier version"):
        result.code(other, "attendance", by="anna")
    with Project.open(study) as project:
        assert not project.codings(coder="anna")  # nothing stored by the refusals


# -- the command line -------------------------------------------------------------------------


def test_cli_prints_keyword_in_context_aligned_on_the_hit(study: Path, capsys) -> None:
    code, out, err = run(capsys, "search", str(study), "home visit", "--context", "20")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "Search 'home visit' (words, on lemmas)"
    rows = [line for line in lines if line.startswith(("d1", "d2"))]
    assert len(rows) == 4
    assert len({row.index(hit) for row, hit in zip(
        rows, ["home. Visit", "home-visit", "home visit", "home, visit"], strict=True)}) == 1
    assert "4 hits in 3 segments of 2 documents (3 searched)." in out


def test_cli_json_out_and_code_as(study: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / "hits.csv"
    code, out, err = run(capsys, "search", str(study), "visit", "--where", "setting=Oakview",
                         "--out", str(target), "--code-as", "attendance", "--by", "anna",
                         "--status", "suggested", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["count"] == 5 and data["documents_searched"] == 1
    assert data["filters"] == {"setting": "Oakview"}
    start, end = segment_span("d1", "visited")
    assert data["hits"][0] == {"document": "d1", "segment": 1, "speaker": "Anna",
                               "start": start, "end": end, "left": "We ", "text": "visited",
                               "right": " on Monday. Visits are hard.", "term": "visit",
                               "codes": []}
    assert data["coded"]["added"] == 5 and data["coded"]["status"] == "suggested"
    assert data["path"] == str(target) and len(target.read_text().splitlines()) == 6
    code, out, err = run(capsys, "search", str(study), "visit", "--where", "setting=Oakview",
                         "--code-as", "attendance", "--by", "anna", "--status", "suggested")
    assert code == 0, err
    assert "Coded 5 hits as 'attendance' (by anna, suggested): 0 added; 5 were there " \
           "already." in out


@pytest.mark.parametrize(("args", "exit_code", "message"), [
    (["visit(", "--match", "regex"], 2, "The regular expression 'visit(' is not valid"),
    (["visit", "--code-as", "atendance", "--by", "anna"], 4, "Did you mean 'attendance'"),
    (["visit", "--by", "anna"], 2, "--by goes with --code-as CODE"),
    (["visit", "--where", "setting"], 2, "--where takes NAME=VALUE"),
    (["visit", "--coding-status", "all"], 2, "--coding-status goes with --code or --coder"),
    (["visit", "--coding-status", "maybe", "--code", "tea"], 2, "'status' parameter"),
    (["visit", "--out", "{tmp}/hits.txt"], 2, "Cannot tell the format of hits.txt"),
    (["visit", "--out", "{tmp}/hits.json"], 2, "(--json prints every hit as JSON"),
])
def test_cli_errors_are_one_line_with_exit_codes(study: Path, tmp_path: Path, capsys, args,
                                                 exit_code: int, message: str) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, _, err = run(capsys, "search", str(study), *args)
    assert code == exit_code
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_cli_refuses_an_existing_out_before_coding(study: Path, tmp_path: Path,
                                                   capsys) -> None:
    target = tmp_path / "hits.csv"
    target.write_text("keep me")
    code, _, err = run(capsys, "search", str(study), "visit", "--out", str(target),
                       "--code-as", "attendance", "--by", "anna")
    assert code == 2 and "already exists" in err
    assert target.read_text() == "keep me"
    with Project.open(study) as project:
        assert not project.codings(coder="anna")
