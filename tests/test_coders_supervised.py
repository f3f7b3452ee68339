"""The supervised coder, its training data and context features."""

from __future__ import annotations

from pathlib import Path

import coder_data
import numpy as np
import pytest

from qualcode.coders import TrainingData, segment_labels
from qualcode.coders.supervised import (
    SupervisedCoder,
    _best_threshold,
    _context,
    _Featuriser,
    _pooled,
)
from qualcode.errors import ParameterError
from qualcode.ingest.turns import numbered_prompt
from qualcode.model import Coding, Document, Segment
from qualcode.project import Project


def test_segment_labels_use_overlap() -> None:
    doc = Document("d", "aaaa bbbb cccc")
    segments = [Segment.of(doc, 0, 4), Segment.of(doc, 5, 9), Segment.of(doc, 10, 14)]
    codings = [Coding("d", 2, 6, "x", coder="p"),  # overlaps the first two
               Coding("d", 9, 10, "y", coder="p"),  # only the space between: no segment
               Coding("d", 12, 13, "z", coder="p"), Coding("e", 0, 4, "w", coder="p")]
    assert segment_labels(segments, codings) == [
        frozenset({"x"}), frozenset({"x"}), frozenset({"z"})]


def test_training_data_from_a_project_filters_coder_and_documents(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p.qualcode", codebook=coder_data.CODEBOOK) as project:
        project.add_corpus(coder_data.corpus())
        project.add_codings(coder_data.codings("alice") + coder_data.codings("bob")[:2])
        data = TrainingData.from_project(project, coder="bob", documents=["d1"])
    assert {s.document_id for s in data.segments} == {"d1"}
    assert [c.coder for c in data.codings] == ["bob", "bob"]
    assert sum(bool(labels) for labels in data.labels()) == 2


@pytest.mark.parametrize(
    ("metric", "expected"),
    # f1: the top four (6/7); kappa: the top two (0.32 / 0.52), which F1 ranks lower.
    [("f1", (0.55, 6 / 7)), ("kappa", (0.75, 0.32 / 0.52))],
)
def test_best_threshold_cuts_midway_below_the_best_score(metric, expected) -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    truth = np.array([True, True, False, True, False])
    threshold, value = _best_threshold(scores, truth, metric)
    assert threshold == pytest.approx(expected[0])
    assert value == pytest.approx(expected[1], abs=1e-6)


def test_context_features_stay_inside_each_document() -> None:
    segments = [s for s in coder_data.segments() if s.document_id in ("d1", "d2")]
    vectors = np.arange(len(segments), dtype=np.float32)[:, None] + 1  # row i holds i + 1
    neighbours = _context("neighbours", segments, vectors)
    assert neighbours[0].tolist() == [0, 2] and neighbours[5].tolist() == [5, 0]
    assert neighbours[6].tolist() == [0, 8]  # d2 starts: no previous neighbour from d1
    prompt = _context("prompt", segments, vectors)
    # The latest interviewer turn before each segment (d1: turns 0 and 3 are questions).
    assert prompt[:, 0].tolist() == [0, 1, 1, 1, 4, 4, 0, 7, 7, 7, 7, 11]
    position = _context("position", segments, vectors)
    assert position.shape == (12, 11)
    assert position[0].argmax() == 0 and position[5].argmax() == 10
    form = _context("form", segments, vectors)
    assert form[:, 0].tolist() == [s.role == "interviewer" for s in segments]
    assert form[0, 2] == 1  # "Why did you go?" is a question


def test_best_threshold_respects_the_rate_cap() -> None:
    # Unconstrained, the best kappa (0.6) predicts five segments for three positives;
    # at most 1.2 x 3 = 3.6 allowed, the best is the top three (kappa 0.22 / 0.42).
    scores = np.linspace(1.0, 0.1, 10)
    truth = np.array([True, False, True, False, True] + [False] * 5)
    threshold, value = _best_threshold(scores, truth, "kappa")
    assert (scores >= threshold).sum() == 5 and value == pytest.approx(0.6)
    threshold, value = _best_threshold(scores, truth, "kappa", max_rate=1.2)
    assert (scores >= threshold).sum() == 3 and value == pytest.approx(0.22 / 0.42)


@pytest.mark.parametrize(("text", "level"), [
    ("3 Submit a query using the input options.", 1), ("3.a Please explain aloud.", 2),
    ("c.ii Data Lineage", 2), ("I think 3 is fine.", None), ("(The participant reads)", None),
])
def test_numbered_prompt_levels(text, level) -> None:
    assert numbered_prompt(text) == level


def test_task_feature_holds_the_prompt_and_its_top_level_task() -> None:
    text = ("4 Explore the tab.\n4.a Read the paragraph.\nIt is clear.\n"
            "4.b Discuss the buttons.\nThey help.\n")
    doc = Document("d", text)
    spans, start = [], 0
    for line in text.splitlines(keepends=True):
        spans.append((start, start + len(line) - 1))
        start += len(line)
    roles = [None, None, "participant", None, "participant"]
    segments = [Segment.of(doc, a, b, role=r) for (a, b), r in zip(spans, roles, strict=True)]
    other = Document("e", "It is clear.")
    segments.append(Segment.of(other, 0, 12, role="participant"))
    vectors = np.arange(len(segments), dtype=np.float32)[:, None] + 1  # row i holds i + 1
    task = _context("task", segments, vectors)
    # columns: the latest prompt, the latest top-level prompt (0: none yet)
    assert task.tolist() == [[0, 0], [1, 1], [2, 1], [2, 1], [4, 1], [0, 0]]


def test_sentence_pooling_takes_the_maximum_and_the_mean() -> None:
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], dtype=np.float32)
    pieces = np.array([[0.2, 0.9], [0.8, 0.1], [0.3, 0.3]], dtype=np.float32)
    owner = np.array([1, 1, 2])  # segment 0 has one sentence
    pooled = _pooled(vectors, pieces, owner)
    assert pooled[0].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert pooled[1].tolist() == pytest.approx([0.8, 0.9, 0.5, 0.5])
    assert pooled[2].tolist() == pytest.approx([0.3, 0.3, 0.3, 0.3])


