"""The README's notebook tour runs as printed, on the bundled study."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import matplotlib
from conftest import ROOT


def readme_block(heading: str, language: str) -> str:
    """The first ``language`` code block after ``heading`` in the README."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after = text[text.index(heading):]
    found = re.search(rf"```{language}\n(.*?)```", after, re.S)
    assert found, f"no {language} block after {heading!r} in README.md"
    return found.group(1)


def test_the_notebook_tour_runs_as_printed(tmp_path: Path, monkeypatch) -> None:
    matplotlib.use("Agg")
    # The tour's relative paths, from a folder of its own (the study is only read).
    (tmp_path / "codebooks").symlink_to(ROOT / "codebooks")
    (tmp_path / "corpora").symlink_to(ROOT / "corpora")
    monkeypatch.chdir(tmp_path)
    code = readme_block("### A notebook", "python")
    names: dict[str, object] = {}
    exec(compile(code, "README.md (A notebook)", "exec"), names)
    assert (tmp_path / "study.qualcode").exists() and (tmp_path / "excerpts.docx").exists()
    project = names["project"]
    assert len(project.codings(coder="rules")) > 0  # type: ignore[attr-defined]



def test_the_command_line_tour_runs_as_printed(tmp_path: Path) -> None:
    (tmp_path / "codebooks").symlink_to(ROOT / "codebooks")
    (tmp_path / "corpora").symlink_to(ROOT / "corpora")
    commands = [shlex.split(line, comments=True)
                for line in readme_block("### The command line", "bash").splitlines()]
    commands = [c for c in commands if c]
    assert commands and all(c[0] == "qualcode" for c in commands)
    for command in commands:
        done = subprocess.run(
            [sys.executable, "-m", "qualcode", *command[1:]], cwd=tmp_path,
            input="q\n",  # `qualcode review` asks what to do with each suggestion: quit
            capture_output=True, text=True, timeout=600,
            env={**os.environ, "HF_HUB_OFFLINE": "1"})
        assert done.returncode == 0, f"{shlex.join(command)}\n{done.stdout}\n{done.stderr}"
    for output in ("study.qualcode", "candidates", "saturation", "excerpts.docx", "tables",
                   "study.qdpx"):
        assert (tmp_path / output).exists(), output
