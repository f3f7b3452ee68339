"""How well a machine coder reproduces a person's coding, on documents it has not seen.

Train a coder on the codings one reference coder made in some documents, let it suggest
codes for the segments of other documents, and compare with what the reference coder did
there, segment by segment: per code precision, recall, F1 and Cohen's kappa, and their
macro averages (the mean over codes) beside the pooled (micro) figures.

>>> result = evaluate(project, reference="alice", train="P[1-8]_*",
...                   test="P9_*, P1[0-7]_*")                      # doctest: +SKIP
>>> result.macro.kappa                                             # doctest: +SKIP
>>> result.to_frame()                  # one row per code          # doctest: +SKIP

The unit is the segment, as for :mod:`qualcode.analysis.agreement`: a code is present in a
segment for the reference coder when any of their codings of it overlaps the segment, and
for the machine when it suggests the code for that segment (whatever the confidence: the
coder's own thresholds decide what it suggests). A figure is None when it is undefined:
precision when the machine never suggested the code, recall when the reference never used
it, F1 when neither did, kappa when chance agreement is total. Macro means are over the
codes where the figure is defined, and say how many those are.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from qualcode.analysis.agreement import _fmt, _mean, _round, cohen_kappa, select_documents
from qualcode.errors import NotFoundError, ParameterError, parameter_error
from qualcode.model import SEGMENT_KINDS, Codebook, Coding, Segment

if TYPE_CHECKING:
    import pandas as pd

    from qualcode.coders.base import BaseCoder, Suggestion
    from qualcode.project import Project

__all__ = ["CodeScore", "EvaluationResult", "Scores", "evaluate", "score_predictions"]


@dataclass(frozen=True)
class CodeScore:
    """One code: ``support`` segments the reference marked, ``predicted`` segments the
    machine marked, the confusion counts and the figures (None when undefined)."""

    code: str
    name: str
    theme: str | None
    support: int
    predicted: int
    tp: int
    fp: int
    fn: int
    tn: int
    precision: float | None
    recall: float | None
    f1: float | None
    kappa: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "name": self.name, "theme": self.theme,
            "support": self.support, "predicted": self.predicted, "tp": self.tp,
            "fp": self.fp, "fn": self.fn, "tn": self.tn,
            "precision": _round(self.precision), "recall": _round(self.recall),
            "f1": _round(self.f1), "kappa": _round(self.kappa),
        }


@dataclass(frozen=True)
class Scores:
    """Overall figures: ``macro`` (mean over codes; ``codes`` says over how many codes each
    mean was taken) or ``micro`` (all segment x code decisions pooled)."""

    kind: str
    precision: float | None
    recall: float | None
    f1: float | None
    kappa: float | None
    codes: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "precision": _round(self.precision), "recall": _round(self.recall),
            "f1": _round(self.f1), "kappa": _round(self.kappa),
        }
        if self.kind == "macro":
            out["codes"] = dict(self.codes)
        return out


@dataclass(frozen=True, eq=False)
class EvaluationResult:
    """What :func:`evaluate` measured: per-code :class:`CodeScore` values, ``macro`` and
    ``micro`` :class:`Scores`, and how: the reference coder, the machine coder and its
    parameters, the unit, the train and test documents, timings and notes."""

    reference: str
    coder: str
    params: Mapping[str, Any]
    level: str
    unit: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    training_codings: int
    segments: int
    codes: tuple[CodeScore, ...]
    macro: Scores
    micro: Scores
    seconds: Mapping[str, float] = field(default_factory=dict)
    fit_report: Mapping[str, Any] | None = None
    notes: tuple[str, ...] = ()

    @property
    def unit_description(self) -> str:
        return (f"{self.unit} segments of the test documents; a {self.level} is present for "
                f"the reference when any of its codings of "
                f"{'it' if self.level == 'code' else 'one of its codes'} overlaps the "
                "segment, and for the machine when it suggests it for the segment")

    def __getitem__(self, code: str) -> CodeScore:
        for item in self.codes:
            if item.code == code:
                return item
        raise NotFoundError(f"No {self.level} '{code}' in this evaluation.")

    def to_frame(self) -> pd.DataFrame:
        """One row per code: code, name, theme, support, predicted, tp, fp, fn, tn,
        precision, recall, f1, kappa (NaN where undefined)."""
        import pandas as pd

        frame = pd.DataFrame([
            {"code": c.code, "name": c.name, "theme": c.theme, "support": c.support,
             "predicted": c.predicted, "tp": c.tp, "fp": c.fp, "fn": c.fn, "tn": c.tn,
             "precision": c.precision, "recall": c.recall, "f1": c.f1, "kappa": c.kappa}
            for c in self.codes
        ])
        for column in ("precision", "recall", "f1", "kappa"):
            if column in frame:
                frame[column] = frame[column].astype(float)
        return frame

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready."""
        return {
            "reference": self.reference,
            "coder": self.coder,
            "params": {k: v if isinstance(v, (int, float, str, bool, type(None))) else repr(v)
                       for k, v in self.params.items()},
            "level": self.level,
            "unit": self.unit,
            "unit_description": self.unit_description,
            "train": list(self.train),
            "test": list(self.test),
            "training_codings": self.training_codings,
            "segments": self.segments,
            "macro": self.macro.to_dict(),
            "micro": self.micro.to_dict(),
            "codes": [c.to_dict() for c in self.codes],
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "fit_report": self.fit_report,
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        m, u = self.macro, self.micro
        lines = [
            f"{self.coder} coder vs {self.reference} ({self.level} level): trained on "
            f"{len(self.train)} documents ({self.training_codings} codings), tested on "
            f"{len(self.test)} documents ({self.segments} {self.unit} segments).",
            f"Unit: {self.unit_description}.",
            "Macro: " + ", ".join(
                f"{label} {_fmt(value)} ({m.codes.get(key, 0)} of {len(self.codes)}"
                + (f" {self.level}s)" if key == "precision" else ")")
                for label, key, value in (("precision", "precision", m.precision),
                                          ("recall", "recall", m.recall), ("F1", "f1", m.f1),
                                          ("kappa", "kappa", m.kappa)))
            + f"; each the mean over the {self.level}s where it is defined.",
            f"Micro: precision {_fmt(u.precision)}, recall {_fmt(u.recall)}, F1 {_fmt(u.f1)}, "
            f"kappa {_fmt(u.kappa)}.",
        ]
        lines.extend(self.notes)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from html import escape

        head = "".join(f"<th>{h}</th>" for h in (
            self.level, "support", "predicted", "precision", "recall", "F1", "kappa"))
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in (
                c.code, c.support, c.predicted, _fmt(c.precision), _fmt(c.recall),
                _fmt(c.f1), _fmt(c.kappa))) + "</tr>"
            for c in self.codes
        )
        lines = "<br>".join(escape(line) for line in self.summary().splitlines())
        return f"<p>{lines}</p><table><tr>{head}</tr>{body}</table>"

    def __str__(self) -> str:
        return self.summary()


