"""The coder contract every machine coder follows, and the values coders exchange.

A coder is configured, fitted, then asked for suggestions (the scikit-learn estimator
contract):

- ``__init__`` only stores its keyword arguments (no checks, no work);
  :meth:`BaseCoder.get_params` returns them and :meth:`BaseCoder.clone` copies them;
- ``fit(project_or_data, codebook=None)`` learns and sets attributes whose names end in
  ``_`` (``codebook_``, ``codes_``, ``report_``, ...) and returns the coder;
- ``suggest(segments)`` returns a list of :class:`Suggestion` and never changes the coder.

Every suggestion has a confidence in [0, 1] and a reason a person can read. Suggestions
become :class:`~qualcode.model.Coding` values with status ``suggested`` through
:func:`suggestions_to_codings`; a person accepts or rejects them later.

>>> from qualcode.coders import get_coder
>>> coder = get_coder("rules").fit(project)                 # doctest: +SKIP
>>> suggestions = coder.suggest(project.segments())         # doctest: +SKIP
>>> project.add_codings(suggestions_to_codings(suggestions))  # doctest: +SKIP
"""

from __future__ import annotations

import bisect
import inspect
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from qualcode.errors import ParameterError, ProjectError, parameter_error
from qualcode.model import Codebook, Coding, Segment

if TYPE_CHECKING:
    from qualcode.project import Project

__all__ = [
    "MACHINE_METHODS",
    "BaseCoder",
    "FitReport",
    "Suggestion",
    "TrainingData",
    "segment_labels",
    "suggestions_to_codings",
]

# Methods that mark a coding as made by a machine coder (not a person).
MACHINE_METHODS: tuple[str, ...] = ("rules", "semantic", "supervised", "auto")


@dataclass(frozen=True)
class Suggestion:
    """A machine coder's proposal: apply ``code_id`` to ``segment``.

    ``confidence`` is in [0, 1]; ``reason`` says why in words a person can check (the
    matched words, the nearest example quote, the strongest features); ``method`` is the
    method that made it (``rules``, ``semantic``, ``supervised``); ``coder`` the name of the
    coder that was asked (``auto`` may answer with any method).
    """

    segment: Segment
    code_id: str
    confidence: float
    reason: str
    method: str
    coder: str

    def __post_init__(self) -> None:
        confidence = float(self.confidence)
        if math.isnan(confidence) or not 0.0 <= confidence <= 1.0:
            raise parameter_error("confidence", "Suggestion", "in [0, 1]", self.confidence)
        object.__setattr__(self, "confidence", confidence)
        if not self.reason or not self.reason.strip():
            raise ParameterError(
                f"A suggestion of '{self.code_id}' needs a reason a person can read."
            )

    @classmethod
    def from_checked(cls, row: Sequence[Any]) -> Suggestion:
        """A suggestion from values already checked (every field, in declaration order): a
        float confidence in [0, 1] and a reason that is not blank.

        Skips ``__post_init__``'s checks, as :meth:`Segment.from_checked
        <qualcode.model.Segment.from_checked>` does: the rules coder makes 100,000s.
        """
        suggestion = object.__new__(cls)
        values = suggestion.__dict__  # the fields in declaration order (a test checks)
        (values["segment"], values["code_id"], values["confidence"], values["reason"],
         values["method"], values["coder"]) = row
        return suggestion

    def to_coding(self, *, coder: str | None = None, status: str = "suggested") -> Coding:
        """The coding this suggestion proposes (the whole segment, ``status`` suggested)."""
        s = self.segment
        return Coding(
            s.document_id, s.start, s.end, self.code_id,
            coder=coder or self.coder, method=self.method,
            confidence=round(self.confidence, 4), status=status, reason=self.reason,
        )


def suggestions_to_codings(
    suggestions: Iterable[Suggestion], *, coder: str | None = None, status: str = "suggested"
) -> list[Coding]:
    """Codings for :meth:`Project.add_codings <qualcode.project.Project.add_codings>`.

    ``coder`` replaces each suggestion's coder name (the name they are stored under).
    """
    return [s.to_coding(coder=coder, status=status) for s in suggestions]


def segment_labels(
    segments: Sequence[Segment], codings: Iterable[Coding]
) -> list[frozenset[str]]:
    """The codes present in each segment: a code is present when any coding of it shares
    at least one character with the segment (the unit rule agreement uses too)."""
    by_document: dict[str, list[Coding]] = {}
    for coding in codings:
        by_document.setdefault(coding.document_id, []).append(coding)
    prepared = {}
    for doc_id, items in by_document.items():
        items.sort(key=lambda c: c.start)
        prepared[doc_id] = (items, [c.start for c in items])
    out = []
    for segment in segments:
        found: set[str] = set()
        entry = prepared.get(segment.document_id)
        if entry is not None:
            items, starts = entry
            # Codings starting before the segment ends may overlap it; those are few.
            for coding in items[: bisect.bisect_left(starts, segment.end)]:
                # At least one shared character, so an empty coding is in no segment.
                if max(coding.start, segment.start) < min(coding.end, segment.end):
                    found.add(coding.code_id)
        out.append(frozenset(found))
    return out


