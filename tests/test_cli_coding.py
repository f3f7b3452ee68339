"""`qualcode code` and `qualcode review`, through the real entry point (keys fed on stdin)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import coder_data
import pytest
from cli_runner import run

import qualcode.cli.coding  # noqa: F401  (registers the commands until the lead wires it)
from qualcode.project import Project


@pytest.fixture
def study(tmp_path: Path) -> Path:
    path = tmp_path / "study.qualcode"
    with Project.create(path, codebook=coder_data.CODEBOOK) as project:
        project.add_corpus(coder_data.corpus())
    return path


def test_code_stores_suggestions_and_prints_json(study: Path, capsys) -> None:
    code, out, _ = run(capsys, "code", str(study), "--method", "rules", "--json")
    data = json.loads(out)
    assert code == 0 and data["coder"] == "rules" and data["stored"] > 0
    assert data["report"]["methods"]["attendance"] == "rules"
    code, out, _ = run(capsys, "code", str(study), "--method", "rules", "--coder", "r2",
                       "--documents", "d1")
    assert code == 0 and "suggestions from 'r2'" in out and "qualcode review" in out


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["--method", "magic"], 4, "No coder named 'magic'"),
        (["--method", "rules", "--documents", "nope"], 4, "nope"),
        (["--method", "rules", "--learn-from", "x"], 2, "does not learn from codings"),
        (["--method", "semantic", "--jobs", "2"], 2, "--jobs sets the processes of the rules"),
        (["--method", "rules", "--jobs", "0"], 2, "n_jobs"),
    ],
)
def test_code_errors_are_one_line(study: Path, capsys, args, exit_code, message) -> None:
    code, _, err = run(capsys, "code", str(study), *args)
    assert code == exit_code and message in err and "Traceback" not in err


def test_code_in_worker_processes_stores_what_one_process_stores(
        study: Path, capsys, monkeypatch) -> None:
    from qualcode.coders import rules

    monkeypatch.setattr(rules, "_BATCH", 2)  # several jobs from this small study
    run(capsys, "code", str(study), "--method", "rules", "--coder", "one", "--jobs", "1")
    code, _, _ = run(capsys, "code", str(study), "--method", "rules", "--coder", "two",
                       "--jobs", "2", "--batch-size", "1")
    assert code == 0
    with Project.open(study) as project:
        def stored(coder: str) -> list[tuple]:
            return sorted((c.document_id, c.start, c.end, c.code_id, c.confidence, c.reason)
                          for c in project.codings(coder=coder))
        assert stored("two") == stored("one") and stored("one")


def test_an_empty_project_is_a_usage_error_as_in_open_code(tmp_path: Path, capsys) -> None:
    # exit code 5 is for a store that cannot be opened or written; this one is fine
    path = tmp_path / "empty.qualcode"
    Project.create(path, codebook=coder_data.CODEBOOK).close()
    code, _, err = run(capsys, "code", str(path), "--method", "rules")
    assert code == 2 and "has no documents yet" in err and "qualcode ingest" in err
    code, _, err = run(capsys, "open-code", str(path))
    assert code == 2 and "ingest transcripts first" in err


def test_review_with_keys_from_standard_input(study: Path, capsys, monkeypatch) -> None:
    run(capsys, "code", str(study), "--method", "rules")
    with Project.open(study) as project:
        total = len(project.codings(coder="rules", status="suggested"))
    assert total >= 4
    # accept, reject, an unknown key, change to an unknown code then to "tea", skip, quit
    keys = "a\nr\nx\nc\nunicorns\nc\ntea\ns\nq\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(keys))
    code, out, _ = run(capsys, "review", str(study), "--by", "alice", "--order", "document")
    assert code == 0
    assert "Why: matched" in out and "Please type a, r, c, s, u or q." in out
    assert "No code 'unicorns'" in out and "stopped; run again to go on" in out
    with Project.open(study) as project:
        statuses = [c.status for c in project.codings(coder="rules")]
        assert statuses.count("accepted") == 1 and statuses.count("rejected") == 2
        assert [c.code_id for c in project.codings(coder="alice")] == ["tea"]
        assert {d["by"] for d in project.decisions()} == {"alice"}


def test_review_ends_at_end_of_input_and_when_nothing_is_left(study: Path, capsys,
                                                                monkeypatch) -> None:
    code, out, _ = run(capsys, "review", str(study), "--by", "alice")
    assert code == 0 and "No suggestions to review." in out
    run(capsys, "code", str(study), "--method", "rules", "--documents", "d1")
    monkeypatch.setattr("sys.stdin", io.StringIO("a\n"))  # then end of input: stop
    code, out, _ = run(capsys, "review", str(study), "--by", "alice")
    assert code == 0 and "1 accepted" in out


def test_ctrl_c_exits_130_and_says_what_was_kept(study: Path, capsys, monkeypatch) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("qualcode.coding.code_project", interrupted)
    code, out, err = run(capsys, "code", str(study), "--method", "rules")
    assert code == 130 and "Interrupted" in err and "suggestions" not in out


def test_review_without_a_name_says_how_to_give_one(study: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("QUALCODE_CODER", raising=False)
    run(capsys, "code", str(study), "--method", "rules")
    code, _, err = run(capsys, "review", str(study))
    assert code == 2 and "--by" in err and "reviewer=" in err


def test_code_that_suggests_nothing_does_not_send_you_to_review(tmp_path: Path,
                                                               capsys) -> None:
    from qualcode.model import Code, Codebook

    path = tmp_path / "bare.qualcode"  # a codebook without keywords: rules cannot match
    with Project.create(path, codebook=Codebook("bare", (Code("tea", name="Tea"),))) as project:
        project.add_corpus(coder_data.corpus())
    code, out, _ = run(capsys, "code", str(path), "--method", "rules")
    assert code == 0 and "0 suggestions" in out and "qualcode review" not in out


def test_quote_names_its_options_when_the_words_occur_twice(study: Path, capsys) -> None:
    code, _, err = run(capsys, "quote", str(study), "all", "dogs", "--by", "alice")
    assert code == 2 and "--occurrence" in err and "--document" in err
    code, out, _ = run(capsys, "quote", str(study), "all", "dogs", "--by", "alice",
                       "--occurrence", "2")
    assert code == 0 and out.startswith("Coded d2 ")
