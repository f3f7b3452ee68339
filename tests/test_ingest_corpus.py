"""load_corpus: folders, the cases table, the report, and the real transcripts."""

from __future__ import annotations

import gc
import re
from pathlib import Path

import pytest

from qualcode.errors import ParameterError, ReaderError, TableError
from qualcode.ingest import IngestReport, LoadedCorpus, load_corpus
from qualcode.model import Corpus

ROOT = Path(__file__).resolve().parents[1]
SHARED_TRANSCRIPTS = (Path(__file__).resolve().parents[2] / "shared" / "data"
                      / "swj2022-usability" / "transcripts")
BUNDLED = ROOT / "corpora" / "ap-home-visits"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def study(tmp_path: Path) -> Path:
    folder = tmp_path / "transcripts"
    write(folder / "AP10_gareth.txt", "INTERVIEWER: Why?\n\nGareth, Templeton: Attendance. Mostly.")
    write(folder / "AP2_emma.txt", "INTERVIEWER: Why?\n\nEmma, Broadtown: A hunch.")
    write(folder / "sub" / "AP03_marcus.md", "INTERVIEWER: Why?\n\nMarcus, Oakview: Money.")
    write(folder / ".hidden.txt", "Q: secret")
    write(folder / ".git" / "notes.txt", "Q: secret")
    write(folder / "~$AP2_emma.txt", "lock file")
    write(folder / "audio.mp3", "not really audio")
    write(folder / "codings.csv", "document,code,text\nAP2_emma,x,A hunch.\n")
    return folder


def test_a_folder_reads_in_natural_order_and_reports_what_it_skipped(study):
    corpus = load_corpus(study)
    assert isinstance(corpus, LoadedCorpus) and isinstance(corpus, Corpus)
    assert [d.id for d in corpus.documents] == ["AP2_emma", "AP10_gareth", "AP03_marcus"]
    assert [(s.document_id, s.speaker, s.index) for s in corpus.segments][:2] == [
        ("AP2_emma", "INTERVIEWER", 0), ("AP2_emma", "Emma", 1),
    ]
    report = corpus.report
    assert [p.name for p in report.files_read] == ["AP2_emma.txt", "AP10_gareth.txt",
                                                   "AP03_marcus.md"]
    assert {(s.path.name, s.reason) for s in report.skipped} == {
        ("audio.mp3", "unsupported type (.mp3)"),
        ("codings.csv", "a table: pass text_column to read survey answers"),
    }
    assert "audio.mp3 (unsupported type (.mp3))" in [str(s).split("/")[-1]
                                                     for s in report.skipped]
    assert report.to_dict()["skipped"][0].keys() == {"path", "reason"}
    assert corpus.corpus == Corpus(corpus.documents, corpus.segments)
    assert corpus.document("AP10_gareth").source.endswith("AP10_gareth.txt")


def test_one_encoding_for_every_file(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "a.txt").write_bytes("Q: Ça?".encode("cp1252"))
    assert load_corpus(tmp_path / "t").documents[0].text == "Q: Ça?"
    assert load_corpus(tmp_path / "t", encoding="latin-1").documents[0].text == "Q: Ça?"
    with pytest.raises(ReaderError, match="not valid utf-8"):
        load_corpus(tmp_path / "t", encoding="utf-8")


def test_a_relative_folder_reads_the_same_files_in_the_same_order(study, monkeypatch):
    absolute = load_corpus(study)
    monkeypatch.chdir(study.parent)
    relative = load_corpus(Path(study.name))
    assert [d.id for d in relative.documents] == [d.id for d in absolute.documents]
    assert relative.report.files_read == tuple(
        p.relative_to(study.parent) for p in absolute.report.files_read)
    monkeypatch.chdir(study)
    assert [p.name for p in load_corpus(".").report.files_read] == [
        "AP2_emma.txt", "AP10_gareth.txt", "AP03_marcus.md"]


def test_not_recursive_and_explicit_files(study):
    corpus = load_corpus(study, recursive=False)
    assert "AP03_marcus" not in [d.id for d in corpus.documents]
    corpus = load_corpus([study / "sub" / "AP03_marcus.md", str(study / "AP2_emma.txt")])
    assert [d.id for d in corpus.documents] == ["AP03_marcus", "AP2_emma"]


@pytest.mark.parametrize("unit", ["turns", "paragraphs", "sentences"])
def test_segment_units(study, unit):
    corpus = load_corpus(study / "AP10_gareth.txt", segment=unit)
    texts = [s.text for s in corpus.segments]
    expected = {"turns": ["Why?", "Attendance. Mostly."],
                "paragraphs": ["Why?", "Attendance. Mostly."],
                "sentences": ["Why?", "Attendance.", "Mostly."]}[unit]
    assert texts == expected
    assert {s.kind for s in corpus.segments} == {unit[:-1]}


