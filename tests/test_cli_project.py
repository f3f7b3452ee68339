"""The foundation commands, run through the real entry point (exit codes, no tracebacks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import run
from conftest import BUNDLED, BUNDLED_CODEBOOK


def test_init_info_and_codebook_commands(tmp_path: Path, capsys) -> None:
    project = tmp_path / "s.qualcode"
    code, out, _ = run(capsys, "init", str(project), "--codebook", str(BUNDLED_CODEBOOK))
    assert code == 0 and "32 codes" in out
    code, out, _ = run(capsys, "info", str(project), "--json")
    data = json.loads(out)
    assert code == 0 and data["documents"] == 0 and data["codebook"]["codes"] == 32
    code, out, _ = run(capsys, "codebook", "show", str(project))
    assert code == 0 and "Triggers" in out and "attendance" in out
    code, out, _ = run(capsys, "codebook", "validate", str(BUNDLED_CODEBOOK))
    assert code == 0 and "valid" in out


def test_a_long_path_is_printed_on_one_line(tmp_path: Path, capsys) -> None:
    # A wrapped path cannot be copied from the terminal: paths are never broken.
    folder = tmp_path / ("a-folder-with-a-long-name-" * 4)
    folder.mkdir()
    book = folder / "codebook.yaml"
    book.write_bytes(BUNDLED_CODEBOOK.read_bytes())
    code, out, _ = run(capsys, "codebook", "validate", str(book))
    assert code == 0 and f"{book}: valid." in out.splitlines()


def test_a_message_into_a_file_or_pipe_is_never_cut_into_lines(tmp_path: Path, capsys) -> None:
    project = tmp_path / ("study-with-a-rather-long-name-" * 3 + ".qualcode")
    code, out, _ = run(capsys, "init", str(project), "--codebook", str(BUNDLED_CODEBOOK))
    line = f"Created {project} with codebook 'AP home visits' (32 codes)."
    assert code == 0 and len(line) > 80 and line in out.splitlines()


def test_codebook_diff_between_a_file_and_a_project_version(tmp_path: Path, capsys) -> None:
    project = tmp_path / "s.qualcode"
    run(capsys, "init", str(project), "--codebook", str(BUNDLED_CODEBOOK))
    edited = tmp_path / "edited.yaml"
    edited.write_text(
        BUNDLED_CODEBOOK.read_text(encoding="utf-8").replace(
            "name: Poor or no attendance", "name: Absence"), encoding="utf-8")
    code, out, _ = run(capsys, "codebook", "set", str(project), str(edited), "--note", "rename")
    assert code == 0 and "version 2" in out
    code, out, _ = run(capsys, "codebook", "diff", f"{project}:1", f"{project}:2", "--json")
    assert code == 0
    assert json.loads(out)["changes"] == [
        {"change": "renamed", "code": "attendance",
         "detail": "'Poor or no attendance' -> 'Absence'"}
    ]


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["info", "{tmp}/missing.qualcode"], 5, "No project at"),
        (["init", "{tmp}/x.qualcode", "--codebook", "{tmp}/nope.yaml"], 3, "No such codebook"),
        (["codebook", "validate", "{tmp}/bad.yaml"], 3, "1 error, 1 warning"),
        (["codebook", "show", "{tmp}/bad.yaml"], 3, "Unknown field 'defintion'"),
    ],
)
def test_errors_are_one_clear_line_and_a_documented_exit_code(
    tmp_path: Path, capsys, args: list[str], exit_code: int, message: str
) -> None:
    (tmp_path / "bad.yaml").write_text("name: x\nthemes:\n  - id: a\n    defintion: y\n")
    code, out, err = run(capsys, *[a.format(tmp=tmp_path) for a in args])
    assert code == exit_code
    assert message in err
    assert "Traceback" not in err + out


def test_validate_lists_each_problem_with_its_line(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nthemes:\n  - id: a\n    defintion: y\n")
    code, out, _ = run(capsys, "codebook", "validate", str(bad), "--json")
    problems = json.loads(out)["problems"]
    assert code == 3
    assert [(p["severity"], p["line"], p["field"]) for p in problems] == [
        ("error", 4, "defintion"), ("warning", 3, "definition")]


def test_init_refuses_to_overwrite_without_force(tmp_path: Path, capsys) -> None:
    project = tmp_path / "s.qualcode"
    assert run(capsys, "init", str(project))[0] == 0
    code, _, err = run(capsys, "init", str(project))
    assert code == 5 and "--force" in err
    assert run(capsys, "init", str(project), "--force")[0] == 0


def test_console_script_help_is_lazy() -> None:
    """`qualcode --help` must not import the heavy libraries."""
    probe = (
        "import sys; from qualcode.cli import app; "
        "heavy = [m for m in ('pandas', 'sklearn', 'torch', 'spacy', 'matplotlib', "
        "'sentence_transformers', 'bertopic') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bundled_study_files_exist() -> None:
    assert (BUNDLED / "cases.csv").is_file()
    assert len(list((BUNDLED / "transcripts").glob("*.txt"))) == 23


def test_ingest_the_bundled_study_and_the_shared_transcripts(
    tmp_path: Path, capsys, shared_data: Path
) -> None:
    project = tmp_path / "s.qualcode"
    run(capsys, "init", str(project), "--codebook", str(BUNDLED_CODEBOOK))
    code, out, err = run(capsys, "ingest", str(project), str(BUNDLED / "transcripts"),
                         "--cases", str(BUNDLED / "cases.csv"), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert len(summary["added"]) == 23 and summary["documents_without_cases"] == []
    code, out, err = run(capsys, "ingest", str(project),
                         str(shared_data / "swj2022-usability" / "transcripts"))
    assert code == 0, err
    assert "17 documents added" in out
    code, out, _ = run(capsys, "info", str(project), "--json")
    data = json.loads(out)
    assert data["documents"] == 40
    assert data["speakers"]["INTERVIEWER"] > 300 and data["speakers"]["MODERATOR"] > 17
    assert data["words"] > 100_000
    # ingesting again changes nothing
    code, out, _ = run(capsys, "ingest", str(project), str(BUNDLED / "transcripts"), "--json")
    again = json.loads(out)
    assert code == 0 and len(again["unchanged"]) == 23 and again["added"] == []


def test_ingest_errors_name_the_file(tmp_path: Path, capsys) -> None:
    project = tmp_path / "s.qualcode"
    run(capsys, "init", str(project))
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n")
    code, _, err = run(capsys, "ingest", str(project), str(empty))
    assert code == 3 and "empty.txt" in err and "Traceback" not in err
    cases = tmp_path / "cases.csv"
    cases.write_text("document,setting\nAP01_sarah,Ash Grove\nnobody,Oakview\n")
    code, _, err = run(capsys, "ingest", str(project), str(BUNDLED / "transcripts" /
                                                            "AP01_sarah.txt"),
                       "--cases", str(cases))
    assert code == 3 and "line 3" in err and "nobody" in err
    assert api_info(project)["documents"] == 0  # nothing half-ingested


def api_info(project: Path) -> dict:
    from qualcode import api

    return api.info(project)


def test_qc_ingest_stays_callable_after_the_readers_package_is_imported(tmp_path: Path) -> None:
    import qualcode as qc
    import qualcode.ingest  # sets qualcode.ingest to the package

    project = qc.init(tmp_path / "s.qualcode")
    summary = qc.ingest(project, BUNDLED / "transcripts" / "AP01_sarah.txt")
    assert summary.added == ("AP01_sarah",)
    assert qc.ingest.load_corpus is qualcode.ingest.load_corpus
    project.close()


def test_a_project_that_cannot_be_opened_is_not_called_a_stranger(tmp_path: Path, capsys,
                                                                   monkeypatch) -> None:
    # A project in a read-only folder: SQLite cannot make its -wal file beside it.
    import sqlite3

    project = tmp_path / "s.qualcode"
    run(capsys, "init", str(project))

    def read_only(path, timeout):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr("qualcode.project._connect", read_only)
    code, _, err = run(capsys, "info", str(project))
    assert code == 5 and "Cannot open project" in err and "not an SQLite file" not in err
    assert "may write" in err


def test_an_invalid_yaml_codebook_names_its_place_once(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: x\nthemes: [unclosed\n", encoding="utf-8")
    code, out, err = run(capsys, "codebook", "validate", str(bad))
    problem = next(line for line in out.splitlines() if line.startswith("error"))
    assert code == 3 and problem.count(str(bad)) == 1 and "not valid YAML" in problem
    assert "1 error, 0 warnings." in err


def test_ingest_notes_name_the_command_line_option(tmp_path: Path, capsys) -> None:
    project = tmp_path / "s.qualcode"
    session = tmp_path / "P1.txt"
    session.write_text("MODERATOR: Please find the export button.\n\nI think it is here.\n\n"
                       "MODERATOR: Good.\n\nYes, that was easy.\n", encoding="utf-8")
    run(capsys, "init", str(project))
    code, out, _ = run(capsys, "ingest", str(project), str(session))
    assert code == 0 and "--unlabelled continue" in out
    assert out.splitlines()[0].strip()  # no empty line left by a progress bar


def test_an_empty_codebook_table_is_not_called_a_transcript(tmp_path: Path, capsys) -> None:
    book = tmp_path / "codebook.csv"
    book.write_text("\n", encoding="utf-8")
    code, out, _ = run(capsys, "codebook", "validate", str(book))
    assert code == 3 and "empty" in out and "transcript" not in out


def test_a_binary_transcript_names_the_encoding_option(tmp_path: Path, capsys) -> None:
    project = tmp_path / "s.qualcode"
    (tmp_path / "P1.txt").write_bytes(b"\x7fELF\x00\x01\x02" * 50)
    run(capsys, "init", str(project))
    code, _, err = run(capsys, "ingest", str(project), str(tmp_path / "P1.txt"))
    assert code == 3 and "--encoding" in err and "P1.txt" in err


def test_counts_of_one_are_singular(capsys, tmp_path: Path) -> None:
    project = tmp_path / "one.qualcode"
    run(capsys, "init", str(project), "--codebook", str(BUNDLED_CODEBOOK))
    code, out, err = run(capsys, "ingest", str(project),
                         str(BUNDLED / "transcripts" / "AP01_sarah.txt"))
    assert code == 0, err
    assert out.startswith("1 document added, 0 unchanged, 0 replaced;")
    run(capsys, "import", "codings", str(project), str(BUNDLED / "codings.csv"),
        "--coder", "ref")
    code, out, err = run(capsys, "export", "excerpts", str(project), "--code", "co_creation",
                         "--out", str(tmp_path / "x.docx"))
    assert code == 0, err
    assert ": 1 excerpt of 1 code, from 1 interview." in out


def test_codebook_validate_shows_brackets_in_a_problem_as_written(capsys, tmp_path: Path
                                                                  ) -> None:
    # Rich markup would swallow "[a-z]" and print the pattern as '(+'.
    path = tmp_path / "book.yaml"
    path.write_text("name: b\ncodes:\n  - id: a\n    definition: A.\n"
                    "    patterns: ['([a-z]+']\n", encoding="utf-8")
    code, out, _ = run(capsys, "codebook", "validate", str(path))
    assert code != 0
    assert "([a-z]+" in out


def test_codebook_set_says_which_codes_lost_from_it_keep_their_codings(capsys,
                                                                       tmp_path: Path) -> None:
    import yaml

    book = yaml.safe_load(BUNDLED_CODEBOOK.read_text(encoding="utf-8"))
    dropped = book["themes"][0]["codes"].pop(0)["id"]
    smaller = tmp_path / "smaller.yaml"
    smaller.write_text(yaml.safe_dump(book, sort_keys=False), encoding="utf-8")
    project = tmp_path / "p.qualcode"
    run(capsys, "init", str(project), "--codebook", str(BUNDLED_CODEBOOK))
    run(capsys, "ingest", str(project), str(BUNDLED / "transcripts"))
    run(capsys, "import", "codings", str(project), str(BUNDLED / "codings.csv"), "--coder", "ref")
    code, out, err = run(capsys, "codebook", "set", str(project), str(smaller))
    assert code == 0, err
    assert f"the codings of 1 code this codebook does not have: {dropped} (" in out
    code, out, _ = run(capsys, "codebook", "set", str(project), str(BUNDLED_CODEBOOK),
                       "--note", "attendance back")
    assert "Kept:" not in out
    code, out, err = run(capsys, "codebook", "versions", str(project), "--json")
    assert code == 0, err
    versions = json.loads(out)
    assert [(v["version"], v["note"]) for v in versions][1:] == [(2, ""), (3, "attendance back")]
    assert versions[2]["codes"] == versions[1]["codes"] + 1
    code, out, _ = run(capsys, "codebook", "versions", str(project))
    assert "attendance back" in out


def test_info_calls_a_flat_codebook_codes_without_themes(capsys, tmp_path: Path) -> None:
    # Taguette's codebooks are flat: "2 themes, 2 codes" would count each code twice.
    book = tmp_path / "tags.csv"
    book.write_text("tag,description\nLog in easy,Logging in was easy.\n"
                    "Export unclear,The export format was unclear.\n", encoding="utf-8")
    project = tmp_path / "flat.qualcode"
    run(capsys, "init", str(project), "--codebook", str(book))
    code, out, err = run(capsys, "info", str(project))
    assert code == 0, err
    assert "tags v1: 2 codes, no themes" in out
    code, out, _ = run(capsys, "info", str(project), "--json")
    assert json.loads(out)["codebook"]["flat"] is True
