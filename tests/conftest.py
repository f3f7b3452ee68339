"""Fixtures shared by every test module: small hand-built projects and data paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import make_corpus

from qualcode.model import Code, Codebook, Corpus
from qualcode.project import Project

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
BUNDLED = ROOT / "corpora" / "ap-home-visits"
BUNDLED_CODEBOOK = ROOT / "codebooks" / "ap-home-visits.yaml"


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the checkout (CI has it); skipped where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    return SHARED_DATA


@pytest.fixture
def small_codebook() -> Codebook:
    return Codebook(
        "small",
        (
            Code("visits", name="Visits", definition="Why and how visits happen."),
            Code("attendance", name="Attendance", parent="visits",
                 definition="A visit because the pupil is absent.",
                 examples=("He hadn't been in all week so I went round.",),
                 keywords=("attendance", "absent")),
            Code("tea", name="Hospitality", parent="visits",
                 definition="Being offered or accepting a drink.",
                 examples=("She put the kettle on straight away.",),
                 keywords=("cup of tea", "kettle")),
        ),
    )


@pytest.fixture
def small_corpus() -> Corpus:
    return make_corpus({
        "d1": "INTERVIEWER: Why did you visit?\nAnna: He was absent all week.\n"
              "Anna: Mum put the kettle on.",
        "d2": "INTERVIEWER: Tell me more.\nBen: We went because of attendance.",
    })


@pytest.fixture
def project(tmp_path: Path, small_codebook: Codebook, small_corpus: Corpus):
    p = Project.create(tmp_path / "study.qualcode", codebook=small_codebook)
    p.add_corpus(small_corpus)
    yield p
    p.close()