def test_bad_paths_and_parameters(study, tmp_path):
    with pytest.raises(ReaderError, match="does not exist") as caught:
        load_corpus(tmp_path / "missing")
    assert caught.value.path == str(tmp_path / "missing")
    with pytest.raises(ReaderError, match=r"no reader for '.mp3'"):
        load_corpus(study / "audio.mp3")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReaderError, match=r"Found no transcripts.*folder is empty"):
        load_corpus(tmp_path / "empty")
    write(tmp_path / "only-audio" / "audio.mp3", "x")
    with pytest.raises(ReaderError, match=r"Found no transcripts.*Skipped: .*audio.mp3"):
        load_corpus(tmp_path / "only-audio")
    with pytest.raises(ParameterError, match="'segment' parameter"):
        load_corpus(study, segment="words")
    with pytest.raises(ParameterError, match="unknown reader option 'text_colum'"):
        load_corpus(study, text_colum="x")
    with pytest.raises(ParameterError, match="at least one"):
        load_corpus([])
    with pytest.raises(ParameterError, match="'unknown_cases' parameter"):
        load_corpus(study, unknown_cases="ignore")


def test_two_files_with_one_id_are_an_error(study):
    write(study / "other" / "AP2_emma.md", "Q: hi")
    with pytest.raises(ReaderError, match="Two documents would have the id 'AP2_emma'"):
        load_corpus(study)


def test_an_unreadable_file_stops_the_load(study):
    (study / "AP99_empty.txt").write_bytes(b"")
    with pytest.raises(ReaderError, match=r"AP99_empty.txt: The file is empty"):
        load_corpus(study)


def test_progress_is_called_for_each_file(study):
    calls = []
    load_corpus(study, progress=lambda path, i, n: calls.append((path.name, i, n)))
    assert calls == [("AP2_emma.txt", 0, 3), ("AP10_gareth.txt", 1, 3), ("AP03_marcus.md", 2, 3)]


def test_ingest_reports_each_file_then_the_store(study, tmp_path):
    from qualcode import api

    calls = []
    project = tmp_path / "p.qualcode"
    api.init(project).close()
    api.ingest(project, study, progress=lambda path, i, n: calls.append((path.name, i, n)))
    assert calls == [("AP2_emma.txt", 0, 3), ("AP10_gareth.txt", 1, 3),
                     ("AP03_marcus.md", 2, 3), ("p.qualcode", 3, 3)]


def test_ingest_shows_files_then_storing_as_steps_of_one_bar(study, tmp_path, monkeypatch):
    import contextlib

    from qualcode import api
    from qualcode.engine import progress as progress_module

    shown = []

    @contextlib.contextmanager
    def bar(progress, description, *, total=None, unit="items"):
        shown.append((progress, description, unit))
        yield lambda done, new_total: shown.append((done, new_total))

    monkeypatch.setattr(progress_module, "progress_reporter", bar)
    project = tmp_path / "p.qualcode"
    api.init(project).close()
    api.ingest(project, study)  # progress=True by default: a bar where someone watches
    assert shown == [(True, "Ingesting", "steps"), (0, 4), (1, 4), (2, 4), (3, 4)]
    shown.clear()
    api.ingest(project, study, progress=False, replace=True)
    assert shown[0] == (False, "Ingesting", "steps")


def test_ctrl_c_while_storing_leaves_the_project_as_it_was(study, tmp_path, monkeypatch):
    from qualcode import api
    from qualcode import project as project_module

    path = tmp_path / "p.qualcode"
    api.init(path).close()

    def interrupted(con, segments):  # the documents are in, the segments not yet
        raise KeyboardInterrupt

    monkeypatch.setattr(project_module, "insert_segment_rows", interrupted)
    with pytest.raises(KeyboardInterrupt):
        api.ingest(path, study, progress=False)
    monkeypatch.undo()
    with api.open_project(path) as project:
        assert len(project.documents) == 0 and len(project.segments()) == 0
    assert api.ingest(path, study, progress=False).added  # and it takes the corpus after


def test_the_garbage_collector_rests_while_a_corpus_loads(study):
    enabled_while_reading = []
    load_corpus(study, progress=lambda path, i, n: enabled_while_reading.append(gc.isenabled()))
    assert enabled_while_reading == [False, False, False]
    assert gc.isenabled()
    (study / "AP99_empty.txt").write_bytes(b"")
    with pytest.raises(ReaderError, match="The file is empty"):
        load_corpus(study)
    assert gc.isenabled()  # back on after an error too
    gc.disable()
    try:
        load_corpus(study / "AP2_emma.txt")
        assert not gc.isenabled()  # left off when the caller had turned it off
    finally:
        gc.enable()