@dataclass(frozen=True)
class TrainingData:
    """Segments with the codings that label them: what a learning coder fits on.

    Build one from a project with :meth:`from_project` (choosing the coder and the
    documents to learn from), or from segments and codings you already have.
    """

    segments: tuple[Segment, ...]
    codings: tuple[Coding, ...]
    # The project it came from, for its embedding cache only (never for more codings).
    cache: Project | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "segments", tuple(self.segments))
        object.__setattr__(self, "codings", tuple(self.codings))

    @classmethod
    def from_project(
        cls,
        project: Project,
        *,
        coder: str | Sequence[str] | None = None,
        documents: str | Sequence[str] | None = None,
        status: str = "accepted",
        kind: str | None = None,
    ) -> TrainingData:
        """Segments of ``documents`` (all when None) and the ``status`` codings of
        ``coder`` (every coder when None) in them."""
        segments = project.segments(document=documents, kind=kind)
        codings = project.codings(document=documents, coder=coder, status=status)
        return cls(tuple(segments), tuple(codings), cache=project)

    def labels(self) -> list[frozenset[str]]:
        """The codes present in each segment (see :func:`segment_labels`)."""
        return segment_labels(self.segments, self.codings)


@dataclass(frozen=True)
class FitReport:
    """What ``fit`` decided for each code: which method codes it, or why none does.

    ``methods`` maps code id -> method (``rules``, ``semantic``, ``supervised``) for codes
    the coder will suggest; ``skipped`` maps code id -> the reason it will not.
    """

    coder: str
    methods: Mapping[str, str] = field(default_factory=dict)
    skipped: Mapping[str, str] = field(default_factory=dict)
    details: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "coder": self.coder,
            "methods": dict(self.methods),
            "skipped": dict(self.skipped),
            "details": {k: dict(v) for k, v in self.details.items()},
            "notes": list(self.notes),
        }

    def to_frame(self):  # -> pandas.DataFrame
        """One row per code: code, method (or None), reason skipped, details."""
        import pandas as pd

        codes = list(dict.fromkeys([*self.methods, *self.skipped]))
        rows = [
            {"code": c, "method": self.methods.get(c), "skipped": self.skipped.get(c),
             **dict(self.details.get(c, {}))}
            for c in codes
        ]
        return pd.DataFrame(rows)

    def __str__(self) -> str:
        lines = [f"{self.coder}: {len(self.methods)} codes coded"]
        by_method: dict[str, list[str]] = {}
        for code, method in self.methods.items():
            by_method.setdefault(method, []).append(code)
        for method, codes in by_method.items():
            lines.append(f"  {method}: {', '.join(codes)}")
        for code, why in self.skipped.items():
            lines.append(f"  not coded: {code} ({why})")
        lines.extend(f"  {note}" for note in self.notes)
        return "\n".join(lines)


