"""Saturation with a cases table (``cases=`` / ``--cases``): ids match documents as ingest
matches them (file names by their stem, another letter case when only one document fits);
a table that matches no document is an error that shows both sides; rows that match
nothing are listed with their lines."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from builders import make_corpus

from qualcode.analysis.saturation import load_incidence, saturation
from qualcode.errors import InputError, TableError
from qualcode.model import Coding
from qualcode.project import Project

CODES = {"P01": ["door", "tea"], "P02": ["door", "pairs"], "P03": ["tea", "estate"],
         "P04": ["door"], "P05": ["pairs", "tea"]}


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cases") / "study.qualcode"
    texts = {doc: f"INTERVIEWER: Tell me.\n{doc}: We knocked and waited at the door."
             for doc in CODES}
    with Project.create(path) as project:
        project.add_corpus(make_corpus(texts))
        project.add_codings([Coding(doc, 22, 30, code, "alice")
                             for doc, codes in CODES.items() for code in codes])
    return path


def cases_file(folder: Path, rows: str) -> Path:
    path = folder / "cases.csv"
    path.write_text("document,date\n" + rows, encoding="utf-8")
    return path


def test_file_names_and_other_letter_cases_match_their_documents(study, tmp_path):
    cases = cases_file(tmp_path, "P01.docx,2021-03-05\np02,2021-03-01\nP03.DOCX,2021-03-09\n"
                                 "p04.txt,2021-03-02\nP05,2021-03-07\n")
    incidence = load_incidence(study, cases=cases)
    assert incidence.order == "date"
    assert incidence.documents == ("P02", "P04", "P01", "P05", "P03")
    assert not any("cases" in note for note in incidence.notes)


def test_a_cases_table_that_matches_no_document_is_an_error_showing_both_sides(
        study, tmp_path):
    cases = cases_file(tmp_path, "INT-1,2021-03-05\nINT-2,2021-03-01\nINT-3,2021-03-09\n"
                                 "INT-4,2021-03-02\n")
    with pytest.raises(TableError) as info:
        saturation(study, cases=cases, permutations=0)
    error = info.value
    assert error.path == str(cases) and error.field == "document"
    message = str(error)
    assert str(cases) in message
    assert "INT-1, INT-2, INT-3" in message and "INT-4" not in message  # a few of its ids
    assert "P01, P02, P03" in message  # ... and a few of the project's
    assert "none of the 4 ids" in message and "5 documents" in message
    assert "must be document ids" in message and "fix them" in message  # what to do


def test_a_dataframe_that_matches_nothing_is_an_error_too(study):
    frame = pd.DataFrame({"document": ["x1", "x2"], "date": ["2021-01-01", "2021-01-02"]})
    with pytest.raises(TableError, match=r"cases table .*none of the 2 ids.*x1, x2.*P01"):
        load_incidence(study, cases=frame)


def test_rows_that_match_nothing_are_listed_with_their_lines(study, tmp_path):
    cases = cases_file(tmp_path, "P01,2021-03-05\nP02,2021-03-01\nP09,2021-03-04\n"
                                 "P03,2021-03-09\nQ7,2021-03-02\np04,2021-03-03\n"
                                 "P05,2021-03-07\n")
    incidence = load_incidence(study, cases=cases)
    note = next(n for n in incidence.notes if "match no document" in n)
    assert "cases.csv" in note and "P09 (line 4)" in note and "Q7 (line 6)" in note
    assert incidence.documents == ("P02", "P04", "P01", "P05", "P03")


def test_documents_left_without_a_date_are_said_and_ordering_by_date_still_needs_one(
        study, tmp_path):
    cases = cases_file(tmp_path, "P01,2021-03-05\nP02,2021-03-01\nP03,2021-03-09\n"
                                 "X1,2021-03-02\n")
    incidence = load_incidence(study, cases=cases, order="given")
    notes = " ".join(incidence.notes)
    assert "X1 (line 5)" in notes
    assert "2 interview(s) have no row in the cases table cases.csv (P04, P05)" in notes
    assert "(P04, P05); they have no date." in notes
    assert incidence.dates is None  # dates are reported only when every interview has one
    with pytest.raises(InputError, match="No date for 2 of 5 interviews"):
        load_incidence(study, cases=cases)


def test_an_id_two_documents_fold_to_is_not_guessed(tmp_path):
    frame = pd.DataFrame({"document": ["ab", "Cd"], "date": ["2021-01-01", "2021-01-02"]})
    incidence = load_incidence({"AB": ["x"], "Ab": ["y"], "cd": ["z"]}, cases=frame,
                               order="given")
    notes = " ".join(incidence.notes)
    assert "1 id(s) in the cases table match no document and are not used: ab." in notes
    assert "2 interview(s) have no row in the cases table (AB, Ab)" in notes


def test_cli_says_what_to_do_when_no_id_matches(study, tmp_path, capsys):
    import qualcode.cli.saturation  # noqa: F401
    from qualcode.cli import main

    cases = cases_file(tmp_path, "INT-1,2021-03-05\nINT-2,2021-03-01\n")
    with pytest.raises(SystemExit) as info:
        main(["saturation", str(study), "--cases", str(cases), "--permutations", "0"])
    assert info.value.code == 3
    err = capsys.readouterr().err
    assert "cases.csv" in err and "INT-1, INT-2" in err and "P01" in err
