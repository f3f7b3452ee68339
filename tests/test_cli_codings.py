"""The codings commands: import codings, agreement, evaluate, export codings."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from builders import make_corpus
from cli_runner import run
from typer.testing import CliRunner

import qualcode.cli.exchange_codings  # noqa: F401  (registers the commands)
from qualcode.cli._app import app
from qualcode.model import Code, Codebook, Coding
from qualcode.project import Project

CODEBOOK = Codebook("visits", (
    Code("visits", name="Visits"),
    Code("attendance", name="Poor attendance", parent="visits"),
    Code("home", name="Home"),
    Code("tea", name="Hospitality", parent="home"),
))
TEXTS = {
    "AP01_sarah": "INTERVIEWER: Why go?\nSarah: He was absent all week.\nSarah: Mum made tea.",
    "AP02_emma": "INTERVIEWER: And then?\nEmma: Nobody answered.\nEmma: We had tea, "
                 "\u201cproper\u201d tea.",
}

runner = CliRunner()


@pytest.fixture
def study(tmp_path: Path) -> Path:
    path = tmp_path / "study.qualcode"
    with Project.create(path, codebook=CODEBOOK) as project:
        project.add_corpus(make_corpus(TEXTS))
    table = pd.DataFrame([
        ["AP01_sarah.txt", "Poor attendance", "He was absent  all week."],
        ["AP01_sarah", "tea", "Mum made tea."],
        ["AP02_emma", "Hospitality", 'We had tea, "proper" tea.'],
        ["AP02_emma", "tea", "They had coffee."],
        ["AP09_nobody", "tea", "tea"],
    ], columns=["file", "tag", "excerpt"])
    table.to_csv(tmp_path / "alice.csv", index=False)
    return path


def invoke(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_import_codings_reports_located_and_unmatched_rows(study: Path, tmp_path: Path) -> None:
    result = invoke("import", "codings", study, tmp_path / "alice.csv", "--coder", "alice",
                    "--report", tmp_path / "rows.csv")
    assert result.exit_code == 0
    assert "5 rows: 3 located" in result.stdout and "2 unmatched" in result.stdout
    assert "row 5" in result.stdout and "row 6" in result.stdout
    assert "AP09_nobody" in result.stdout
    rows = pd.read_csv(tmp_path / "rows.csv")
    assert list(rows["status"]) == ["located"] * 3 + ["unmatched"] * 2
    with Project.open(study) as project:
        assert len(project.codings(coder="alice", method="import")) == 3


def test_import_codings_json_shape(study: Path, tmp_path: Path) -> None:
    result = invoke("import", "codings", study, tmp_path / "alice.csv", "--coder", "alice",
                    "--json")
    data = json.loads(result.stdout)
    assert {k: data[k] for k in ("rows", "located", "ambiguous", "unmatched", "stored")} == {
        "rows": 5, "located": 3, "ambiguous": 0, "unmatched": 2, "stored": 3}
    assert data["unknown_documents"] == {"AP09_nobody": 1}
    assert data["columns"] == {"document": "file", "code": "tag", "text": "excerpt"}
    assert [p["row"] for p in data["problems"]] == [5, 6]
    assert data["problems"][0]["problem"] == "not found"


def add_second_coder(study: Path) -> None:
    with Project.open(study) as project:
        segments = project.segments()
        project.add_codings([
            Coding(segments[1].document_id, segments[1].start, segments[1].end, "attendance",
                   "bob"),
            Coding(segments[5].document_id, segments[5].start, segments[5].end, "tea", "bob"),
        ])


def test_agreement_table_and_json(study: Path, tmp_path: Path) -> None:
    invoke("import", "codings", study, tmp_path / "alice.csv", "--coder", "alice")
    add_second_coder(study)
    result = invoke("agreement", study, "--coder", "alice", "--coder", "bob")
    assert result.exit_code == 0
    assert "Unit: turn segments" in result.stdout and "attendance" in result.stdout
    data = json.loads(invoke("agreement", study, "--coder", "alice", "--coder", "bob",
                             "--json").stdout)
    assert data["unit"] == "turn" and data["coders"] == ["alice", "bob"]
    assert [c["code"] for c in data["codes"]] == ["attendance", "tea"]
    assert data["codes"][0]["kappa"] == 1.0
    # alice: tea in turns 2 and 5; bob: tea in turn 5 only. p_o 5/6, p_e 4/9 + 1/6.
    assert data["codes"][1]["kappa"] == pytest.approx(round((5 / 6 - 11 / 18) / (7 / 18), 4))
    assert set(data["overall"]) == {"pooled", "macro"}
    themes = json.loads(invoke("agreement", study, "--coder", "alice", "--coder", "bob",
                               "--level", "theme", "--json").stdout)
    assert [c["code"] for c in themes["codes"]] == ["visits", "home"]


def test_export_codings_to_standard_output_and_file(study: Path, tmp_path: Path) -> None:
    invoke("import", "codings", study, tmp_path / "alice.csv", "--coder", "alice")
    result = invoke("export", "codings", study)
    lines = result.stdout.splitlines()
    assert lines[0] == "document,start,end,speaker,code,theme,confidence,status,coder,method,text"
    assert len(lines) == 4 and lines[1].startswith("AP01_sarah,")
    assert ",Sarah,attendance,visits,,accepted,alice,import,He was absent all week." in lines[1]
    records = json.loads(invoke("export", "codings", study, "--format", "json").stdout)
    assert records[2]["text"] == "We had tea, \u201cproper\u201d tea."
    assert records[2]["speaker"] == "Emma" and records[2]["confidence"] is None
    out = tmp_path / "codings.json"
    result = invoke("export", "codings", study, "--format", "json", "--out", out)
    assert "Wrote" in result.stdout and json.loads(out.read_text(encoding="utf-8")) == records
    only_bob = invoke("export", "codings", study, "--coder", "bob").stdout.splitlines()
    assert len(only_bob) == 1


def test_evaluate_runs_a_registered_coder(study: Path, tmp_path: Path, monkeypatch) -> None:
    from test_evaluation import WordCoder

    import qualcode.coders as coders

    monkeypatch.setattr(coders, "get_coder", lambda name, **params: WordCoder(**params))
    invoke("import", "codings", study, tmp_path / "alice.csv", "--coder", "alice")
    result = invoke("evaluate", study, "--reference", "alice", "--train", "AP01_*",
                    "--test", "AP02_emma", "--method", "words", "--json")
    data = json.loads(result.stdout)
    assert data["train"] == ["AP01_sarah"] and data["test"] == ["AP02_emma"]
    assert data["coder"] == "words" and data["reference"] == "alice"
    tea = next(c for c in data["codes"] if c["code"] == "tea")
    assert (tea["support"], tea["tp"]) == (1, 1)
    table = invoke("evaluate", study, "--reference", "alice", "--train", "AP01_*",
                   "--test", "AP02_emma", "--method", "words")
    assert "Macro:" in table.stdout and "precision" in table.stdout




@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["import", "codings", "{study}", "{tmp}/none.csv", "--coder", "a"], 3,
         "No such file or folder"),
        (["import", "codings", "{study}", "{tmp}/alice.csv"], 2, "Whose codings are these"),
        (["import", "codings", "{tmp}/missing.qualcode", "{tmp}/alice.csv", "--coder", "a"], 5,
         "No project at"),
        (["agreement", "{study}", "--coder", "alice"], 2, "at least two coders"),
        (["agreement", "{study}", "--coder", "alice", "--coder", "zoe"], 4,
         "No codings by coder 'zoe'"),
        (["evaluate", "{study}", "--reference", "alice", "--train", "AP01*", "--test",
          "AP03*"], 4, "No document matches 'AP03*'"),
    ],
)
def test_errors_are_one_line_with_an_exit_code(study: Path, tmp_path: Path, capsys, args,
                                               exit_code, message) -> None:
    run(capsys, "import", "codings", study, tmp_path / "alice.csv", "--coder", "alice")
    code, out, err = run(capsys, *[a.format(study=study, tmp=tmp_path) for a in args])
    assert code == exit_code
    assert message in err
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    "args",
    [
        ["export", "codings", "{study}", "--format", "xml"],
        ["agreement", "{study}", "--coder", "a", "--coder", "b", "--level", "words"],
        ["evaluate", "{study}", "--reference", "alice", "--train", "AP01*"],
    ],
)
def test_usage_errors_are_refused_by_the_parser(study: Path, args) -> None:
    result = runner.invoke(app, [a.format(study=study) for a in args])
    assert result.exit_code == 2


def test_import_codings_checks_the_report_path_before_importing(study: Path, tmp_path: Path,
                                                                capsys) -> None:
    code, _, err = run(capsys, "import", "codings", study, tmp_path / "alice.csv", "--coder",
                       "alice", "--report", tmp_path / "no-such-folder" / "rows.csv")
    assert code == 2 and "no-such-folder" in err and "Internal error" not in err
    with Project.open(study) as project:
        assert len(project.codings(coder="alice")) == 0  # nothing half done


def test_export_codings_refuses_to_overwrite_without_force(study: Path, tmp_path: Path,
                                                           capsys) -> None:
    target = tmp_path / "codings.csv"
    target.write_text("mine", encoding="utf-8")
    code, _, err = run(capsys, "export", "codings", study, "--out", target)
    assert code == 2 and "--force" in err and target.read_text(encoding="utf-8") == "mine"
    code, _, _ = run(capsys, "export", "codings", study, "--out", target, "--force")
    assert code == 0 and target.read_text(encoding="utf-8").startswith("document,")


def test_agreement_numbers_stay_whole_in_a_file_or_pipe(study: Path, tmp_path: Path,
                                                        capsys) -> None:
    # Captured output is not a terminal: 80 columns, as in `qualcode agreement ... > a.txt`.
    coders = ["alice-the-first-coder", "bob-the-second-coder"]
    run(capsys, "import", "codings", study, tmp_path / "alice.csv", "--coder", coders[0])
    run(capsys, "import", "codings", study, tmp_path / "alice.csv", "--coder", coders[1])
    code, out, _ = run(capsys, "agreement", study, "--coder", coders[0], "--coder", coders[1])
    assert code == 0 and "…" not in out
    assert "1.000" in out and "100.0%" in out


def test_import_qdpx_with_the_project_first_says_the_order(study: Path, tmp_path: Path,
                                                          capsys) -> None:
    code, _, err = run(capsys, "import", "qdpx", study, tmp_path / "study.qdpx")
    assert code == 2 and "REFI-QDA file first" in err
    assert not (tmp_path / "study.qdpx").exists()
