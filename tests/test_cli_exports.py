"""``qualcode export excerpts`` and ``qualcode export tables`` through the real entry point:
files written, JSON, exit codes and messages (no tracebacks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run
from export_builders import build_project

import qualcode.cli.exports  # noqa: F401  (registers the commands until the lead wires them)


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_project(tmp_path_factory.mktemp("cli") / "study.qualcode")


def test_export_excerpts_default_file_is_docx_beside_you(study: Path, tmp_path: Path,
                                                          capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "export", "excerpts", str(study))
    assert code == 0, err
    assert (tmp_path / "study-excerpts.docx").is_file()
    assert "8 excerpts of 4 codes" in out and "No excerpts for: unused" in out


def test_export_excerpts_with_filters_and_json(study: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / "oakview.md"
    code, out, err = run(capsys, "export", "excerpts", str(study), "--out", str(target),
                         "--where", "setting=Oakview", "--theme", "visits", "--per-code", "1",
                         "--context", "1", "--template", "{speaker} ({document})", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["path"] == str(target) and data["excerpts"] == 2
    assert {c["code"]: (c["excerpts"], c["shown"]) for c in data["codes"]} == {
        "attendance": (2, 1), "tea": (2, 1)}
    text = target.read_text(encoding="utf-8")
    assert "setting: Oakview" in text and "— Anna (d1)" in text


@pytest.mark.parametrize("fmt", ["markdown", "html", "latex", "csv", "xlsx"])
def test_export_excerpts_format_names_the_suffix(study: Path, tmp_path: Path, capsys,
                                                 monkeypatch, fmt: str) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "export", "excerpts", str(study), "--format", fmt)
    assert code == 0, err
    suffix = {"markdown": ".md", "latex": ".tex"}.get(fmt, f".{fmt}")
    assert (tmp_path / f"study-excerpts{suffix}").is_file()


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["--where", "setting"], 2, "--where takes NAME=VALUE"),
        (["--where", "setting=Nowhere"], 2, "No document has setting = 'Nowhere'"),
        (["--where", "setting=oakvew"], 2, "setting = 'oakvew' (filter of excerpts()). Did "
                                          "you mean 'Oakview'? Values: Broadtown, Oakview."),
        (["--where", "seting=Oakview"], 2, "Did you mean 'setting'? Attributes:"),
        (["--code", "atendance"], 4, "Did you mean 'attendance'"),
        (["--template", "{room}"], 2, "{room}, which no document has"),
        (["--status", "approved"], 2, "'status' parameter of excerpts()"),
        (["--out", "{tmp}/x.pdf"], 2, "Cannot tell the format of x.pdf"),
    ],
)
def test_export_excerpts_errors_are_one_line(study: Path, tmp_path: Path, capsys, args,
                                            exit_code: int, message: str) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "x.md")]
    code, _, err = run(capsys, "export", "excerpts", str(study), *args)
    assert code == exit_code and message in err and "Traceback" not in err


def test_export_refuses_to_overwrite_without_force(study: Path, tmp_path: Path,
                                                   capsys) -> None:
    target = tmp_path / "q.html"
    target.write_text("mine", encoding="utf-8")
    code, _, err = run(capsys, "export", "excerpts", str(study), "--out", str(target))
    assert code == 2 and "--force" in err and target.read_text(encoding="utf-8") == "mine"
    code, _, _ = run(capsys, "export", "excerpts", str(study), "--out", str(target), "--force")
    assert code == 0 and target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_export_tables(study: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "tables"
    code, stdout, err = run(capsys, "export", "tables", str(study), "--out", str(out),
                            "--by", "setting", "--level", "code", "--format", "csv",
                            "--no-figures", "--json")
    assert code == 0, err
    files = sorted(Path(p).name for p in json.loads(stdout)["files"])
    assert files == ["case_matrix_codes.csv", "cooccurrence_codes.csv",
                     "frequencies_codes_by_setting_interviews.csv",
                     "frequencies_codes_by_setting_segments.csv"]
    code, _, err = run(capsys, "export", "tables", str(study), "--out", str(out), "--by",
                       "setting", "--level", "code", "--format", "csv", "--no-figures")
    assert code == 2 and "already exist" in err
    code, stdout, err = run(capsys, "export", "tables", str(study), "--out", str(out),
                            "--level", "theme", "--unit", "overlap", "--figure", "svg")
    assert code == 0, err
    assert "cooccurrence_themes.svg" in stdout and "frequencies_themes_by_role.tex" in stdout


def test_export_tables_bad_options(study: Path, tmp_path: Path, capsys) -> None:
    code, _, err = run(capsys, "export", "tables", str(study), "--out", str(tmp_path / "t"),
                       "--unit", "sentence")
    assert code == 2 and "'unit' parameter of export_tables()" in err
    assert not (tmp_path / "t").exists()
    code, _, err = run(capsys, "export", "tables", str(tmp_path / "missing.qualcode"))
    assert code == 5 and "No project at" in err


def test_export_help_lists_both_commands(capsys) -> None:
    code, out, _ = run(capsys, "export", "--help")
    assert code == 0 and "excerpts" in out and "tables" in out


def test_an_out_folder_that_cannot_be_made_is_an_error_not_a_bug(study: Path, tmp_path: Path,
                                                                  capsys) -> None:
    # A file where a folder should be stands in for any folder one may not write to.
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine", encoding="utf-8")
    code, _, err = run(capsys, "export", "tables", str(study), "--out", str(blocker / "t"))
    assert code == 2 and str(blocker / "t") in err and "Internal error" not in err
    assert blocker.read_text(encoding="utf-8") == "mine"


def test_saturation_and_open_code_take_force_like_every_export(capsys) -> None:
    for command in ("saturation", "open-code"):
        code, out, _ = run(capsys, command, "--help")
        assert code == 0 and "--force" in out


def test_every_command_summary_is_one_line() -> None:
    # The list in `qualcode --help` shows the first paragraph; a line break there splits it.
    import typer

    from qualcode.cli import app

    def summaries(group, prefix=""):
        for name, command in getattr(group, "commands", {}).items():
            yield f"{prefix}{name}", (command.help or "").strip().split("\n\n")[0]
            yield from summaries(command, f"{prefix}{name} ")

    broken = [name for name, first in summaries(typer.main.get_command(app)) if "\n" in first]
    assert broken == []


def test_saturation_note_names_the_order_option(tmp_path: Path, capsys) -> None:
    table = tmp_path / "codings.csv"
    table.write_text("document,code\nP1,a\nP1,b\nP2,a\nP3,c\n", encoding="utf-8")
    code, out, err = run(capsys, "saturation", str(table), "--permutations", "0")
    assert code == 0, err
    assert "--order" in out


def test_saturation_of_an_unknown_coder_names_the_coders(study: Path, capsys) -> None:
    code, _, err = run(capsys, "saturation", str(study), "--coder", "nobody",
                       "--permutations", "0")
    assert code == 4 and "No codings by coder 'nobody'" in err and "Coders:" in err


@pytest.mark.parametrize(("content", "message"), [
    (b"", "The table is empty"),
    (b"document,code\nP\xe9,a\nP2,b\n", "save it as UTF-8"),
])
def test_saturation_of_a_bad_table_is_an_input_error(tmp_path: Path, capsys, content: bytes,
                                                     message: str) -> None:
    table = tmp_path / "codings.csv"
    table.write_bytes(content)
    code, _, err = run(capsys, "saturation", str(table), "--permutations", "0")
    assert code == 3 and message in err and str(table) in err


def test_saturation_status_is_named_as_the_option_takes_it(capsys, tmp_path) -> None:
    code, _, err = run(capsys, "saturation", str(tmp_path / "x.qualcode"), "--status", "bogus")
    assert code == 2
    assert "--status must be one of suggested, accepted, rejected or all; got 'bogus'." in err
