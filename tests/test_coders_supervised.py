"""The supervised coder, its training data and context features."""

from __future__ import annotations

from pathlib import Path

import coder_data
import numpy as np
import pytest

from qualcode.coders import TrainingData, segment_labels
from qualcode.coders.base import embedding_cache
from qualcode.coders.supervised import (
    AUTO_GRIDS,
    SupervisedCoder,
    _agreement,
    _best_threshold,
    _context,
    _Featuriser,
    _gram,
    _held_out_score,
    _pooled,
    _Space,
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
    # it keeps the project for its embedding cache (evaluate() fits on such data), and
    # nothing else depends on it
    assert embedding_cache(data) is project and embedding_cache(project) is project
    plain = TrainingData(data.segments, data.codings)
    assert embedding_cache(plain) is None and plain == data
    assert embedding_cache((data.segments, data.codings)) is None


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


# -- settings chosen by grouped cross-validation -------------------------------------------

def _study(n_documents: int, turns: int = 12, seed: int = 0) -> TrainingData:
    """Synthetic interviews: a turn mentioning "kettle" (or "biscuit") is coded tea, one
    mentioning "absent" attendance; some filler words, and a few turns miscoded."""
    from builders import make_corpus

    rng = np.random.default_rng(seed)
    filler = ["we talked", "it was fine", "the weather turned", "nothing much happened",
              "she smiled", "I wrote notes", "the bus was late"]
    texts, labels = {}, {}
    for d in range(n_documents):
        lines = []
        for i in range(turns):
            words = [str(rng.choice(filler)), str(rng.choice(filler))]
            codes = []
            if rng.random() < 0.3:
                words.append(str(rng.choice(["the kettle went on", "a biscuit and tea"])))
                codes.append("tea")
            if rng.random() < 0.3:
                words.append("he was absent again")
                codes.append("attendance")
            if rng.random() < 0.1:  # a miscoded turn
                codes = codes[:-1] if codes else ["tea"]
            lines.append(f"P{d}: {' and '.join(words)}.")
            labels[(f"doc{d}", i)] = codes
        texts[f"doc{d}"] = "\n".join(lines)
    corpus = make_corpus(texts)
    codings = tuple(Coding(s.document_id, s.start, s.end, code, coder="alice")
                    for s in corpus.segments for code in labels[(s.document_id, s.index)])
    return TrainingData(corpus.segments, codings)


_FAST = {"features": ("tfidf", "form", "position"), "min_examples": 3}
_SELECT = {**_FAST, "combine": "select"}


def test_auto_settings_are_chosen_by_grouped_cross_validation() -> None:
    data = _study(6)
    coder = SupervisedCoder(**_SELECT, cv=3, C=[0.1, 10.0], max_rate=[1.0, None],
                            definitions_weight=3).fit(data)
    chosen = coder.chosen_
    assert chosen["selected"] is True and chosen["documents"] == 6 and chosen["folds"] == 3
    assert chosen["combinations"] == 4 == len(coder.selection_)
    scores = [row["cv_kappa"] for row in coder.selection_]
    assert scores == sorted(scores, reverse=True)
    best = coder.selection_[0]
    assert chosen["cv_kappa"] == best["cv_kappa"] and all(
        chosen[k] == best[k] for k in ("C", "max_rate", "definitions_weight"))
    assert chosen["C"] in (0.1, 10.0) and chosen["definitions_weight"] == 3.0
    assert "settings chosen by grouped cross-validation over 6 documents (3 folds" in str(
        coder.report_.notes)
    # Deterministic: the same choice and thresholds again.
    again = SupervisedCoder(**_SELECT, cv=3, C=[0.1, 10.0], max_rate=[1.0, None],
                            definitions_weight=3).fit(data)
    assert again.chosen_ == chosen and again.thresholds_ == coder.thresholds_
    # It learned something: the tea turns of a new interview score above the others.
    test = _study(1, turns=40, seed=1)
    truth = {s.segment.key for s in coder.suggest(test.segments) if s.code_id == "tea"}
    tea = {c.document_id + str(c.start) for c in test.codings if c.code_id == "tea"}
    found = {f"{d}{a}" for d, a, _ in truth}
    assert len(found & tea) >= len(tea) // 2


def test_the_first_combination_wins_a_tie() -> None:
    # Caps this loose never bind: every candidate ties.
    coder = SupervisedCoder(**_SELECT, cv=3, C=1.0, max_rate=[500.0, 100.0, 1000.0]).fit(
        _study(4))
    assert coder.chosen_["selected"] is True and coder.chosen_["max_rate"] == 500.0
    assert len({row["cv_kappa"] for row in coder.selection_}) == 1
    # Without definition columns, the weights change nothing: only the first is tried.
    assert coder.chosen_["definitions_weight"] == AUTO_GRIDS["definitions_weight"][0]
    assert coder.chosen_["combinations"] == 3


@pytest.mark.parametrize("combine", ["select", "average"])
def test_too_few_documents_fall_back_to_the_first_candidates(combine: str) -> None:
    coder = SupervisedCoder(**_FAST, combine=combine).fit(_study(2))  # every setting "auto"
    chosen = coder.chosen_
    assert chosen["selected"] is False and coder.selection_ == ()
    assert chosen["max_rate"] == AUTO_GRIDS["max_rate"][0]
    if combine == "select":
        assert (chosen["C"], chosen["definitions_weight"]) == (
            AUTO_GRIDS["C"][0], AUTO_GRIDS["definitions_weight"][0])
    else:  # averaging needs no choice: every candidate classifier is kept
        assert chosen["C"] == AUTO_GRIDS["C"] and len(coder.members_) == len(AUTO_GRIDS["C"])
    assert "2 training documents: too few for grouped folds" in chosen["reason"]
    assert "settings not chosen (2 training documents" in str(coder.report_)
    assert set(coder.codes_) == {"tea", "attendance"}


def test_average_combines_every_candidate_classifier() -> None:
    data = _study(5)
    coder = SupervisedCoder(**_FAST, cv=3, C=[0.1, 10.0], max_rate=[1.0, None],
                            definitions_weight=[1.0, 2.0]).fit(data)
    chosen = coder.chosen_
    assert chosen["combine"] == "average" and chosen["selected"] is True
    # No definitions feature: only the first weight is used.
    assert chosen["C"] == (0.1, 10.0) and chosen["definitions_weight"] == 1.0
    assert chosen["combinations"] == 2 and chosen["max_rate"] in (1.0, None)
    assert coder.members_ == ((1.0, 0.1), (1.0, 10.0))
    assert all(len(models) == 2 for models in coder.classifiers_.values())
    assert "probabilities of 2 classifiers averaged" in str(coder.report_.notes)
    # The average of the members' probabilities decides.
    test = _study(1, turns=20, seed=2)
    found = {(s.segment.key, s.code_id) for s in coder.suggest(test.segments)}
    matrix, _ = coder.featuriser_.transform(list(test.segments), None)
    mean = np.mean([model.predict_proba(matrix)[:, 1] for model in coder.classifiers_["tea"]],
                   axis=0)  # no definitions feature: the weights change nothing
    expected = {s.key for s, p in zip(test.segments, mean, strict=True)
                if p >= coder.thresholds_["tea"]}
    assert {key for key, code in found if code == "tea"} == expected


def test_one_document_falls_back_to_stratified_folds() -> None:
    coder = SupervisedCoder(**_FAST, cv=3).fit(_study(1, turns=40))
    assert coder.chosen_["selected"] is False and set(coder.codes_) == {"tea", "attendance"}


def test_selection_needs_a_code_with_enough_examples() -> None:
    coder = SupervisedCoder(**{**_FAST, "min_examples": 500}).fit(_study(4))
    assert coder.codes_ == () and coder.chosen_["selected"] is False
    assert coder.chosen_["reason"] == "no code has enough examples"
    assert coder.suggest(_study(1).segments) == []


def test_fixed_settings_are_used_as_given() -> None:
    coder = SupervisedCoder(**_FAST, C=0.7, max_rate=None, definitions_weight=2).fit(
        _study(4))
    assert coder.chosen_ == {"C": 0.7, "max_rate": None, "definitions_weight": 2.0,
                             "combine": "average", "selected": False, "documents": 4, "folds": None,
                             "cv_kappa": None, "combinations": 1}
    assert "settings: C=0.7, max_rate=None, definitions_weight=2.0" in coder.report_.notes


@pytest.mark.parametrize(
    ("params", "message"),
    [({"C": "big"}, "'C' parameter"), ({"C": []}, "'C' parameter"),
     ({"max_rate": 0.5}, "'max_rate' parameter"), ({"max_rate": [None, True]}, "'max_rate'"),
     ({"definitions_weight": None}, "'definitions_weight' parameter"),
     ({"combine": "vote"}, "'combine' parameter")],
)
def test_bad_settings_are_refused(params: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        SupervisedCoder(**_FAST, **params).fit(_study(3))


def test_held_out_thresholds_come_from_the_other_folds() -> None:
    scores = np.array([0.9, 0.2, 0.8, 0.1, 0.6, 0.5])
    truth = np.array([True, False, True, False, False, True])
    folds = [(np.array([2, 3, 4, 5]), np.array([0, 1])),
             (np.array([0, 1, 4, 5]), np.array([2, 3])),
             (np.array([0, 1, 2, 3]), np.array([4, 5]))]
    # Folds 1 and 2 cut between 0.8/0.9 and 0.2; fold 3 at 0.45 on the first four: the
    # last fold predicts 0.6 (wrong) and 0.5 (right): 5 of 6 agree.
    assert _held_out_score(scores, truth, folds, "kappa", None) == pytest.approx(
        _agreement(np.array([1, 0, 1, 0, 1, 1]), truth, "kappa"))
    assert _agreement(np.array([1, 0, 1, 0, 1, 1]), truth, "kappa") == pytest.approx(2 / 3)
    assert _agreement(np.array([1, 0, 1, 0, 1, 1]), truth, "f1") == pytest.approx(6 / 7)


def test_fitting_in_the_span_of_the_rows_gives_the_same_model() -> None:
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    dense = rng.normal(size=(40, 30))
    words = sparse.random(40, 200, density=0.02, random_state=1)
    matrix = sparse.hstack([dense, words], format="csr")
    assert np.allclose(_gram(matrix), (matrix @ matrix.T).toarray())
    truth = dense[:, 0] + 0.5 * rng.normal(size=40) > 0
    space = _Space(matrix)
    assert space.rows.shape == (40, 40)
    train = np.arange(30)

    def model():
        return LogisticRegression(C=0.5, class_weight="balanced", tol=1e-10, max_iter=10000)

    direct = model().fit(matrix[train], truth[train])
    reduced = space.original(model().fit(space.rows[train], truth[train]))
    assert np.allclose(reduced.coef_, direct.coef_, atol=1e-5)
    assert np.allclose(reduced.predict_proba(matrix[30:]), direct.predict_proba(matrix[30:]),
                       atol=1e-6)
    tall = _Space(matrix[:, :20])  # more rows than columns: fitted as they are
    assert tall.back is None and tall.rows.shape == (40, 20)


def test_definitions_weight_rescales_only_the_definition_columns() -> None:
    from scipy import sparse

    featuriser = _Featuriser(("text", "definitions"), "unused", 8, None)
    featuriser.blocks = [("text", 0, 2), ("definitions", 2, 4)]
    matrix = sparse.csr_matrix(np.ones((2, 4)))
    assert featuriser.weighted(matrix, 1.0) is matrix
    assert featuriser.weighted(matrix, 3.0).toarray().tolist() == [[1, 1, 3, 3]] * 2
    featuriser.definitions_weight = 3.0  # a matrix made at weight 3, wanted at 1
    assert featuriser.weighted(matrix, 1.0).toarray()[0].tolist() == pytest.approx(
        [1, 1, 1 / 3, 1 / 3])
