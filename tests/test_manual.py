"""Coding by hand: by quote or offsets, errors that say where, memos."""

from __future__ import annotations

import pytest
from builders import make_corpus

from qualcode.errors import NotFoundError, ParameterError
from qualcode.manual import CODER_VARIABLE, code, code_quote, code_span, find_quote, memo
from qualcode.model import Coding


@pytest.fixture(autouse=True)
def no_coder_variable(monkeypatch):
    monkeypatch.delenv(CODER_VARIABLE, raising=False)


@pytest.fixture
def repeated(project):
    project.add_corpus(make_corpus({
        "d3": "INTERVIEWER: Again?\nCara: We went round. Then we went round again.",
    }))
    return project


def test_code_a_quote(project):
    coding = code_quote(project, "he was ABSENT   all week", "Attendance", coder="alice")
    doc = project.documents["d1"]
    assert doc.text[coding.start : coding.end] == "He was absent all week"
    assert (coding.code_id, coding.coder, coding.method, coding.status) == (
        "attendance", "alice", "manual", "accepted")
    assert coding.id is not None and project.coding(coding.id) == coding


def test_quote_with_an_ellipsis_and_curly_quotes(project):
    coding = code_quote(project, "Mum put … kettle", "tea", coder="alice")
    assert project.text_of(coding) == "Mum put the kettle"


def test_code_by_offsets_and_dispatch(project):
    text = project.documents["d2"].text
    start = text.index("attendance")
    by_offsets = code(project, start, "attendance", document="d2", end=start + 10,
                      coder="bob")
    assert project.text_of(by_offsets) == "attendance"
    by_quote = code(project, "because of attendance", "attendance", coder="bob")
    assert project.text_of(by_quote) == "because of attendance"
    with pytest.raises(ParameterError, match="needs document= and end="):
        code(project, 3, "attendance", coder="bob")
    with pytest.raises(ParameterError, match="either the passage's words"):
        code(project, "attendance", "attendance", end=4, coder="bob")
    with pytest.raises(ParameterError, match="'quote_or_start' parameter of code"):
        code(project, 2.5, "attendance", coder="bob")


def test_coding_twice_stores_once_and_reaccepts(project):
    first = code_quote(project, "kettle", "tea", coder="alice")
    project.reject(first.id, by="alice")
    again = code_quote(project, "kettle", "tea", coder="alice")
    assert again.id == first.id and again.status == "accepted"
    assert len(project.codings(coder="alice")) == 1


def test_quote_not_found_says_how_close(project):
    with pytest.raises(NotFoundError) as info:
        code_quote(project, "He was absent all month", "attendance", document="d1",
                   coder="alice")
    message = str(info.value)
    assert "is not in document 'd1'" in message
    assert "first 4 of 5 words occur in 'd1'" in message and "'month'" in message
    with pytest.raises(NotFoundError, match=r"the project's 2 documents.*Not even its first"):
        code_quote(project, "zebra crossings everywhere", "attendance", coder="alice")


def test_ambiguous_quote_lists_every_place(repeated):
    with pytest.raises(ParameterError) as info:
        code_quote(repeated, "went round", "attendance", coder="alice")
    message = str(info.value)
    assert "occurs 2 times in the project's 3 documents" in message
    assert ("1. 'd3' characters 29-39, Cara: …INTERVIEWER: Again? Cara: We [went round]. "
            "Then we went round again.…; 2. 'd3' characters 49-59, Cara:") in message
    assert "occurrence=1..2" in message
    second = code_quote(repeated, "went round", "attendance", coder="alice", occurrence=2)
    assert second.start == 49
    with pytest.raises(ParameterError, match="from 1 to 2"):
        code_quote(repeated, "went round", "attendance", coder="alice", occurrence=3)
    # an exact match is preferred to matches that differ in case
    assert code_quote(repeated, "we went round", "attendance", coder="alice").start == 46


def test_find_quote(repeated):
    hits = find_quote(repeated, "WE WENT ROUND", document="d3")
    assert [(h.start, h.end, h.speaker) for h in hits] == [(26, 39, "Cara"), (46, 59, "Cara")]
    assert find_quote(repeated, "kettle", document=["d2"]) == []
    with pytest.raises(ParameterError, match="empty"):
        find_quote(repeated, "  ")
    with pytest.raises(NotFoundError, match="d9"):
        find_quote(repeated, "x", document="d9")


