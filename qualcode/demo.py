"""The whole pipeline on the bundled study: what ``qualcode demo`` runs.

It creates a project from ``corpora/ap-home-visits`` and its codebook, brings in the
reference coding, lets the machine coders suggest codes, measures their agreement with the
reference, reports saturation, and exports excerpts and tables, all into one folder, so a
new user sees each stage's output in a couple of minutes.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qualcode import api
from qualcode.errors import ProjectError

__all__ = ["DemoResult", "run_demo"]


@dataclass
class DemoResult:
    """Where the demo wrote things, and the headline numbers it saw."""

    out: Path
    outputs: dict[str, Path] = field(default_factory=dict)
    numbers: dict[str, Any] = field(default_factory=dict)


def run_demo(
    out: str | Path = "qualcode-demo",
    *,
    overwrite: bool = False,
    semantic: bool = True,
    log: Callable[[str], None] = print,
) -> DemoResult:
    """Run every stage on the bundled study, writing into ``out``.

    An existing ``out`` folder is refused unless ``overwrite=True`` (then it is replaced).
    ``semantic=False`` skips the sentence-embedding coder (the slowest stage).
    """
    from qualcode.analysis.saturation import saturation
    from qualcode.codings_table import import_codings

    out = Path(out)
    if out.exists():
        if not overwrite:
            raise ProjectError(f"{out} exists. Choose another --out or pass --force to replace it.")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    study = api.bundled_study()
    result = DemoResult(out)
    project_path = out / "ap-home-visits.qualcode"
    result.outputs["project"] = project_path

    log(f"1. Project {project_path} with codebook {study['codebook'].name}")
    with api.init(project_path, codebook=study["codebook"]) as project:
        log("2. Ingesting the bundled study (speaker turns, case attributes)")
        api.ingest(project, study["transcripts"], cases=study["cases"])
        data = project.info()
        log(f"   {data['documents']} interviews, {data['words']:,} words, "
            f"{data['segments']:,} turns, {len(data['speakers'])} speakers")
        result.numbers.update(documents=data["documents"], words=data["words"],
                              segments=data["segments"])

        report = import_codings(project, study["codings"], coder="reference")
        log(f"3. Reference coding imported: {report.located} of {report.rows} excerpts "
            "located in the transcripts")
        result.numbers["reference_codings"] = report.located

        _code_and_compare(project, result, log, semantic=semantic)
        if semantic:
            _open_code(project, out, result, log)

        log("5. Saturation of the reference coding (interviews in date order)")
        sat = saturation(project, coder="reference", seed=0)
        written = sat.write_report(out / "saturation")
        result.outputs.update({f"saturation {k}": Path(v) for k, v in written.items()})
        result.numbers["saturation_guest2020"] = sat.guest2020.label or sat.guest2020.reason
        log(f"   Guest et al. (2020): {result.numbers['saturation_guest2020']}; "
            f"Chao2 estimate {sat.chao2.estimate:.1f} codes")

        _export(project, out, result, log)
    return result


def _code_and_compare(project, result: DemoResult, log, *, semantic: bool) -> None:
    from qualcode.analysis.agreement import agreement
    from qualcode.coding import code_project

    methods = ["rules", "semantic"] if semantic else ["rules"]
    for method in methods:
        run = code_project(project, method=method)
        log(f"4. {method.capitalize()} coder: {run.stored} suggestions "
            "(status 'suggested', for review)")
        measured = agreement(project, coders=["reference", method], level="theme")
        kappa = measured.macro.kappa
        result.numbers[f"{method}_theme_kappa"] = kappa
        log(f"   agreement with the reference at theme level (unit: {measured.unit}): "
            f"Cohen's kappa {kappa:.2f}")


def _open_code(project, out: Path, result: DemoResult, log) -> None:
    from qualcode.opencoding import candidates

    found = candidates(project, seed=0)
    written = found.write_report(out / "open-coding")
    result.outputs.update({f"open coding {k}": Path(v) for k, v in written.items()})
    result.numbers["candidates"] = len(found)
    log(f"   open coding: {len(found)} candidate codes with keywords and typical quotes "
        "(open-coding/candidates.md); the codebook does not change until you accept one")


def _export(project, out: Path, result: DemoResult, log) -> None:
    from qualcode.export.excerpts import export_excerpts
    from qualcode.export.tables import export_tables

    docx = export_excerpts(project, out / "excerpts.docx", coder="reference", per_code=3)
    paths = export_tables(project, out / "tables", coder="reference")
    result.outputs["excerpts"] = docx
    result.outputs["tables"] = out / "tables"
    log(f"6. Excerpts for the paper ({docx.name}) and {len(paths)} tables and figures")