class BaseCoder:
    """Base class of the coders: parameters, cloning, input checks.

    Subclasses define ``__init__`` with keyword-only parameters that it stores unchanged
    under the same names, ``fit`` and ``suggest``.
    """

    method: ClassVar[str] = "base"

    # -- parameters ------------------------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [
            name for name, p in signature.parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self) -> dict[str, Any]:
        """The keyword arguments this coder was made with (``name -> value``)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> BaseCoder:
        """Change parameters before fitting (unknown names are an error); returns self."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ParameterError(
                    f"{type(self).__name__} has no parameter '{name}'. "
                    f"Its parameters are: {', '.join(valid)}."
                )
            setattr(self, name, value)
        return self

    def clone(self) -> BaseCoder:
        """A new, unfitted coder with the same parameters."""
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        signature = inspect.signature(type(self).__init__)
        changed = [
            f"{name}={value!r}" for name, value in self.get_params().items()
            if signature.parameters[name].default is not value
            and signature.parameters[name].default != value
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    # -- the contract ----------------------------------------------------------------------
    def fit(self, project_or_data: Any = None, codebook: Codebook | None = None) -> BaseCoder:
        raise NotImplementedError

    def suggest(
        self, segments: Iterable[Segment], *, cache: Project | None = None
    ) -> list[Suggestion]:
        raise NotImplementedError

    def suggest_each(
        self, batches: Iterable[Iterable[Segment]], *, cache: Project | None = None
    ) -> Iterator[list[Suggestion]]:
        """What :meth:`suggest` gives for each batch of segments, batch by batch, as a
        generator (close it to stop early). A coder that can work ahead, such as the rules
        coder in worker processes, codes later batches while the caller stores earlier
        ones."""
        for batch in batches:
            yield self.suggest(batch, cache=cache)

    @property
    def name(self) -> str:
        """The coder name suggestions carry (the method's name)."""
        return self.method

    @property
    def fitted(self) -> bool:
        """True once ``fit`` has run."""
        return any(k.endswith("_") and not k.startswith("_") for k in vars(self))

    # -- helpers for subclasses -------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not self.fitted:
            raise ParameterError(
                f"This {type(self).__name__} is not fitted yet: call fit(project) (or "
                "fit(None, codebook)) before suggest()."
            )

    def _check_choice(self, name: str, choices: Sequence[Any]) -> None:
        value = getattr(self, name)
        if value not in choices:
            raise parameter_error(
                name, type(self).__name__, "one of " + ", ".join(map(repr, choices)), value
            )

    def _check_number(self, name: str, low: float, high: float, *, integer: bool = False) -> None:
        value = getattr(self, name)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and integer:
            ok = float(value).is_integer()
        if not ok or math.isnan(value) or not low <= value <= high:
            kind = "an integer" if integer else "a number"
            raise parameter_error(name, type(self).__name__, f"{kind} in [{low}, {high}]", value)

    def _codebook_from(self, project_or_data: Any, codebook: Codebook | None) -> Codebook:
        """The codebook to code with: the one given, else the project's."""
        if codebook is not None:
            if not isinstance(codebook, Codebook):
                raise parameter_error("codebook", f"{type(self).__name__}.fit()",
                                      "a Codebook", type(codebook).__name__)
            return codebook
        project = _as_project(project_or_data)
        if project is not None:
            book = project.codebook
            if book is None:
                raise ProjectError(
                    f"{project.path} has no codebook yet; a coder needs one. Add it with "
                    f"`qualcode codebook set {project.path} FILE`."
                )
            return book
        raise ParameterError(
            f"{type(self).__name__}.fit() needs a codebook: pass a project that has one, "
            "or codebook=."
        )

    def _select_codes(self, codebook: Codebook) -> list[str]:
        """The code ids to consider: the ``codes`` parameter, else the codebook's leaves."""
        wanted = getattr(self, "codes", None)
        if wanted is None:
            return [c.id for c in codebook.leaves()]
        if isinstance(wanted, str):
            wanted = [wanted]
        return [codebook.get(c).id for c in wanted]

    def _segments_in(self, segments: Iterable[Segment], skip_interviewer: bool) -> list[Segment]:
        """The segments to code (interviewer turns dropped when asked); checks their type."""
        out = []
        for segment in segments:
            if not isinstance(segment, Segment):
                raise parameter_error(
                    "segments", f"{type(self).__name__}.suggest()",
                    "an iterable of Segment values", type(segment).__name__,
                )
            if skip_interviewer and segment.role == "interviewer":
                continue
            out.append(segment)
        return out


def _as_project(value: Any) -> Project | None:
    from qualcode.project import Project

    return value if isinstance(value, Project) else None


def embedding_cache(value: Any) -> Project | None:
    """The project whose embedding cache a coder fitted on ``value`` may use: the project
    itself, or the one a :class:`TrainingData` was read from."""
    if isinstance(value, TrainingData):
        return value.cache
    return _as_project(value)


def training_data_from(value: Any, *, coder: str | Sequence[str] | None, where: str
                       ) -> TrainingData:
    """Training data from a project, a TrainingData, or a ``(segments, codings)`` pair.

    From a project: the accepted codings of ``coder`` (everyone's when None) and the
    segments of the documents that coder has coded; documents nobody has coded yet are
    left out, as their segments are not known to lack the codes.
    """
    project = _as_project(value)
    if project is not None:
        if len(project.documents) == 0:
            raise ProjectError(
                f"{project.path} has no documents; ingest transcripts before fitting {where}."
            )
        coded = sorted({c.document_id for c in project.codings(coder=coder, status="accepted")})
        if not coded:
            return TrainingData((), ())
        return TrainingData.from_project(project, coder=coder, documents=coded)
    if isinstance(value, TrainingData):
        return value
    if isinstance(value, tuple) and len(value) == 2:
        return TrainingData(tuple(value[0]), tuple(value[1]))
    raise parameter_error(
        "project_or_data", where,
        "a Project, a TrainingData or a (segments, codings) pair", type(value).__name__,
    )
