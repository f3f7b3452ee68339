"""benchmarks/generate.py: seeded, varied, and what it writes ingests as a study."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import pytest

from qualcode.ingest import load_corpus

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def generate():
    """benchmarks/generate.py, imported from its path (benchmarks/ is not a package)."""
    name = "qualcode_benchmarks_generate"
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while being made
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[name]


def test_the_same_seed_gives_the_same_text_and_another_seed_other_text(generate) -> None:
    first = list(generate.generate_transcripts(3, seed=7))
    assert first == list(generate.generate_transcripts(3, seed=7))
    assert first != list(generate.generate_transcripts(3, seed=8))
    answers = [r["response"] for r in generate.generate_responses(50, seed=7)]
    assert answers == [r["response"] for r in generate.generate_responses(50, seed=7)]
    assert len(set(answers)) >= 45  # varied, not one answer repeated


def test_transcripts_ingest_with_their_cases(generate, tmp_path: Path) -> None:
    counts = generate.write_transcripts(tmp_path, documents=4, seed=1)
    assert counts["documents"] == 4
    corpus = load_corpus(tmp_path, cases=tmp_path / "cases.csv")
    assert len(corpus.documents) == 4 and not corpus.report.documents_without_cases
    for document in corpus.documents:
        turns = [s for s in corpus.segments if s.document_id == document.id]
        roles = {s.role for s in turns}
        assert roles == {"interviewer", "participant"}
        participant = document.attributes["participant"]
        assert {s.speaker for s in turns if s.role == "participant"} == {participant}
        assert document.attributes["setting"] in generate.SETTINGS


def test_participants_are_renamed(generate) -> None:
    study = generate.load_study()
    originals = {i.participant for i in study.interviews}
    for _, text, attributes in generate.generate_transcripts(10, seed=3):
        speakers = {line.split(",")[0].split("] ")[-1] for line in text.split("\n\n")
                    if not line.split(": ")[0].endswith("INTERVIEWER")}
        assert speakers == {attributes["participant"]}
        assert not speakers & originals - set(generate.FIRST_NAMES)


def test_a_survey_csv_ingests_one_document_per_answer(generate, tmp_path: Path) -> None:
    path = tmp_path / "survey.csv"
    counts = generate.write_survey(path, responses=30, seed=2)
    assert counts["responses"] == 30 and counts["distinct_share"] > 0.9
    with path.open(encoding="utf-8") as table:
        assert next(csv.reader(table)) == ["id", "setting", "role", "phase", "response"]
    corpus = load_corpus(path, text_column="response", id_column="id")
    assert len(corpus.documents) == len(corpus.segments) == 30
    assert corpus.documents[0].attributes["setting"] in generate.SETTINGS