def test_definition_similarity_takes_the_best_sentence() -> None:
    featuriser = _Featuriser(("definitions",), "unused", 8, None)
    featuriser.definition_codes = ["a", "b"]
    featuriser.definition_column = [0, 0, 1]  # code a has two texts, b one
    featuriser.definition_vectors = np.array([[1, 0], [0.6, 0.8], [0, 1]], dtype=np.float32)
    vectors = np.array([[1, 0], [0.6, 0.8]], dtype=np.float32)
    pieces = np.array([[0, 1]], dtype=np.float32)  # a sentence of segment 0 matches b
    similarity = featuriser._definitions(vectors, pieces, np.array([0]))
    assert similarity.ravel().tolist() == pytest.approx([1.0, 1.0, 1.0, 0.8])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"features": ("text", "gossip")}, "'features' parameter of SupervisedCoder"),
        ({"metric": "accuracy"}, "'metric' parameter of SupervisedCoder"),
        ({"min_examples": 1}, "'min_examples' parameter of SupervisedCoder"),
        ({"cv": 1}, "'cv' parameter of SupervisedCoder"),
    ],
)
def test_bad_parameters_are_refused_by_fit(params: dict, message: str) -> None:
    data = TrainingData(tuple(coder_data.segments()), tuple(coder_data.codings()))
    with pytest.raises(ParameterError, match=message):
        SupervisedCoder(**params).fit(data, coder_data.CODEBOOK)


def test_fit_needs_training_data() -> None:
    with pytest.raises(ParameterError, match="must be a Project, a TrainingData or a"):
        SupervisedCoder().fit(["not", "data"], coder_data.CODEBOOK)


@pytest.mark.slow
def test_codes_with_too_few_examples_are_left_to_other_methods() -> None:
    codings = [c for c in coder_data.codings() if c.code_id != "dogs" or c.document_id == "d1"]
    data = TrainingData(tuple(coder_data.segments()), tuple(codings))
    coder = SupervisedCoder(min_examples=2, cv=3, features=("text",)).fit(
        data, coder_data.CODEBOOK)
    assert set(coder.codes_) == {"attendance", "tea"}
    assert coder.report_.skipped == {"dogs": "1 example (needs 2)"}
    assert "too few examples: left to other methods" in str(coder.report_)


@pytest.mark.slow
def test_learns_from_two_interviews_and_codes_the_third() -> None:
    train = [s for s in coder_data.segments() if s.document_id != "d3"]
    test = [s for s in coder_data.segments() if s.document_id == "d3"]
    codings = [c for c in coder_data.codings() if c.document_id != "d3"]
    coder = SupervisedCoder(min_examples=2, cv=2, features=("text", "tfidf")).fit(
        TrainingData(tuple(train), tuple(codings)))
    assert coder.codebook_ is None and set(coder.codes_) == {"attendance", "dogs", "tea"}
    found = {(s.segment.index, s.code_id) for s in coder.suggest(test)}
    # Two examples per code: most, not necessarily all, of the third interview is found.
    assert len({(1, "attendance"), (2, "tea"), (3, "dogs")} & found) >= 2
    reason = next(s.reason for s in coder.suggest(test) if s.code_id == "dogs")
    assert reason.startswith("classifier for dogs: p=")
    assert "nearest training example:" in reason and "strongest features:" in reason


@pytest.mark.slow
def test_interviewer_turns_are_coded_when_the_reference_coded_them() -> None:
    segments = coder_data.segments()
    questions = [Coding(s.document_id, s.start, s.end, "prompt", coder="alice")
                 for s in segments if s.role == "interviewer"]
    data = TrainingData(tuple(segments), tuple(coder_data.codings() + questions))
    coder = SupervisedCoder(min_examples=2, cv=3).fit(data)
    assert coder.skip_interviewer_ is False
    coded = {s.segment.key for s in coder.suggest(segments) if s.code_id == "prompt"}
    assert coded == {s.key for s in segments if s.role == "interviewer"}
    assert SupervisedCoder(min_examples=2, cv=3, skip_interviewer=True).fit(
        data).skip_interviewer_ is True


@pytest.mark.slow
def test_max_codes_limits_suggestions_per_segment() -> None:
    data = TrainingData(tuple(coder_data.segments()), tuple(coder_data.codings()))
    coder = SupervisedCoder(min_examples=2, cv=3, max_codes=1).fit(data, coder_data.CODEBOOK)
    found = coder.suggest(coder_data.segments())
    keys = [s.segment.key for s in found]
    assert found and len(keys) == len(set(keys))


def test_a_project_teaches_only_from_documents_a_person_has_coded(tmp_path: Path) -> None:
    from qualcode.coders.base import training_data_from

    with Project.create(tmp_path / "p.qualcode", codebook=coder_data.CODEBOOK) as project:
        project.add_corpus(coder_data.corpus())
        with pytest.raises(ParameterError, match="found no accepted codings by 'alice'"):
            SupervisedCoder(reference="alice").fit(project)
        project.add_codings([c for c in coder_data.codings() if c.document_id != "d2"])
        data = training_data_from(project, coder="alice", where="test")
    # d2 has no codings yet: its segments are not known to lack the codes.
    assert {s.document_id for s in data.segments} == {"d1", "d3"}