def test_unknown_code_and_new_code(project):
    with pytest.raises(NotFoundError, match="Did you mean 'attendance'"):
        code_quote(project, "kettle", "atendance", coder="alice")
    coding = code_quote(project, "kettle", "Kitchen talk!", coder="alice", new_code=True)
    assert coding.code_id == "kitchen_talk"
    assert project.codebook.get("kitchen_talk").name == "Kitchen talk!"
    # a name whose slug is taken gets a fresh id instead of replacing the code
    other = code_quote(project, "Mum", "tea?", coder="alice", new_code=True)
    assert other.code_id == "tea_2" and project.codebook.get("tea").name == "Hospitality"


def test_the_coder_comes_from_the_argument_or_the_environment(project, monkeypatch):
    with pytest.raises(ParameterError, match="QUALCODE_CODER"):
        code_quote(project, "kettle", "tea")
    monkeypatch.setenv(CODER_VARIABLE, "carol")
    assert code_quote(project, "kettle", "tea").coder == "carol"


@pytest.mark.parametrize(("start", "end", "message"), [
    (5, 5, "at least one character"),
    (-1, 4, "must lie inside"),
    (0, 10_000, "must lie inside"),
    ("0", 4, "'start' parameter"),
])
def test_bad_offsets(project, start, end, message):
    with pytest.raises(ParameterError, match=message):
        code_span(project, "d1", start, end, "tea", coder="alice")


def test_memos(project, monkeypatch):
    first = memo(project, "Kettles everywhere.", code="Hospitality", author="alice")
    monkeypatch.setenv(CODER_VARIABLE, "bob")
    second = memo(project, "Compare d1 and d2.", document="d2")
    memos = project.memos()
    assert [(m.id, m.code_id, m.document_id, m.author) for m in memos] == [
        (first, "tea", None, "alice"), (second, None, "d2", "bob")]


def test_a_memo_on_the_coding_that_project_code_returned(project):
    # project.code returns the stored Coding; a memo takes it as it is (its id was once
    # needed, and the Coding itself failed deep inside SQLite).
    coding = project.code("he was ABSENT all week", "Attendance", coder="alice")
    assert project.coding(coding.id) == coding
    memo_id = project.memo("Absent: what the school counts.", coding=coding, author="alice")
    assert [(m.id, m.coding_id) for m in project.memos()] == [(memo_id, coding.id)]
    with pytest.raises(ParameterError, match="not stored in a project"):
        project.memo("Loose.", coding=Coding("d1", 0, 5, "attendance", "alice"))


def test_whole_words_are_preferred(project):
    project.add_corpus(make_corpus({"d4": "Cara: The theme of them. Then the end."}))
    hits = find_quote(project, "the", document="d4")
    assert [(h.start, h.end) for h in hits] == [(30, 33)]  # not in "theme" or "them"
    inside = find_quote(project, "hem", document="d4")
    assert [(h.start, h.end) for h in inside] == [(11, 14), (20, 23)]  # none whole: all


def test_docstring_examples_run_on_the_bundled_study(tmp_path):
    """The examples in the module docstring and Project.code quote words of the study."""
    import doctest

    from conftest import BUNDLED, BUNDLED_CODEBOOK

    from qualcode import manual
    from qualcode.api import ingest, init
    from qualcode.project import Project

    project = init(tmp_path / "study.qualcode", codebook=BUNDLED_CODEBOOK)
    ingest(project, BUNDLED / "transcripts" / "AP03_marcus.txt", progress=False)
    for docstring in (manual.__doc__, Project.code.__doc__):
        namespace = {"project": project}
        for example in doctest.DocTestParser().get_examples(docstring):
            exec(example.source, namespace)  # raises if a quote is not in the study
    assert {project.text_of(c) for c in project.codings(coder="alice")} == {
        "I'd go in the morning and not after four",
        "And something just didn't feel right. I can't tell you what it was. The hairs on "
        "my neck.",
    }
    project.close()


def test_a_missing_coder_names_the_function_called(project):
    with pytest.raises(ParameterError, match=r"^code\(\) needs to know who is coding"):
        code(project, "he was absent", "attendance")
    with pytest.raises(ParameterError, match=r"^code\(\) needs to know who is coding"):
        project.code("he was absent", "attendance")
