"""Agreement between coders: percent agreement, Cohen's kappa, Krippendorff's alpha.

The unit is the segment (a turn, paragraph or sentence of the project): a code is
*present* in a segment for a coder when any of that coder's codings of it overlaps the
segment by at least one character. Each code is then a presence/absence judgement per
segment, and agreement is measured per code and overall:

- **pooled**: every (segment, code) decision in one table;
- **macro**: the mean of the per-code figures, over the codes where they are defined.

Cohen's kappa compares two coders (with more, the mean of the pairwise kappas: Light's
kappa); Krippendorff's alpha (nominal) takes any number of coders and missing values. A
coder who has no codings in a document counts as *not having coded it* (missing), not as
finding nothing there, unless ``uncoded_documents="absent"``. Kappa is undefined, not 1 or
0, when neither coder used a code (chance agreement is then total).

At ``level="theme"`` a theme is present in a segment when any of its codes is.

>>> result = agreement(project, ["alice", "bob"])              # doctest: +SKIP
>>> result.pooled.kappa, result.macro.kappa                     # doctest: +SKIP
>>> result.to_frame()                  # one row per code        # doctest: +SKIP

NVivo and QualCoder compute kappa over characters and MAXQDA over segments with an
overlap rule; figures from different units are not comparable, so every report states its
unit.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np

from qualcode.errors import NotFoundError, ParameterError, parameter_error
from qualcode.model import CODING_STATUSES, SEGMENT_KINDS, Codebook, Coding, Segment

if TYPE_CHECKING:
    import pandas as pd

    from qualcode.project import Project

__all__ = [
    "AgreementResult",
    "CodeAgreement",
    "Overall",
    "PairAgreement",
    "agreement",
    "agreement_from_codings",
    "cohen_kappa",
    "krippendorff_alpha",
    "percent_agreement",
    "select_documents",
]

LEVELS = ("code", "theme")
_UNCODED = ("missing", "absent")


# -- the statistics --------------------------------------------------------------------------
def _paired(a: Sequence[float], b: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ParameterError(
            f"Two coders' values must be two lists of the same length. Got shapes "
            f"{x.shape} and {y.shape} instead."
        )
    keep = ~(np.isnan(x) | np.isnan(y))  # a unit counts only when both coded it
    return x[keep], y[keep]


def percent_agreement(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Share of units (both coders having a value; NaN is missing) where the values match.

    None when no unit has both values.

    >>> percent_agreement([1, 0, 0, 1], [1, 0, 1, 1])
    0.75
    """
    x, y = _paired(a, b)
    return None if len(x) == 0 else float(np.mean(x == y))