# -- the cases table -------------------------------------------------------------------
def test_cases_add_attributes_and_report_documents_without_a_row(study, tmp_path):
    cases = write(tmp_path / "cases.csv",
                  "document,setting,role\nAP2_emma,Broadtown,TA\nAP10_gareth.txt,Templeton,\n")
    corpus = load_corpus(study, cases=cases)
    assert dict(corpus.document("AP2_emma").attributes) == {"setting": "Broadtown", "role": "TA"}
    assert dict(corpus.document("AP10_gareth").attributes) == {"setting": "Templeton"}
    assert corpus.report.documents_without_cases == ("AP03_marcus",)
    assert corpus.report.cases_file == cases


def test_cases_ids_typed_in_another_case_or_with_spaces_still_match(study, tmp_path):
    cases = write(tmp_path / "cases.csv",
                  "document,setting\nap2_EMMA,Broadtown\n  ap10_gareth.TXT ,Templeton\n")
    corpus = load_corpus(study, cases=cases)
    assert dict(corpus.document("AP2_emma").attributes) == {"setting": "Broadtown"}
    assert dict(corpus.document("AP10_gareth").attributes) == {"setting": "Templeton"}
    assert corpus.report.documents_without_cases == ("AP03_marcus",)


def test_an_id_that_folds_to_two_documents_matches_neither(tmp_path):
    write(tmp_path / "t" / "Ab.txt", "Q: hi")
    write(tmp_path / "t" / "aB.md", "Q: hi")
    cases = write(tmp_path / "cases.csv", "document,setting\nab,x\n")
    with pytest.raises(TableError, match="'ab' names no document"):
        load_corpus(tmp_path / "t", cases=cases)


def test_a_cases_row_for_an_unknown_document_names_its_line_and_close_matches(study, tmp_path):
    cases = write(tmp_path / "cases.csv",
                  "document,setting\nAP2_emma,Broadtown\n\nAP10_garth,Templeton\n")
    with pytest.raises(TableError) as caught:
        load_corpus(study, cases=cases)
    error = caught.value
    assert (error.path, error.line, error.field) == (str(cases), 4, "document")
    assert "'AP10_garth' names no document" in str(error)
    assert "Close matches: AP10_gareth" in str(error)
    assert str(error).startswith(f"{cases}, line 4")
    # reading a study in batches: unknown rows are reported instead
    corpus = load_corpus(study, cases=cases, unknown_cases="report")
    assert corpus.report.cases_without_documents == ("AP10_garth",)


@pytest.mark.parametrize(("table", "message", "line"), [
    ("participant,setting\nAP2_emma,x\n", "first column .'participant'. should hold", 1),
    ("id,setting\nAP2_emma,x\nAP2_emma,y\n", "second row here .the first is on line 2", 3),
    ("case,setting\n,x\n", "no document id", 2),
])
def test_bad_cases_tables(study, tmp_path, table, message, line):
    cases = write(tmp_path / "cases.csv", table)
    with pytest.raises(TableError, match=message) as caught:
        load_corpus(study, cases=cases)
    assert caught.value.line == line


def test_cases_id_column_by_name_and_xlsx(study, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["setting", "Transcript"])
    book.active.append(["Oakview", "AP03_marcus"])
    book.save(tmp_path / "cases.xlsx")
    corpus = load_corpus(study, cases=tmp_path / "cases.xlsx", case_id_column="transcript")
    assert corpus.document("AP03_marcus").attributes["setting"] == "Oakview"
    with pytest.raises(TableError, match="No column 'nope'"):
        load_corpus(study, cases=tmp_path / "cases.xlsx", case_id_column="nope")
    with pytest.raises(ReaderError, match="cases table does not exist"):
        load_corpus(study, cases=tmp_path / "missing.csv")


def test_cases_override_attributes_found_in_files(tmp_path):
    write(tmp_path / "t" / "a.md", "---\nsetting: Wrong\nwave: 1\n---\nQ: hi")
    write(tmp_path / "cases.csv", "file,setting\na,Right\n")
    corpus = load_corpus(tmp_path / "t", cases=tmp_path / "cases.csv")
    assert dict(corpus.document("a").attributes) == {"setting": "Right", "wave": "1"}


def test_a_cases_file_inside_the_folder_is_not_read_as_a_document(tmp_path):
    write(tmp_path / "t" / "a.txt", "Q: hi")
    cases = write(tmp_path / "t" / "cases.csv", "document,setting\na,x\n")
    corpus = load_corpus(tmp_path / "t", cases=cases, text_column="setting")
    assert [d.id for d in corpus.documents] == ["a"]