# -- scoring ------------------------------------------------------------------------------------
def _ratio(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else numerator / denominator


def _score(code: str, name: str, theme: str | None, truth: np.ndarray, guess: np.ndarray
           ) -> CodeScore:
    tp = int(np.sum(truth & guess))
    fp = int(np.sum(~truth & guess))
    fn = int(np.sum(truth & ~guess))
    tn = int(np.sum(~truth & ~guess))
    return CodeScore(
        code, name, theme, tp + fn, tp + fp, tp, fp, fn, tn,
        _ratio(tp, tp + fp), _ratio(tp, tp + fn), _ratio(2 * tp, 2 * tp + fp + fn),
        cohen_kappa(truth.astype(float), guess.astype(float)),
    )


def score_predictions(
    segments: Sequence[Segment],
    reference: Iterable[Coding],
    predictions: Iterable[Suggestion] | Iterable[Coding],
    *,
    codebook: Codebook | None = None,
    level: str = "code",
    codes: Sequence[str] | None = None,
) -> tuple[tuple[CodeScore, ...], Scores, Scores]:
    """Per-code scores, macro and micro, of ``predictions`` (suggestions, or codings of a
    machine) against ``reference`` codings over ``segments``.

    ``codes`` are the codes (themes at ``level="theme"``) to score; by default the
    codebook's leaves (themes), else every code either side used.
    """
    from qualcode.coders.base import Suggestion, segment_labels

    if level not in ("code", "theme"):
        raise parameter_error("level", "evaluate()", "'code' or 'theme'", level)
    segments = list(segments)
    index = {s.key: i for i, s in enumerate(segments)}

    def label_of(code_id: str) -> str:
        if level == "theme" and codebook is not None and code_id in codebook:
            return codebook.theme_of(code_id)
        return code_id

    truth_sets = [{label_of(c) for c in labels}
                  for labels in segment_labels(segments, list(reference))]
    guess_sets: list[set[str]] = [set() for _ in segments]
    machine_codings = []
    for item in predictions:
        if isinstance(item, Suggestion):
            i = index.get(item.segment.key)
            if i is not None:
                guess_sets[i].add(label_of(item.code_id))
        else:
            machine_codings.append(item)
    if machine_codings:
        for i, labels in enumerate(segment_labels(segments, machine_codings)):
            guess_sets[i].update(label_of(c) for c in labels)
    if codes is not None:
        labels = list(dict.fromkeys(label_of(c) for c in codes))
        if codebook is not None:  # a typo would score as a code nobody used: say so
            used = set().union(*truth_sets, *guess_sets)
            missing = [c for c in labels if c not in codebook and c not in used]
            if missing:
                raise NotFoundError(f"No {level} {', '.join(map(repr, missing))} in the "
                                    "codebook or the codings.")
    elif codebook is not None:
        labels = [c.id for c in (codebook.themes if level == "theme" else codebook.leaves())]
    else:
        labels = sorted(set().union(*truth_sets, *guess_sets))
    truth = np.array([[label in s for label in labels] for s in truth_sets], dtype=bool)
    guess = np.array([[label in s for label in labels] for s in guess_sets], dtype=bool)
    truth = truth.reshape(len(segments), len(labels))
    guess = guess.reshape(len(segments), len(labels))
    scores = []
    for j, label in enumerate(labels):
        name, theme = label, None
        if codebook is not None and label in codebook:
            name, theme = codebook.get(label).name, codebook.theme_of(label)
        scores.append(_score(label, name, theme, truth[:, j], guess[:, j]))
    macro = Scores(
        "macro",
        _mean(s.precision for s in scores), _mean(s.recall for s in scores),
        _mean(s.f1 for s in scores), _mean(s.kappa for s in scores),
        {k: sum(getattr(s, k) is not None for s in scores)
         for k in ("precision", "recall", "f1", "kappa")},
    )
    pooled = _score("(all)", "", None, truth.ravel(), guess.ravel())
    micro = Scores("micro", pooled.precision, pooled.recall, pooled.f1, pooled.kappa)
    return tuple(scores), macro, micro


# -- training and testing ------------------------------------------------------------------------
def evaluate(
    project: Project,
    reference: str,
    train: str | Sequence[str],
    test: str | Sequence[str],
    *,
    coder: str | BaseCoder = "supervised",
    params: Mapping[str, Any] | None = None,
    level: str = "code",
    unit: str | None = None,
    codes: Sequence[str] | None = None,
) -> EvaluationResult:
    """Train ``coder`` on ``reference``'s accepted codings in the ``train`` documents, let
    it suggest codes for the ``test`` documents, and score it against ``reference`` there.

    ``train`` and ``test``: document ids or glob patterns, as a list or one
    comma-separated string (``"P[1-8]_*"``); they must not overlap. ``coder``: a coder
    name (``supervised``, ``semantic``, ``rules``, ``auto``) made with ``params``, or a
    coder object. ``unit``: the segment kind (the project's default when None).
    ``level``: ``"code"`` or ``"theme"``. ``codes``: the code (or theme) ids to score
    (default: the codebook's codes, or themes). Nothing is written to the project (cached
    embeddings aside). Returns an :class:`EvaluationResult`.
    """
    from qualcode.coders import get_coder
    from qualcode.coders.base import TrainingData

    if unit is not None and unit not in SEGMENT_KINDS:
        raise parameter_error("unit", "evaluate()", f"one of {', '.join(SEGMENT_KINDS)}", unit)
    codebook = project.codebook
    if codebook is None:
        raise ParameterError(f"{project.path} has no codebook; a coder needs one to evaluate.")
    known = project.documents.ids
    train_ids = select_documents(known, train, what="training documents")
    test_ids = select_documents(known, test, what="test documents")
    overlap = [d for d in train_ids if d in test_ids]
    if overlap:
        raise ParameterError(
            f"The training and test documents overlap ({', '.join(overlap[:5])}); a coder "
            "must be tested on documents it was not trained on."
        )
    coders = {c.coder for c in project.codings()}
    if reference not in coders:
        raise NotFoundError(f"No codings by coder '{reference}' in {project.path}. Coders: "
                            f"{', '.join(sorted(coders)) or 'none yet'}.")
    training = TrainingData.from_project(project, coder=reference, documents=train_ids,
                                         status="accepted", kind=unit)
    test_reference = project.codings(coder=reference, document=test_ids, status="accepted")
    notes = []
    if not training.codings and coder in ("supervised", "auto"):
        raise ParameterError(f"Coder '{reference}' has no accepted codings in the training "
                             "documents; there is nothing to learn from.")
    uncoded = sorted(set(test_ids) - {c.document_id for c in test_reference})
    if uncoded:
        notes.append(f"{reference} has no codings in test documents {', '.join(uncoded)}; "
                     "every machine suggestion there counts as a false positive.")
    if isinstance(coder, str):
        machine = get_coder(coder, **dict(params or {}))
        name = coder
    else:
        if params:
            coder.set_params(**dict(params))
        machine, name = coder, getattr(coder, "name", type(coder).__name__)
    started = time.perf_counter()
    machine.fit(training, codebook=codebook)
    fitted = time.perf_counter()
    segments = project.segments(document=test_ids, kind=unit)
    suggestions = machine.suggest(segments, cache=project)
    done = time.perf_counter()
    scores, macro, micro = score_predictions(segments, test_reference, suggestions,
                                             codebook=codebook, level=level, codes=codes)
    report = getattr(machine, "report_", None)
    return EvaluationResult(
        reference, name, dict(machine.get_params()) if hasattr(machine, "get_params") else {},
        level, segments[0].kind if segments else (unit or project.unit), tuple(train_ids),
        tuple(test_ids), len(training.codings), len(segments), scores, macro, micro,
        {"fit": fitted - started, "suggest": done - fitted},
        report.to_dict() if hasattr(report, "to_dict") else None, tuple(notes),
    )