def cohen_kappa(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Cohen's kappa of two coders' nominal values (NaN is missing: such units are left
    out). None when it is undefined: no shared units, or chance agreement of 1 (both
    coders gave every unit the same single value, e.g. neither ever used the code).

    >>> round(cohen_kappa([1, 1, 1, 0, 0, 0, 0, 0, 0, 0], [1, 1, 0, 1, 0, 0, 0, 0, 0, 0]), 4)
    0.5238
    """
    x, y = _paired(a, b)
    n = len(x)
    if n == 0:
        return None
    values = np.union1d(x, y)
    # Counts, not shares, so the undefined case is an exact zero.
    chance = sum(int(np.sum(x == v)) * int(np.sum(y == v)) for v in values)
    observed = int(np.sum(x == y))
    denominator = n * n - chance
    if denominator == 0:
        return None
    return float((n * observed - chance) / denominator)


def krippendorff_alpha(data: Sequence[Sequence[float]] | np.ndarray) -> float | None:
    """Krippendorff's alpha, nominal, of a coders x units table (NaN is missing).

    Uses the ``krippendorff`` package. None when it is undefined: no unit has values
    from two coders, or the paired values hold only one value (no variation to explain).

    >>> round(krippendorff_alpha([[1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
    ...                           [1, 1, 0, 1, 0, 0, 0, 0, 0, 0]]), 4)
    0.5476
    """
    import krippendorff

    table = np.asarray(data, dtype=float)
    if table.ndim != 2:
        raise ParameterError(
            f"Krippendorff's alpha needs a coders x units table. Got {table.ndim} "
            "dimensions instead."
        )
    pairable = np.sum(~np.isnan(table), axis=0) >= 2
    paired = table[:, pairable]
    domain = np.unique(paired[~np.isnan(paired)])
    if len(domain) < 2:
        return None
    return float(krippendorff.alpha(reliability_data=paired, value_domain=domain,
                                    level_of_measurement="nominal"))


# -- choosing documents -------------------------------------------------------------------------
def select_documents(
    known: Sequence[str], spec: str | Sequence[str] | None, *, what: str = "documents"
) -> list[str]:
    """Document ids chosen by ``spec``: ids or glob patterns (``P1_*``, ``AP0[1-5]*``), as
    a list or one comma-separated string; None chooses all. Returned in ``known`` order.

    A name or pattern that matches nothing is an error naming it.

    >>> select_documents(["P1_a", "P2_b", "P10_c"], "P1_*, P2_b")
    ['P1_a', 'P2_b']
    """
    if spec is None:
        return list(known)
    items = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else [
        str(s).strip() for s in spec]
    items = [s for s in items if s]
    if not items:
        raise ParameterError(f"No {what} were named; give document ids or glob patterns.")
    chosen: set[str] = set()
    unmatched = []
    for item in items:
        hits = [d for d in known if fnmatch.fnmatchcase(d, item)] if any(
            c in item for c in "*?[") else [d for d in known if d == item]
        if not hits:
            unmatched.append(item)
        chosen.update(hits)
    if unmatched:
        import difflib

        hints = []
        for item in unmatched[:3]:
            close = difflib.get_close_matches(item, list(known), n=2)
            hints.append(f"'{item}'" + (f" (did you mean {', '.join(map(repr, close))}?)"
                                         if close else ""))
        raise NotFoundError(
            f"No document matches {', '.join(hints)} among the {what}. Give document ids "
            "or glob patterns such as 'P1_*'."
        )
    return [d for d in known if d in chosen]


# -- results ------------------------------------------------------------------------------------
def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


@dataclass(frozen=True)
class CodeAgreement:
    """Agreement on one code (or theme).

    ``units``: segments with values from at least two coders; ``present``: coder ->
    segments where the code is present; ``both``: segments where every coder marked it.
    A statistic is None when undefined; ``note`` says why.
    """

    code: str
    name: str
    theme: str | None
    units: int
    present: Mapping[str, int]
    both: int
    percent_agreement: float | None
    kappa: float | None
    alpha: float | None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "name": self.name, "theme": self.theme, "units": self.units,
            "present": dict(self.present), "both": self.both,
            "percent_agreement": _round(self.percent_agreement), "kappa": _round(self.kappa),
            "alpha": _round(self.alpha), "note": self.note,
        }


@dataclass(frozen=True)
class Overall:
    """Overall figures: ``pooled`` over all (segment, code) decisions, or ``macro``: the
    mean over codes (``codes`` is how many codes the kappa mean covers, of ``of``)."""

    kind: str
    percent_agreement: float | None
    kappa: float | None
    alpha: float | None
    codes: int
    of: int
    decisions: int = 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "percent_agreement": _round(self.percent_agreement), "kappa": _round(self.kappa),
            "alpha": _round(self.alpha),
        }
        if self.kind == "pooled":
            out["decisions"] = self.decisions
        else:
            out.update(codes=self.codes, of=self.of)
        return out


@dataclass(frozen=True)
class PairAgreement:
    """Two coders: shared units, pooled percent agreement and kappa, macro kappa."""

    coder_a: str
    coder_b: str
    units: int
    percent_agreement: float | None
    kappa: float | None
    macro_kappa: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"coders": [self.coder_a, self.coder_b], "units": self.units,
                "percent_agreement": _round(self.percent_agreement),
                "kappa": _round(self.kappa), "macro_kappa": _round(self.macro_kappa)}


@dataclass(frozen=True, eq=False)
class AgreementResult:
    """What :func:`agreement` measured.

    ``codes`` holds one :class:`CodeAgreement` per code (or theme) in codebook order;
    ``pooled`` and ``macro`` the overall figures; ``pairs`` each pair of coders; ``unit``
    the segment kind and ``unit_description`` the rule, which every report states;
    ``counted`` what was counted of each coder's codings; ``notes`` anything to know.
    """

    coders: tuple[str, ...]
    level: str
    unit: str
    unit_description: str
    documents: tuple[str, ...]
    segments: int
    codes: tuple[CodeAgreement, ...]
    pooled: Overall
    macro: Overall
    pairs: tuple[PairAgreement, ...]
    counted: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def kappa_name(self) -> str:
        return ("Cohen's kappa" if len(self.coders) == 2
                else "Light's kappa (mean of the defined pairwise Cohen's kappas)")

    def __getitem__(self, code: str) -> CodeAgreement:
        for item in self.codes:
            if item.code == code:
                return item
        raise NotFoundError(f"No {self.level} '{code}' in this agreement result.")

    def to_frame(self) -> pd.DataFrame:
        """One row per code: code, name, theme, units, present_<coder>..., both,
        percent_agreement, kappa, alpha, note."""
        import pandas as pd

        rows = []
        for c in self.codes:
            row: dict[str, Any] = {"code": c.code, "name": c.name, "theme": c.theme,
                                   "units": c.units}
            row.update({f"present_{coder}": c.present.get(coder, 0) for coder in self.coders})
            row.update(both=c.both, percent_agreement=c.percent_agreement, kappa=c.kappa,
                       alpha=c.alpha, note=c.note)
            rows.append(row)
        frame = pd.DataFrame(rows)
        for column in ("percent_agreement", "kappa", "alpha"):
            if column in frame:
                frame[column] = frame[column].astype(float)  # None -> NaN
        return frame

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready: unit, coders, per-code figures, overall, pairs, notes."""
        return {
            "unit": self.unit,
            "unit_description": self.unit_description,
            "level": self.level,
            "coders": list(self.coders),
            "counted": dict(self.counted),
            "kappa": self.kappa_name,
            "documents": list(self.documents),
            "segments": self.segments,
            "overall": {"pooled": self.pooled.to_dict(), "macro": self.macro.to_dict()},
            "codes": [c.to_dict() for c in self.codes],
            "pairs": [p.to_dict() for p in self.pairs],
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """A few lines: unit, pooled and macro figures, codes without a kappa."""
        undefined = [c.code for c in self.codes if c.kappa is None]
        lines = [
            f"Agreement between {', '.join(self.coders)} ({self.level} level)",
            f"Unit: {self.unit_description}; {self.segments:,} segments in "
            f"{len(self.documents)} documents.",
            f"Pooled over {self.pooled.decisions:,} segment x {self.level} decisions: "
            f"{_fmt(self.pooled.percent_agreement, pct=True)} agreement, kappa "
            f"{_fmt(self.pooled.kappa)}, alpha {_fmt(self.pooled.alpha)}.",
            f"Macro (mean over {self.level}s): {_fmt(self.macro.percent_agreement, pct=True)} "
            f"agreement, kappa {_fmt(self.macro.kappa)} over {self.macro.codes} of "
            f"{self.macro.of}, alpha {_fmt(self.macro.alpha)}.",
        ]
        if undefined:
            lines.append(f"Kappa undefined for {len(undefined)}: {', '.join(undefined)}.")
        lines.extend(self.notes)
        return "\n".join(lines)

    def methods_text(self) -> str:
        """A sentence for a methods section, naming the unit and the statistics."""
        who = " and ".join(self.coders) if len(self.coders) == 2 else ", ".join(self.coders)
        what = "codes" if self.level == "code" else "themes"
        # Segments no two coders coded (missing documents) hold no decision: say so.
        shared = max((c.units for c in self.codes), default=0)
        scope = (f"{self.segments} {self.unit}s" if shared == self.segments else
                 f"the {shared} of {self.segments} {self.unit}s coded by at least two coders")
        return (
            f"Agreement between {who} was assessed on {scope} of "
            f"{len(self.documents)} documents, treating each of {len(self.codes)} {what} as "
            f"present in a {self.unit} when any coding of it overlapped the {self.unit}. "
            f"Pooled over all {self.unit}-by-{self.level} decisions, percent agreement was "
            f"{_fmt(self.pooled.percent_agreement, pct=True)}, {self.kappa_name} "
            f"{_fmt(self.pooled.kappa)} and Krippendorff's alpha (nominal) "
            f"{_fmt(self.pooled.alpha)}; the mean per-{self.level} kappa was "
            f"{_fmt(self.macro.kappa)} (over the {self.macro.codes} {what} for which it is "
            "defined)."
        )

    def _repr_html_(self) -> str:
        from html import escape

        head = "".join(f"<th>{escape(h)}</th>" for h in (
            self.level, "units", *[f"present ({c})" for c in self.coders], "agreement",
            "kappa", "alpha", "note"))
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in (
                c.code, c.units, *[c.present.get(k, 0) for k in self.coders],
                _fmt(c.percent_agreement, pct=True), _fmt(c.kappa), _fmt(c.alpha), c.note))
            + "</tr>"
            for c in self.codes
        )
        lines = "<br>".join(escape(line) for line in self.summary().splitlines())
        return f"<p>{lines}</p><table><tr>{head}</tr>{body}</table>"

    def __str__(self) -> str:
        return self.summary()


def _fmt(value: float | None, *, pct: bool = False) -> str:
    if value is None:
        return "undefined"
    return f"{value:.1%}" if pct else f"{value:.3f}"


# -- computing ----------------------------------------------------------------------------------
def _presence(
    segments: Sequence[Segment], codings: Sequence[Coding], column_of: Mapping[str, int],
    n_columns: int, covered: set[str] | None,
) -> np.ndarray:
    """Segments x columns of 1/0, NaN in documents the coder did not code."""
    from qualcode.coders.base import segment_labels

    out = np.zeros((len(segments), n_columns))
    for i, (segment, labels) in enumerate(zip(segments, segment_labels(segments, codings),
                                              strict=True)):
        if covered is not None and segment.document_id not in covered:
            out[i, :] = np.nan
            continue
        for code in labels:
            column = column_of.get(code)
            if column is not None:
                out[i, column] = 1.0
    return out


def _code_note(present: Mapping[str, int], coded: Mapping[str, int], units: int,
               kappa: float | None) -> str:
    """Why a code's kappa is undefined; ``coded`` is segments each coder coded of the
    ``units``."""
    if units == 0:
        return "no segment was coded by two coders"
    if kappa is not None:
        return ""
    if not any(present.values()):
        return "kappa undefined: no coder used it"
    if all(present[c] == coded[c] for c in present):
        return "kappa undefined: every coder marked every segment"
    # Three or more coders, some of whom coded different documents: Light's kappa has no
    # pair with both a shared segment and more than one value in it.
    return ("kappa undefined: each pair of coders shares no segment or gave all the "
            "segments it shares one and the same value")


def agreement_from_codings(
    segments: Sequence[Segment],
    codings: Mapping[str, Iterable[Coding]],
    *,
    codebook: Codebook | None = None,
    level: str = "code",
    codes: Sequence[str] | None = None,
    uncoded_documents: str = "missing",
    counted: Mapping[str, str] | None = None,
) -> AgreementResult:
    """Agreement of coders given as ``{coder: codings}`` over ``segments`` (the units).

    The engine behind :func:`agreement`, for codings that are not in a project. ``codes``
    are the code (or theme) ids to report, by default the codebook's codes (leaves; themes
    at ``level="theme"``) plus any other code used.
    """
    if level not in LEVELS:
        raise parameter_error("level", "agreement()", "'code' or 'theme'", level)
    if uncoded_documents not in _UNCODED:
        raise parameter_error("uncoded_documents", "agreement()", "'missing' or 'absent'",
                              uncoded_documents)
    coders = list(codings)
    if len(coders) < 2:
        raise ParameterError(
            f"Agreement needs at least two coders. Got {len(coders)}: "
            f"{', '.join(coders) or 'none'}."
        )
    if len(set(coders)) != len(coders):
        raise ParameterError(f"Each coder must be named once. Got {', '.join(coders)}.")
    segments = list(segments)
    if not segments:
        raise ParameterError("There are no segments to measure agreement on; ingest "
                             "transcripts (or choose other documents) first.")
    kinds = sorted({s.kind for s in segments})
    unit = kinds[0] if len(kinds) == 1 else "/".join(kinds)
    documents = list(dict.fromkeys(s.document_id for s in segments))
    in_scope = set(documents)
    notes: list[str] = []

    # Map each coding's code to the reported column (its theme at theme level).
    def label_of(code_id: str) -> str:
        if level == "theme" and codebook is not None and code_id in codebook:
            return codebook.theme_of(code_id)
        return code_id

    by_coder = {c: [x for x in codings[c] if x.document_id in in_scope] for c in coders}
    used = list(dict.fromkeys(label_of(x.code_id) for c in coders for x in by_coder[c]))
    unknown = [u for u in used if codebook is not None and u not in codebook]
    if unknown:
        notes.append(f"Codes not in the codebook (reported as they are): {', '.join(unknown)}.")
    if codes is not None:
        labels = [label_of(c) for c in ([codes] if isinstance(codes, str) else codes)]
        labels = list(dict.fromkeys(labels))
        if codebook is not None:
            missing = [c for c in labels if c not in codebook and c not in used]
            if missing:
                raise NotFoundError(f"No {level} {', '.join(map(repr, missing))} in the "
                                    "codebook or the codings.")
    elif codebook is not None:
        base = [c.id for c in (codebook.themes if level == "theme" else codebook.leaves())]
        labels = list(dict.fromkeys([*base, *used]))
    else:
        labels = used
    if not labels:
        raise ParameterError("There are no codes to measure agreement on: the coders have "
                             "no codings in these documents and there is no codebook.")
    column_of = {label: j for j, label in enumerate(labels)}
    for code_id in {x.code_id for c in coders for x in by_coder[c]}:
        if label_of(code_id) in column_of:
            column_of.setdefault(code_id, column_of[label_of(code_id)])

    matrices = []
    for coder in coders:
        covered = {x.document_id for x in by_coder[coder]}
        uncovered = [d for d in documents if d not in covered]
        if not covered:
            raise NotFoundError(
                f"Coder '{coder}' has no codings in these documents"
                + (f" ({', '.join(documents[:5])}{', ...' if len(documents) > 5 else ''})."
                   if documents else ".")
            )
        if uncovered and uncoded_documents == "missing":
            notes.append(
                f"{coder} has no codings in {len(uncovered)} of {len(documents)} documents "
                f"({', '.join(uncovered[:5])}{', ...' if len(uncovered) > 5 else ''}); their "
                "segments count as not coded by this coder (missing)."
            )
        matrices.append(_presence(
            segments, by_coder[coder], column_of, len(labels),
            covered if uncoded_documents == "missing" else None))
        n_outside = _outside(segments, by_coder[coder])
        if n_outside:
            notes.append(f"{n_outside} codings by {coder} overlap no {unit} segment and "
                         "were not counted.")
    values = np.stack(matrices)  # coders x segments x codes
    pairs = list(combinations(range(len(coders)), 2))
    per_code = []
    for j, label in enumerate(labels):
        column = values[:, :, j]
        pairable = np.sum(~np.isnan(column), axis=0) >= 2
        present = {coders[k]: int(np.nansum(column[k][pairable])) for k in range(len(coders))}
        coded = {coders[k]: int(np.sum(~np.isnan(column[k][pairable])))
                 for k in range(len(coders))}
        both = int(np.sum(np.all(column[:, pairable] == 1, axis=0)))
        kappas = [cohen_kappa(column[a], column[b]) for a, b in pairs]
        kappa = kappas[0] if len(pairs) == 1 else _mean(kappas)
        percent = _mean([percent_agreement(column[a], column[b]) for a, b in pairs])
        alpha = krippendorff_alpha(column)
        units = int(np.sum(pairable))
        name, theme = label, None
        if codebook is not None and label in codebook:
            name, theme = codebook.get(label).name, codebook.theme_of(label)
        per_code.append(CodeAgreement(label, name, theme, units, present, both, percent, kappa,
                                      alpha, _code_note(present, coded, units, kappa)))
    flat = values.reshape(len(coders), -1)
    pooled = Overall(
        "pooled",
        _mean([percent_agreement(flat[a], flat[b]) for a, b in pairs]),
        _mean([cohen_kappa(flat[a], flat[b]) for a, b in pairs]),
        krippendorff_alpha(flat),
        len(labels), len(labels),
        decisions=int(np.sum(np.sum(~np.isnan(flat), axis=0) >= 2)),
    )
    kappas = [c.kappa for c in per_code]
    macro = Overall("macro", _mean(c.percent_agreement for c in per_code), _mean(kappas),
                    _mean(c.alpha for c in per_code), sum(k is not None for k in kappas),
                    len(per_code))
    pair_results = []
    for a, b in pairs:
        x, y = values[a], values[b]
        shared = int(np.sum(~(np.isnan(x[:, 0]) | np.isnan(y[:, 0]))))
        pair_results.append(PairAgreement(
            coders[a], coders[b], shared, percent_agreement(x.ravel(), y.ravel()),
            cohen_kappa(x.ravel(), y.ravel()),
            _mean(cohen_kappa(x[:, j], y[:, j]) for j in range(len(labels)))))
    description = (f"{unit} segments; a {level} is present in a segment when any coding of "
                   + ("it" if level == "code" else "one of its codes")
                   + " overlaps the segment by at least one character")
    return AgreementResult(
        tuple(coders), level, unit, description, tuple(documents), len(segments),
        tuple(per_code), pooled, macro, tuple(pair_results), dict(counted or {}), tuple(notes),
    )


def _outside(segments: Sequence[Segment], codings: Sequence[Coding]) -> int:
    """How many codings overlap no segment (e.g. a speaker label, or an empty span)."""
    import bisect

    spans: dict[str, tuple[list[int], list[int]]] = {}
    for s in sorted(segments, key=lambda s: (s.document_id, s.start)):
        starts, ends = spans.setdefault(s.document_id, ([], []))
        starts.append(s.start)
        ends.append(s.end)
    n = 0
    for c in codings:
        starts, ends = spans.get(c.document_id, ([], []))
        i = bisect.bisect_left(starts, c.end)  # segments starting before the coding ends
        # Segments do not overlap, so ends rise with starts: check the last candidate.
        if i == 0 or ends[i - 1] <= c.start or c.start >= c.end:
            n += 1
    return n


def _statuses_for(project: Project, coder: str,
                  statuses: Sequence[str] | Mapping[str, Sequence[str]] | None
                  ) -> tuple[list[str], str]:
    from qualcode.coders.base import MACHINE_METHODS

    chosen = statuses.get(coder) if isinstance(statuses, Mapping) else statuses
    if chosen is not None:
        chosen = [chosen] if isinstance(chosen, str) else list(chosen)
        bad = [s for s in chosen if s not in CODING_STATUSES]
        if bad:
            raise parameter_error("statuses", "agreement()",
                                  f"made of {', '.join(CODING_STATUSES)}", bad[0])
        return chosen, f"{'/'.join(chosen)} codings"
    methods = {c.method for c in project.codings(coder=coder)}
    if methods & set(MACHINE_METHODS):
        return list(CODING_STATUSES), "every suggestion, whatever its status (a machine coder)"
    return ["accepted"], "accepted codings (a person)"


def agreement(
    project: Project,
    coders: Sequence[str],
    *,
    level: str = "code",
    unit: str | None = None,
    documents: str | Sequence[str] | None = None,
    codes: Sequence[str] | None = None,
    statuses: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    uncoded_documents: str = "missing",
) -> AgreementResult:
    """Agreement between two or more coders of a project, per code and overall.

    ``coders`` are coder names as stored (people or machine coders). A person's accepted
    codings are counted; a machine coder's suggestions are counted whatever their status
    (what it proposed, before anyone reviewed it); ``statuses`` overrides that, for all
    coders or per coder (``{"alice": ["accepted"]}``). ``unit`` is the segment kind (the
    project's default unit when None); ``documents`` ids or glob patterns (all when None);
    ``level`` ``"code"`` or ``"theme"``; ``codes`` the code (or theme) ids to report
    (default: the codebook's, plus any other code used). ``uncoded_documents``:
    ``"missing"`` (default) counts a coder's segments in documents they did not code as not
    coded; ``"absent"`` as coded with no code. Returns an :class:`AgreementResult`.

    >>> agreement(project, ["alice", "semantic"], level="theme").summary()  # doctest: +SKIP
    """
    if isinstance(coders, str):
        raise parameter_error("coders", "agreement()", "a list of two or more coder names",
                              coders)
    if unit is not None and unit not in SEGMENT_KINDS:
        raise parameter_error("unit", "agreement()", f"one of {', '.join(SEGMENT_KINDS)}", unit)
    known = sorted({c.coder for c in project.codings()})
    for coder in coders:
        if coder not in known:
            import difflib

            close = difflib.get_close_matches(coder, known, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise NotFoundError(
                f"No codings by coder '{coder}' in {project.path}.{hint} Coders: "
                f"{', '.join(known) or 'none yet'}."
            )
    doc_ids = select_documents(project.documents.ids, documents)
    segments = project.segments(document=doc_ids, kind=unit)
    if not segments:
        raise ParameterError(
            f"{project.path} has no {unit or project.unit} segments in the chosen documents; "
            "ingest transcripts first, or choose another unit."
        )
    by_coder, counted = {}, {}
    for coder in coders:
        chosen, description = _statuses_for(project, coder, statuses)
        by_coder[coder] = project.codings(coder=coder, status=chosen, document=doc_ids)
        counted[coder] = description
    return agreement_from_codings(
        segments, by_coder, codebook=project.codebook, level=level, codes=codes,
        uncoded_documents=uncoded_documents, counted=counted,
    )