def test_a_link_to_the_cases_file_inside_the_folder_is_not_read_either(tmp_path):
    write(tmp_path / "t" / "a.txt", "Q: hi")
    cases = write(tmp_path / "cases.csv", "document,setting\na,x\n")
    (tmp_path / "t" / "cases.csv").symlink_to(cases)
    write(tmp_path / "t" / "copy.csv", "document,setting\na,x\n")  # same text, other file
    corpus = load_corpus(tmp_path / "t", cases=cases)
    assert [d.id for d in corpus.documents] == ["a"]
    assert [s.path.name for s in corpus.report.skipped] == ["copy.csv"]


def test_survey_tables_give_several_documents_and_take_cases_by_file_stem(tmp_path):
    write(tmp_path / "s" / "wave1.csv", "id,text\n1,Helpful.\n2,Not helpful.\n")
    write(tmp_path / "s" / "notes.txt", "Q: hi")
    write(tmp_path / "cases.csv", "document,wave\nwave1,1\nnotes,0\n")
    corpus = load_corpus(tmp_path / "s", cases=tmp_path / "cases.csv", text_column="text")
    assert [(d.id, d.attributes["wave"]) for d in corpus.documents] == [
        ("notes", "0"), ("wave1-1", "1"), ("wave1-2", "1"),
    ]
    assert [s.text for s in corpus.segments_of("wave1-2")] == ["Not helpful."]


def test_reader_notes_reach_the_report(tmp_path):
    write(tmp_path / "think.txt", "MODERATOR: Start.\n\nI clicked it.")
    report = load_corpus(tmp_path / "think.txt").report
    assert isinstance(report, IngestReport)
    assert report.notes and report.notes[0].startswith("think.txt: Only the interviewer")
    write(tmp_path / "more" / "a.txt", "MODERATOR: Start.\n\nI clicked it.")
    for name in "bcde":
        write(tmp_path / "more" / f"{name}.txt", "MODERATOR: Start.\n\nI clicked it.")
    (note,) = load_corpus(tmp_path / "more").report.notes
    assert note.startswith("Only the interviewer is labelled")
    assert note.endswith("(a.txt, b.txt, c.txt and 2 more)")


def test_a_loaded_corpus_goes_into_a_project(study, tmp_path):
    from qualcode.project import Project

    corpus = load_corpus(study)
    with Project.create(tmp_path / "s.qualcode") as project:
        project.add_corpus(corpus)
        assert len(project.documents) == 3


# -- real transcripts ------------------------------------------------------------------
@pytest.mark.skipif(not SHARED_TRANSCRIPTS.is_dir(), reason="../shared/data is absent")
def test_every_shared_think_aloud_transcript_reads_with_moderator_turns():
    files = sorted(SHARED_TRANSCRIPTS.glob("*.odt"))
    assert len(files) == 17
    corpus = load_corpus(SHARED_TRANSCRIPTS)
    assert len(corpus.documents) == 17
    for document in corpus.documents:
        segments = corpus.segments_of(document.id)
        moderator = [s for s in segments if s.speaker == "MODERATOR"]
        assert moderator, document.id
        assert {s.role for s in moderator} == {"interviewer"}
        participant = [s for s in segments if s.role == "participant"]
        assert len(participant) > len(moderator)
        assert all(s.speaker is None for s in participant)
        # numbered task prompts are turns with no speaker and no role
        prompts = [s for s in segments if s.role is None]
        assert any(re.match(r"1 Read", s.text) for s in prompts)
        # every MODERATOR: line of the text is one of the turns
        labelled = len(re.findall(r"^[ \t]*MODERATOR: ", document.text, re.M))
        assert len(moderator) == labelled


@pytest.mark.skipif(not (BUNDLED / "transcripts").is_dir(), reason="no bundled corpus")
def test_every_turn_of_the_bundled_study_is_found():
    corpus = load_corpus(BUNDLED / "transcripts", cases=BUNDLED / "cases.csv",
                         unknown_cases="report")
    label = re.compile(
        r"^(?:\[(\d\d):(\d\d):(\d\d)\] )?(INTERVIEWER|[A-Z][a-z]+)"
        r"(?:, (?:Ash Grove|Oakview|Templeton|Broadtown|Southfield))?: ", re.M)
    assert corpus.documents
    for document in corpus.documents:
        expected = [(m[4], None if m[1] is None else int(m[1]) * 3600 + int(m[2]) * 60
                     + int(m[3])) for m in label.finditer(document.text)]
        got = [(s.speaker, s.start_time) for s in corpus.segments_of(document.id)]
        assert got == expected, document.id
        assert document.attributes["setting"]
    assert corpus.report.documents_without_cases == ()
