"""`qualcode demo` on the bundled study: every stage runs and writes what it says."""

from __future__ import annotations

from pathlib import Path

import pytest

from qualcode.demo import run_demo
from qualcode.errors import ProjectError


def test_the_demo_runs_every_stage_and_writes_its_outputs(tmp_path: Path) -> None:
    lines: list[str] = []
    result = run_demo(tmp_path / "demo", semantic=False, log=lines.append)
    numbers = result.numbers
    assert numbers["documents"] == 23 and numbers["segments"] == 762
    assert numbers["reference_codings"] == 721
    assert 0.3 <= numbers["rules_theme_kappa"] <= 1.0
    assert numbers["saturation_guest2020"] == "4+2"
    for path in result.outputs.values():
        assert Path(path).exists(), path
    assert (tmp_path / "demo" / "excerpts.docx").stat().st_size > 10_000
    assert (tmp_path / "demo" / "saturation" / "methods.md").read_text().count("Guest") >= 1
    assert any("721 of 721" in line for line in lines)
    with pytest.raises(ProjectError, match="--force"):
        run_demo(tmp_path / "demo", semantic=False, log=lines.append)
