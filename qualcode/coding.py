"""Selective coding of a project: run a machine coder and store its suggestions.

:func:`code_project` fits a coder on the project and stores its suggestions (status
``suggested``) in batches of whole documents, each batch one transaction: a run that fails
or is interrupted keeps every batch it committed, and running it again skips every code
this coder has already put on a segment (its suggestions, and a person's decisions on
them, are never touched again) while codes added to the codebook since are still
suggested there. Reviewing them is :class:`qualcode.review.ReviewSession`'s job (and
``qualcode review``'s).

>>> run = code_project("study.qualcode", "semantic")          # doctest: +SKIP
>>> run.stored, run.by_code                                    # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

from qualcode.coders import BaseCoder, FitReport, Suggestion, get_coder, suggestions_to_codings
from qualcode.errors import ParameterError, parameter_error
from qualcode.model import Coding, Segment
from qualcode.project import Project

__all__ = ["CodingRun", "check_codable", "code_project"]


# -- running a coder ---------------------------------------------------------------------
@dataclass
class CodingRun:
    """What :func:`code_project` did.

    ``segments``: segments considered; ``skipped``: segments this coder had coded before
    the run (only codes it had not put on them yet are suggested there); ``stored``: new
    suggestions stored; ``by_code`` / ``by_method``: those, counted.
    """

    project: str
    method: str
    coder: str
    documents: tuple[str, ...]
    segments: int = 0
    skipped: int = 0
    coded_segments: int = 0
    stored: int = 0
    batches: int = 0
    by_code: dict[str, int] = field(default_factory=dict)
    by_method: dict[str, int] = field(default_factory=dict)
    report: FitReport | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project, "method": self.method, "coder": self.coder,
            "documents": list(self.documents), "segments": self.segments,
            "skipped": self.skipped, "coded_segments": self.coded_segments,
            "stored": self.stored, "batches": self.batches,
            "by_code": dict(self.by_code), "by_method": dict(self.by_method),
            "report": None if self.report is None else self.report.to_dict(),
            "seconds": round(self.seconds, 3),
        }

    def to_frame(self):  # -> pandas.DataFrame
        """One row per code: code, method, suggestions stored in this run."""
        import pandas as pd

        methods = dict(self.report.methods) if self.report is not None else {}
        codes = list(dict.fromkeys([*methods, *self.by_code]))
        return pd.DataFrame(
            [{"code": c, "method": methods.get(c), "suggestions": self.by_code.get(c, 0)}
             for c in codes],
            columns=["code", "method", "suggestions"],
        )


def code_project(
    project: Project | str | PathLike[str],
    method: str | BaseCoder = "auto",
    coder: str | None = None,
    documents: str | Sequence[str] | None = None,
    *,
    learn_from: str | None = None,
    batch_size: int = 500,
    progress: Callable[[int, int], None] | None = None,
    **params: Any,
) -> CodingRun:
    """Run a machine coder over a project's segments and store its suggestions.

    ``method``: ``auto``, ``rules``, ``semantic``, ``supervised``, or a coder object: one
    already fitted (on other documents, or loaded from a pickle) is used as it is, an
    unfitted one is fitted on the project (a copy: the object you pass is left as it was).
    ``coder``: the name suggestions are stored under (default: the method's
    name). ``documents``: ids or glob patterns (default: all). ``learn_from``: whose
    accepted codings the supervised/auto coders learn from (their ``reference``).
    ``params`` go to the coder (``threshold=0.5``). ``batch_size``: segments per
    transaction (whole documents, at least one). ``progress(done, total)`` is called after
    each batch.
    """
    from qualcode.api import open_project

    owned = not isinstance(project, Project)
    target = open_project(project)
    try:
        return _code(target, method, coder, documents, learn_from, batch_size, progress,
                     params)
    finally:
        if owned:
            target.close()


def check_codable(project: Project) -> None:
    """Refuse, with what to do, a project that has no documents or no codebook yet.

    A usage error (exit code 2, as ``open-code`` on an empty project), not a
    :class:`ProjectError`: the store itself opened and is fine."""
    if len(project.documents) == 0:
        raise ParameterError(
            f"{project.path} has no documents yet: ingest transcripts first "
            f"(`qualcode ingest {project.path} FOLDER`)."
        )
    if project.codebook is None:
        raise ParameterError(
            f"{project.path} has no codebook: add one first "
            f"(`qualcode codebook set {project.path} FILE`)."
        )


def _code(project: Project, method: str | BaseCoder, coder: str | None,
          documents: str | Sequence[str] | None, learn_from: str | None, batch_size: int,
          progress: Callable[[int, int], None] | None, params: dict[str, Any]) -> CodingRun:
    started = time.perf_counter()
    if not isinstance(batch_size, int) or batch_size < 1:
        raise parameter_error("batch_size", "code_project()", "a positive integer", batch_size)
    check_codable(project)
    estimator = _estimator(method, learn_from, params)
    name = coder or estimator.name
    from qualcode.analysis.agreement import select_documents

    ids = None if documents is None else select_documents(project.documents.ids, documents)
    segments = project.segments(document=ids)
    run = CodingRun(str(project.path), estimator.method, name,
                    tuple(ids if ids is not None else project.documents.ids),
                    segments=len(segments))
    if not segments:
        raise ParameterError(f"The documents chosen in {project.path} have no segments.")

    if not estimator.fitted:
        estimator.fit(project)
    run.report = getattr(estimator, "report_", None)
    decided = _coded_pairs(project.codings(coder=name, document=ids), segments)
    coded = {key for key, _ in decided}
    run.skipped = sum(1 for s in segments if s.key in coded)

    done = 0
    batches = list(_document_batches(segments, batch_size))
    # Whole documents go in, so context features see every neighbour; only codes this
    # coder has not yet put on a segment come out (a code added to the codebook since the
    # last run is still suggested on segments coded then). A coder that works ahead (the
    # rules coder's worker processes) codes later batches while this one is stored.
    with contextlib.closing(_suggest_each(estimator)(batches, cache=project)) as suggested:
        for batch, batch_suggestions in zip(batches, suggested, strict=True):
            done += len(batch)
            suggestions = [s for s in batch_suggestions
                           if (s.segment.key, s.code_id) not in decided]
            new_ids = project.add_codings(suggestions_to_codings(suggestions, coder=name))
            run.batches += 1
            run.stored += len(new_ids)
            run.coded_segments += len({s.segment.key for s in suggestions})
            for s in suggestions:
                run.by_code[s.code_id] = run.by_code.get(s.code_id, 0) + 1
                run.by_method[s.method] = run.by_method.get(s.method, 0) + 1
            if progress is not None:
                progress(done, len(segments))
    run.seconds = time.perf_counter() - started
    return run


def _suggest_each(estimator: BaseCoder) -> Callable[..., Iterator[list[Suggestion]]]:
    """The coder's ``suggest_each``; but a subclass that changed ``suggest`` below the class
    that defined ``suggest_each`` is asked batch by batch through its own ``suggest``."""
    classes = type(estimator).__mro__
    defined = {name: next(i for i, c in enumerate(classes) if name in vars(c))
               for name in ("suggest", "suggest_each")}
    if defined["suggest"] < defined["suggest_each"]:
        return functools.partial(BaseCoder.suggest_each, estimator)
    return estimator.suggest_each


def _estimator(method: str | BaseCoder, learn_from: str | None, params: dict[str, Any]
               ) -> BaseCoder:
    if isinstance(method, BaseCoder):
        if params or learn_from:
            method = method.clone().set_params(**params)
            if learn_from:
                method.set_params(reference=learn_from)
        elif not method.fitted:
            method = method.clone()  # fitted on the project; the object given stays unfitted
        return method
    if not isinstance(method, str):
        raise parameter_error("method", "code_project()",
                              "a coder name or a coder object", type(method).__name__)
    from qualcode.coders import coder_class

    if learn_from:
        if "reference" not in coder_class(method)._param_names():
            raise ParameterError(
                f"The {method} coder does not learn from codings; --learn-from applies to "
                "supervised and auto (and semantic with calibrate)."
            )
        params = {**params, "reference": learn_from}
    return get_coder(method, **params)


def _coded_pairs(codings: Iterable[Coding], segments: Sequence[Segment]
                 ) -> set[tuple[tuple[str, int, int], str]]:
    """``(segment key, code)`` for each code that some coding (of this coder) puts on a
    segment (overlaps it)."""
    from qualcode.coders import segment_labels

    codings = list(codings)
    if not codings:
        return set()
    return {(s.key, code_id) for s, labels in zip(segments, segment_labels(segments, codings),
                                                  strict=True) for code_id in labels}


def _document_batches(segments: Sequence[Segment], size: int) -> Iterable[list[Segment]]:
    """Consecutive whole documents, about ``size`` segments a batch (one document at least)."""
    batch: list[Segment] = []
    current = None
    for segment in segments:
        if segment.document_id != current and len(batch) >= size:
            yield batch
            batch = []
        current = segment.document_id
        batch.append(segment)
    if batch:
        yield batch
