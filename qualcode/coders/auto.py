"""The auto coder: the best method each code allows.

For each code: ``supervised`` when the reference coder has accepted at least
``min_examples`` segments of it; otherwise ``semantic`` when it has a definition,
inclusion criteria or examples (and sentence-transformers is installed); otherwise
``rules`` when it has keywords or patterns. ``fit`` reports the method chosen for every
code (and why a code gets none); each suggestion names the method that made it.

>>> coder = AutoCoder(reference="alice").fit(project)     # doctest: +SKIP
>>> print(coder.report_)                                   # doctest: +SKIP
auto: 32 codes coded
  supervised: attendance, ...
  semantic: ...
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from qualcode.coders.base import (
    BaseCoder,
    FitReport,
    Suggestion,
    TrainingData,
    _as_project,
    segment_labels,
)
from qualcode.coders.embeddings import DEFAULT_MODEL
from qualcode.errors import DependencyError
from qualcode.model import Codebook, Segment

if TYPE_CHECKING:
    from qualcode.project import Project

__all__ = ["AutoCoder"]


class AutoCoder(BaseCoder):
    """Supervised where a code has enough examples, else semantic, else rules.

    Parameters
    ----------
    model : embedding model for the semantic and supervised parts.
    reference : whose accepted codings to learn from (default: every coder's).
    codes : code ids to code (default: the codebook's leaves).
    min_examples : positive segments a code needs to be learned (8).
    threshold : the semantic part's similarity threshold (0.5).
    skip_interviewer : leave interviewer turns uncoded; None (default): the supervised
        part decides from the training codings, the others skip them.
    supervised_params, semantic_params, rules_params : more keyword arguments for each
        part, e.g. ``{"C": 0.5}``.
    """

    method = "auto"

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        reference: str | Sequence[str] | None = None,
        codes: Sequence[str] | None = None,
        min_examples: int = 8,
        threshold: float = 0.5,
        skip_interviewer: bool | None = None,
        supervised_params: Mapping[str, Any] | None = None,
        semantic_params: Mapping[str, Any] | None = None,
        rules_params: Mapping[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.reference = reference
        self.codes = codes
        self.min_examples = min_examples
        self.threshold = threshold
        self.skip_interviewer = skip_interviewer
        self.supervised_params = supervised_params
        self.semantic_params = semantic_params
        self.rules_params = rules_params

    def fit(self, project_or_data: Any = None, codebook: Codebook | None = None) -> AutoCoder:
        """Choose a method per code and fit each part on the codes it takes.

        ``project_or_data``: a project (codebook, accepted codings, embedding cache),
        training data / ``(segments, codings)`` with ``codebook=``, or None with
        ``codebook=`` (then nothing is learned: semantic and rules only).
        """
        from qualcode.coders.rules import RulesCoder
        from qualcode.coders.semantic import SemanticCoder, code_texts
        from qualcode.coders.supervised import SupervisedCoder

        self._check_number("min_examples", 2, 1_000_000, integer=True)
        book = self._codebook_from(project_or_data, codebook)
        remaining = self._select_codes(book)
        parts: dict[str, BaseCoder] = {}
        methods: dict[str, str] = {}
        skipped: dict[str, str] = {}
        notes: list[str] = []
        examples = self._example_counts(project_or_data, remaining)
        skip_others = True if self.skip_interviewer is None else self.skip_interviewer

        learnable = [c for c in remaining if examples.get(c, 0) >= self.min_examples]
        if learnable:
            supervised = SupervisedCoder(
                model=self.model, reference=self.reference, codes=learnable,
                min_examples=self.min_examples, skip_interviewer=self.skip_interviewer,
                **dict(self.supervised_params or {}),
            ).fit(project_or_data, codebook=book)
            if supervised.codes_:
                parts["supervised"] = supervised
                methods.update(dict.fromkeys(supervised.codes_, "supervised"))
        remaining = [c for c in remaining if c not in methods]

        described = [c for c in remaining if c not in code_texts(book, [c], (
            "definition", "include", "examples"))[1]]
        if described:
            try:
                semantic = SemanticCoder(
                    model=self.model, codes=described, threshold=self.threshold,
                    skip_interviewer=skip_others, **dict(self.semantic_params or {}),
                ).fit(_as_project(project_or_data), codebook=book)
            except DependencyError as exc:
                notes.append(f"semantic coding unavailable ({exc}); rules used instead")
            else:
                parts["semantic"] = semantic
                methods.update(dict.fromkeys(semantic.codes_, "semantic"))
        remaining = [c for c in remaining if c not in methods]

        with_rules = [c for c in remaining if book.get(c).keywords or book.get(c).patterns]
        if with_rules:
            rules = RulesCoder(codes=with_rules, skip_interviewer=skip_others,
                               **dict(self.rules_params or {})).fit(project_or_data,
                                                                   codebook=book)
            parts["rules"] = rules
            methods.update(dict.fromkeys(rules.codes_, "rules"))
        for code_id in remaining:
            if code_id not in methods:
                skipped[code_id] = (f"{examples.get(code_id, 0)} examples, no description "
                                    "and no keywords")

        order = {c: i for i, c in enumerate(self._select_codes(book))}
        self.codebook_ = book
        self.parts_ = parts
        self.methods_ = dict(sorted(methods.items(), key=lambda kv: order[kv[0]]))
        self.codes_ = tuple(self.methods_)
        self.examples_ = examples
        counts = {m: sum(1 for v in methods.values() if v == m) for m in parts}
        notes.insert(0, ", ".join(f"{m}: {n} codes" for m, n in counts.items()) or
                     "no code can be coded")
        self.report_ = FitReport(
            "auto", self.methods_, skipped,
            {c: {"examples": examples.get(c, 0)} for c in order}, tuple(notes),
        )
        return self

    def _example_counts(self, project_or_data: Any, codes: list[str]) -> dict[str, int]:
        """Positive segments per code in the reference coder's accepted codings."""
        project = _as_project(project_or_data)
        if project is not None:
            codings = project.codings(coder=self.reference, status="accepted")
            if not codings:
                return {}
            data = TrainingData(tuple(project.segments(document=sorted(
                {c.document_id for c in codings}))), tuple(codings))
        elif isinstance(project_or_data, TrainingData):
            data = project_or_data
        elif isinstance(project_or_data, tuple) and len(project_or_data) == 2:
            data = TrainingData(tuple(project_or_data[0]), tuple(project_or_data[1]))
        else:
            return {}
        counts: dict[str, int] = {}
        for labels in segment_labels(data.segments, data.codings):
            for code_id in labels:
                counts[code_id] = counts.get(code_id, 0) + 1
        return {c: counts[c] for c in codes if c in counts}

    def suggest(
        self, segments: Iterable[Segment], *, cache: Project | None = None
    ) -> list[Suggestion]:
        """Every part's suggestions for its own codes, in segment order; each names the
        method that made it and carries this coder's name."""
        self._check_fitted()
        given = self._segments_in(segments, False)
        by_key: dict[tuple[str, int, int], list[Suggestion]] = {}
        for method, part in self.parts_.items():
            for suggestion in part.suggest(given, cache=cache):
                if self.methods_.get(suggestion.code_id) == method:
                    by_key.setdefault(suggestion.segment.key, []).append(
                        replace(suggestion, coder=self.name))
        return [s for segment in given for s in by_key.pop(segment.key, [])]
