"""Evaluation of a machine coder against a reference coder on held-out documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from builders import make_corpus

from qualcode.analysis.evaluation import evaluate, score_predictions
from qualcode.coders.base import BaseCoder, Suggestion, TrainingData
from qualcode.errors import NotFoundError, ParameterError
from qualcode.model import Code, Codebook, Coding
from qualcode.project import Project

CODEBOOK = Codebook("visits", (
    Code("visits", name="Visits"),
    Code("attendance", name="Attendance", parent="visits"),
    Code("illness", name="Illness", parent="visits"),
    Code("home", name="Home"),
    Code("tea", name="Hospitality", parent="home"),
))
TURNS = [
    "He was absent again.",          # attendance
    "Mum made tea for us.",          # tea
    "She had the flu, absent.",      # illness (+ the word absent: a trap for word coders)
    "We talked about school.",       # nothing
]


class WordCoder(BaseCoder):
    """Learns, for each code, the words of its training segments that no uncoded segment
    has; suggests the code where such a word appears. Deterministic and instant."""

    method = "words"

    def __init__(self, *, minimum: int = 1) -> None:
        self.minimum = minimum

    def fit(self, project_or_data=None, codebook=None):
        assert isinstance(project_or_data, TrainingData)
        self.seen_documents_ = sorted({s.document_id for s in project_or_data.segments})
        words: dict[str, set[str]] = {}
        plain: set[str] = set()
        for segment, labels in zip(project_or_data.segments, project_or_data.labels(),
                                   strict=True):
            tokens = set(segment.text.lower().strip(".").replace(",", "").split())
            for code in labels:
                words.setdefault(code, set()).update(tokens)
            if not labels:
                plain |= tokens
        self.words_ = {c: w - plain for c, w in words.items()}
        return self

    def suggest(self, segments, *, cache=None):
        out = []
        for segment in segments:
            tokens = set(segment.text.lower().strip(".").replace(",", "").split())
            for code, words in self.words_.items():
                if tokens & words:
                    out.append(Suggestion(segment, code, 0.9, f"words {sorted(tokens & words)}",
                                          "words", "words"))
        return out


@pytest.fixture
def study(tmp_path: Path):
    texts = {f"D{i}": "\n".join(f"P{i}: {t}" for t in TURNS) for i in range(1, 6)}
    project = Project.create(tmp_path / "eval.qualcode", codebook=CODEBOOK)
    project.add_corpus(make_corpus(texts))
    codings = []
    for doc in texts:
        turns = project.segments(document=doc)
        for turn, code in ((0, "attendance"), (1, "tea"), (2, "illness")):
            segment = turns[turn]
            codings.append(Coding(doc, segment.start, segment.end, code, "ref"))
    project.add_codings(codings)
    yield project
    project.close()


def test_train_on_some_documents_and_score_the_others(study: Project) -> None:
    coder = WordCoder()
    result = evaluate(study, "ref", "D1,D2", "D[3-5]", coder=coder)
    assert coder.seen_documents_ == ["D1", "D2"]  # trained on the training documents only
    assert result.train == ("D1", "D2") and result.test == ("D3", "D4", "D5")
    assert result.segments == 12 and result.unit == "turn"
    assert result.training_codings == 6
    # "absent" is a word of both attendance and illness turns: each of the two codes is
    # also suggested for the other's turn (3 false positives each); tea is exact.
    attendance = result["attendance"]
    assert (attendance.tp, attendance.fp, attendance.fn, attendance.tn) == (3, 3, 0, 6)
    assert attendance.precision == pytest.approx(0.5) and attendance.recall == 1.0
    assert attendance.f1 == pytest.approx(2 / 3)
    # kappa: p_o 9/12, p_e (6/12)(3/12) + (6/12)(9/12) = 1/2 -> 1/2
    assert attendance.kappa == pytest.approx(0.5)
    assert result["illness"].kappa == pytest.approx(0.5) and result["tea"].kappa == 1.0
    assert [c.code for c in result.codes] == ["attendance", "illness", "tea"]
    assert result.macro.kappa == pytest.approx((0.5 + 0.5 + 1) / 3)
    assert result.macro.precision == pytest.approx((0.5 + 0.5 + 1) / 3)
    assert dict(result.macro.codes) == {"precision": 3, "recall": 3, "f1": 3, "kappa": 3}
    # Micro: 9 true positives, 6 false positives, no false negatives over 36 decisions.
    assert result.micro.precision == pytest.approx(0.6) and result.micro.recall == 1.0


def test_theme_level_merges_codes_of_a_theme(study: Project) -> None:
    result = evaluate(study, "ref", "D1,D2", "D3,D4,D5", coder=WordCoder(), level="theme")
    assert [c.code for c in result.codes] == ["visits", "home"]
    assert result["visits"].kappa == 1.0  # attendance for illness is still "visits"
    assert result["home"].kappa == 1.0


def test_undefined_figures_are_none_and_left_out_of_the_macro_means(study: Project) -> None:
    segments = study.segments(document="D3")
    reference = study.codings(document="D3", coder="ref", code="tea")
    predicted = [Suggestion(segments[1], "tea", 0.8, "r", "m", "m")]
    scores, macro, _ = score_predictions(segments, reference, predicted, codebook=CODEBOOK)
    by_code = {s.code: s for s in scores}
    never = by_code["attendance"]  # in neither: nothing is defined but the counts
    assert (never.precision, never.recall, never.f1, never.kappa) == (None, None, None, None)
    assert by_code["tea"].kappa == 1.0
    assert dict(macro.codes) == {"precision": 1, "recall": 1, "f1": 1, "kappa": 1}
    assert macro.kappa == 1.0


def test_summary_says_over_how_many_codes_each_macro_mean_was_taken(study: Project) -> None:
    # "home" is used by neither side: every figure of it is undefined, so each macro mean
    # is over 3 of the 4 codes, and the summary a reader copies must say so for each.
    result = evaluate(study, "ref", "D1,D2", "D[3-5]", coder=WordCoder(),
                      codes=["attendance", "illness", "tea", "home"])
    assert dict(result.macro.codes) == {"precision": 3, "recall": 3, "f1": 3, "kappa": 3}
    macro = next(line for line in str(result).splitlines() if line.startswith("Macro:"))
    assert macro == (
        "Macro: precision 0.667 (3 of 4 codes), recall 1.000 (3 of 4), F1 0.778 (3 of 4), "
        "kappa 0.667 (3 of 4); each the mean over the codes where it is defined.")


def test_missed_code_has_zero_recall_and_undefined_precision(study: Project) -> None:
    segments = study.segments(document="D3")
    reference = study.codings(document="D3", coder="ref")
    scores, _, _ = score_predictions(segments, reference, [], codebook=CODEBOOK)
    tea = {s.code: s for s in scores}["tea"]
    assert (tea.precision, tea.recall, tea.f1, tea.kappa) == (None, 0.0, 0.0, 0.0)


def test_predictions_may_be_codings(study: Project) -> None:
    segments = study.segments(document="D3")
    reference = study.codings(document="D3", coder="ref")
    machine = [Coding(c.document_id, c.start, c.start + 2, c.code_id, "m", method="rules")
               for c in reference]
    _, macro, micro = score_predictions(segments, reference, machine, codebook=CODEBOOK)
    assert macro.kappa == 1.0 and micro.f1 == 1.0


def test_results_are_json_ready(study: Project) -> None:
    result = evaluate(study, "ref", ["D1"], ["D2"], coder=WordCoder())
    data = json.loads(json.dumps(result.to_dict()))
    assert {"reference", "coder", "unit", "unit_description", "train", "test", "macro",
            "micro", "codes", "seconds"} <= set(data)
    assert set(data["macro"]) == {"precision", "recall", "f1", "kappa", "codes"}
    assert data["codes"][0]["code"] == "attendance" and "tp" in data["codes"][0]
    assert data["params"] == {"minimum": 1}
    frame = result.to_frame()
    assert list(frame.columns) == ["code", "name", "theme", "support", "predicted", "tp", "fp",
                                   "fn", "tn", "precision", "recall", "f1", "kappa"]
    assert "<table>" in result._repr_html_() and "Macro:" in str(result)


@pytest.mark.parametrize(
    ("reference", "train", "test", "error", "message"),
    [
        ("ref", "D1,D2", "D2,D3", ParameterError, r"overlap \(D2\)"),
        ("ref", "D9", "D2", NotFoundError, "No document matches 'D9'"),
        ("ref", "", "D2", ParameterError, "No training documents were named"),
        ("nobody", "D1", "D2", NotFoundError, "No codings by coder 'nobody'"),
    ],
)
def test_bad_requests(study: Project, reference, train, test, error, message) -> None:
    with pytest.raises(error, match=message):
        evaluate(study, reference, train, test, coder=WordCoder())


def test_unknown_coder_names_are_clear_errors(study: Project) -> None:
    with pytest.raises(NotFoundError, match="No coder named 'supervized'"):
        evaluate(study, "ref", "D1", "D2", coder="supervized")


@pytest.mark.slow
def test_the_supervised_coder_through_the_coder_contract(study: Project) -> None:
    result = evaluate(study, "ref", "D1,D2,D3", "D4,D5", coder="supervised",
                      params={"min_examples": 2, "cv": 3, "features": ["text", "tfidf"]})
    assert result.coder == "supervised" and result.params["min_examples"] == 2
    assert result.segments == 8 and len(result.codes) == 3
    assert result.fit_report is not None and result.seconds["fit"] > 0
    # Identical turns in every document: a learner that learned anything gets them right.
    assert result.macro.kappa is not None and result.macro.kappa > 0.5


def test_a_code_in_neither_the_codebook_nor_the_codings_is_an_error(study: Project) -> None:
    # As agreement() does: a typo must not score as a code nobody used.
    with pytest.raises(NotFoundError, match="No code 'pets' in the codebook or the codings"):
        evaluate(study, "ref", "D1,D2", "D[3-5]", coder=WordCoder(),
                 codes=["attendance", "pets"])
