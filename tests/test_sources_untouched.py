"""Source files are never written (issue 8, part 3, first half).

A copy of the bundled study (transcripts, cases table, codebook, reference codings) goes
through the whole pipeline: init with the codebook, ingest with the cases, import of the
codings, the rules coder, agreement, saturation, every export, a REFI-QDA round trip and
pseudonymisation. Afterwards every source file has the same bytes and modification time,
and the source folders hold exactly the files they held before.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from qualcode import api


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """relative path -> (SHA-256, mtime in ns) of every file under ``root``."""
    return {
        str(path.relative_to(root)): (hashlib.sha256(path.read_bytes()).hexdigest(),
                                      path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*")) if path.is_file()
    }


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """A copy of the bundled study under ``tmp/sources``; outputs go to ``tmp/work``."""
    study = api.bundled_study()
    root = tmp_path / "sources"
    shutil.copytree(study["transcripts"], root / "transcripts")
    for name in ("cases", "codings", "codebook"):
        shutil.copy2(study[name], root / study[name].name)
    (tmp_path / "work").mkdir()
    return root


@pytest.mark.slow
def test_a_full_pipeline_run_leaves_every_source_file_as_it_was(sources: Path) -> None:
    from qualcode.analysis.agreement import agreement
    from qualcode.analysis.saturation import saturation
    from qualcode.codebook import validate_codebook
    from qualcode.coding import code_project
    from qualcode.codings_table import export_codings, import_codings
    from qualcode.export.excerpts import export_excerpts
    from qualcode.export.refiqda import export_qdpx, import_qdpx
    from qualcode.export.tables import export_tables
    from qualcode.privacy import anonymise
    from qualcode.project import Project

    before = snapshot(sources)
    assert len(before) == 23 + 3
    work = sources.parent / "work"
    project_path = work / "study.qualcode"

    validate_codebook(sources / "ap-home-visits.yaml")
    with api.init(project_path, codebook=sources / "ap-home-visits.yaml") as project:
        api.ingest(project, sources / "transcripts", cases=sources / "cases.csv")
        import_codings(project, sources / "codings.csv")
    code_project(project_path, "rules")
    with Project.open(project_path) as project:
        agreement(project, ["reference", "rules"])
        export_codings(project, work / "codings.csv")
    saturation(project_path, permutations=20).write_report(work / "saturation")
    export_excerpts(project_path, work / "excerpts.docx")
    export_tables(project_path, work / "tables")
    export_qdpx(project_path, work / "study.qdpx")
    exported = snapshot(work)["study.qdpx"]
    import_qdpx(work / "study.qdpx", work / "round-trip.qualcode")
    assert snapshot(work)["study.qdpx"] == exported  # an archive read is not written either
    anonymise(project_path, ner=False, apply=True, out=work / "anon.qualcode",
              key=work / "key.csv")

    assert snapshot(sources) == before
