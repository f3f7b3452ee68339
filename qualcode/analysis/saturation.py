"""Code saturation: were new codes still appearing when interviewing stopped?

One call gives the published measures side by side, with the uncertainty that interview
order brings::

    >>> from qualcode.analysis.saturation import saturation      # doctest: +SKIP
    >>> result = saturation("study.qualcode", permutations=1000, seed=0)  # doctest: +SKIP
    >>> result.guest2020.label, result.chao2.estimate               # doctest: +SKIP
    ('5+2', 23.4)
    >>> result.write_report("saturation/")                          # doctest: +SKIP

``source`` is a project (accepted codings by default), a ``.qualcode`` path, a table (long:
one row per coding with ``document`` and ``code`` columns; wide: one row per interview and
one 0/1 or count column per code) as CSV, XLSX or a DataFrame, or a mapping
``{document: codes}``. The measures: new codes per interview and the cumulative curve,
batches (Guest, Bunce & Johnson 2006), base/run/threshold "s+r" (Guest, Namey & Chen 2020),
initial sample + stopping criterion (Francis et al. 2010), Chao2 with a confidence interval
and coverage, accumulation-curve fits with a saturation index (Lowe et al. 2018), per-theme
curves, per-code prevalence (for Hennink et al.'s meaning saturation, which a person
judges) and N seeded random orderings. This is *code* saturation; the methods paragraph
written by :meth:`SaturationResult.write_report` says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from qualcode.analysis._accumulation import (
    AccumulationFit,
    Batch,
    Chao2,
    OrderUncertainty,
    StoppingRule,
    best_fit,
    chao2,
    fit_accumulation,
    francis2010,
    guest2006,
    guest2020,
    new_codes_per_interview,
    order_uncertainty,
)
from qualcode.analysis._incidence import Incidence, load_incidence
from qualcode.errors import ParameterError, parameter_error

__all__ = [
    "AccumulationFit",
    "Batch",
    "Chao2",
    "Incidence",
    "OrderUncertainty",
    "SaturationResult",
    "StoppingRule",
    "chao2",
    "fit_accumulation",
    "francis2010",
    "guest2006",
    "guest2020",
    "load_incidence",
    "saturation",
]

_WHERE = "saturation()"
REPORT_FILES = (
    "saturation.png", "saturation.svg", "saturation_curve.csv", "saturation_codes.csv",
    "saturation_rules.csv", "saturation_themes.csv", "saturation_themes.png",
    "saturation_themes.svg", "saturation.json", "methods.md",
)


@dataclass(frozen=True, eq=False)
class SaturationResult:
    """Everything :func:`saturation` measured, for one interview order.

    Attributes: ``incidence`` (the ordered interviews x codes matrix), ``parameters``,
    ``new_codes`` and ``cumulative`` (per interview, observed order), ``guest2020`` and
    ``francis2010`` (:class:`StoppingRule`), ``batches`` (Guest et al. 2006), ``chao2``,
    ``fits`` (one :class:`AccumulationFit` per model; ``best_fit`` the smallest error),
    ``uncertainty`` (random orderings, None when ``permutations=0``).
    """

    incidence: Incidence
    parameters: dict[str, Any]
    new_codes: np.ndarray = field(repr=False)
    cumulative: np.ndarray = field(repr=False)
    guest2020: StoppingRule
    francis2010: StoppingRule
    batches: tuple[Batch, ...]
    chao2: Chao2
    fits: tuple[AccumulationFit, ...]
    uncertainty: OrderUncertainty | None = field(repr=False)

    # -- shape ------------------------------------------------------------------------
    @property
    def documents(self) -> tuple[str, ...]:
        return self.incidence.documents

    @property
    def codes(self) -> tuple[str, ...]:
        return self.incidence.codes

    @property
    def n_interviews(self) -> int:
        return len(self.incidence.documents)

    @property
    def n_codes(self) -> int:
        return len(self.incidence.codes)

    @property
    def best_fit(self) -> AccumulationFit | None:
        return best_fit(self.fits)

    @property
    def notes(self) -> tuple[str, ...]:
        return self.incidence.notes

    @property
    def rules(self) -> tuple[StoppingRule, StoppingRule]:
        return (self.guest2020, self.francis2010)

    # -- tables -------------------------------------------------------------------------
    def to_frame(self):  # -> pandas.DataFrame
        """One row per interview in order: n, document, date, new_codes, cumulative, share
        of all codes, the permutation mean and 2.5/97.5 percentiles, and each fitted curve.
        """
        import pandas as pd

        n = np.arange(1, self.n_interviews + 1)
        frame = pd.DataFrame({
            "n": n,
            "document": list(self.documents),
            "date": list(self.incidence.dates) if self.incidence.dates else None,
            "new_codes": self.new_codes,
            "cumulative": self.cumulative,
            "share": self.cumulative / self.n_codes,
        })
        if self.uncertainty is not None:
            frame["perm_mean"] = self.uncertainty.mean
            frame["perm_p2_5"] = self.uncertainty.low
            frame["perm_p97_5"] = self.uncertainty.high
            for name, rule in self.uncertainty.rules.items():
                frame[f"{name}_met_share"] = rule.met_by(self.n_interviews)
        for fit in self.fits:
            if not math.isnan(fit.total):
                frame[f"fit_{fit.model}"] = fit.predict(n)
        return frame

    def prevalence(self):  # -> pandas.DataFrame
        """One row per code (Hennink et al. 2017): theme, interviews it appears in, share of
        interviews, the first interview (position and document) where it appears."""
        import pandas as pd

        matrix = self.incidence.matrix
        first = matrix.argmax(axis=0)
        counts = matrix.sum(axis=0)
        frame = pd.DataFrame({
            "code": list(self.codes),
            "theme": [self.incidence.themes.get(c) for c in self.codes],
            "interviews": counts,
            "share": counts / self.n_interviews,
            "first_n": first + 1,
            "first_document": [self.documents[i] for i in first],
        })
        return frame.sort_values(["first_n", "interviews", "code"],
                                 ascending=[True, False, True]).reset_index(drop=True)

    def theme_curves(self) -> dict[str, np.ndarray]:
        """{theme: cumulative distinct codes of that theme after each interview}.

        A code that is its own theme (a top-level code, as in a flat codebook) groups
        nothing, so it has no theme curve.
        """
        themes = self.incidence.themes
        out = {}
        for theme in dict.fromkeys(themes[c] for c in self.codes if c in themes):
            columns = [j for j, c in enumerate(self.codes) if themes.get(c) == theme]
            if [self.codes[j] for j in columns] == [theme]:
                continue
            out[theme] = np.cumsum(new_codes_per_interview(self.incidence.matrix[:, columns]))
        return out

    def themes_frame(self):  # -> pandas.DataFrame
        """Per theme: codes, the interview where its last new code appeared, Guest 2020."""
        import pandas as pd

        p = self.parameters
        rows = []
        for theme, curve in self.theme_curves().items():
            rule = guest2020(curve, p["base"], p["run"], p["threshold"])
            rows.append({
                "theme": theme, "codes": int(curve[-1]),
                "last_new_n": int(np.flatnonzero(np.diff(np.r_[0, curve]))[-1] + 1),
                "guest2020": rule.label, "guest2020_reason": rule.reason or None,
            })
        return pd.DataFrame(rows, columns=["theme", "codes", "last_new_n", "guest2020",
                                           "guest2020_reason"])

    def rules_frame(self):  # -> pandas.DataFrame
        """One row per stopping rule: result, reason, and its spread over random orderings."""
        import pandas as pd

        rows = []
        for rule in self.rules:
            row = {"rule": rule.name, "citation": rule.citation,
                   "parameters": ", ".join(f"{k}={v}" for k, v in rule.parameters.items()),
                   "result": rule.label, "point": rule.point,
                   "confirmed_at": rule.confirmed_at, "reason": rule.reason or None}
            if self.uncertainty is not None:
                spread = self.uncertainty.rules[rule.name]
                q = spread.quantiles() or [None, None, None]
                row.update({"orderings": self.uncertainty.permutations,
                            "share_met": spread.share_met, "point_p2_5": q[0],
                            "point_median": q[1], "point_p97_5": q[2]})
            rows.append(row)
        return pd.DataFrame(rows)

    # -- text -----------------------------------------------------------------------------
    def summary_rows(self) -> list[tuple[str, str]]:
        """(measure, result) pairs: the terminal table, :meth:`summary` and the HTML view."""
        from qualcode.analysis import _saturation_report as report

        return report.summary_rows(self)

    def summary(self) -> str:
        """A plain-text summary, one measure per line."""
        rows = self.summary_rows()
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        from qualcode.analysis import _saturation_report as report

        return report.html(self)

    def methods(self) -> str:
        """The methods paragraph, results and references, as Markdown."""
        from qualcode.analysis import _saturation_report as report

        return report.methods_markdown(self)

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-safe values (lists, numbers, strings, None)."""
        from qualcode.analysis import _saturation_report as report

        return report.to_dict(self)

    # -- figures and files -------------------------------------------------------------------
    def plot(self, ax: Any = None):  # -> matplotlib.figure.Figure
        """The saturation figure: observed curve, new codes per interview, the 95% band of
        random orderings, the best fit, Chao2, and markers where each rule is met.

        Draws on ``ax`` when given, else on a new :class:`matplotlib.figure.Figure` (no
        pyplot, so no GUI backend is needed or changed). Returns the figure.
        """
        from qualcode.analysis import _saturation_report as report

        return report.plot(self, ax=ax)

    def plot_themes(self, ax: Any = None):  # -> matplotlib.figure.Figure
        """Cumulative share of each theme's codes found, per interview."""
        from qualcode.analysis import _saturation_report as report

        return report.plot_themes(self, ax=ax)

    def write_report(self, out_dir: str | PathLike[str], overwrite: bool = False
                     ) -> dict[str, Path]:
        """Write the figure (PNG, SVG), tables (CSV), ``saturation.json`` and ``methods.md``
        into ``out_dir`` (created if needed). Refuses to replace existing files unless
        ``overwrite``. Returns {file name: path}.
        """
        from qualcode.analysis import _saturation_report as report

        return report.write_report(self, Path(out_dir), overwrite=overwrite)


# -- the one-liner ----------------------------------------------------------------------------
def _integer(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise parameter_error(name, _WHERE, f"an integer >= {minimum}", value)
    return int(value)


def _fraction(name: str, value: Any, *, closed: bool) -> float:
    ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
    if ok:
        ok = (0 <= value <= 1) if closed else (0 < value < 1)
    if not ok:
        interval = "in [0, 1]" if closed else "in (0, 1), e.g. 0.95"
        raise parameter_error(name, _WHERE, f"a number {interval}", value)
    return float(value)


def saturation(
    source: Any,
    *,
    order: str | PathLike[str] | Sequence[str] | None = None,
    base: int = 4,
    run: int = 2,
    threshold: float = 0.05,
    initial: int = 10,
    criterion: int = 3,
    target: float = 0.95,
    batch: int = 6,
    permutations: int = 1000,
    seed: int | None = 0,
    min_interviews: int = 1,
    status: str | None = "accepted",
    coder: str | None = None,
    themes: Sequence[str] | None = None,
    code_themes: Mapping[str, str] | Any = None,
    cases: Any = None,
    values: str = "counts",
    fit_to: str = "observed",
    confidence: float = 0.95,
) -> SaturationResult:
    """Measure code saturation of ``source`` and return a :class:`SaturationResult`.

    ``source``: a Project or ``.qualcode`` path (``status``/``coder``/``themes`` filter its
    codings), a CSV/XLSX path or DataFrame (long: ``document``, ``code`` [, ``date``,
    ``theme``, ``status``, ``coder``]; wide: a document column and one count or 0/1
    column per code [, ``date``]; ``values="binary"`` insists on 0/1), or a mapping
    {document: codes}. ``cases`` (a CSV/XLSX path or DataFrame with ``document`` and
    ``date`` columns) adds interview dates; its ids match documents as in ingest
    ("P01.docx" and "p01" name P01), a table matching no document is an error, and rows
    matching none are listed in the notes. ``code_themes`` (a Codebook or a mapping
    {code: theme}) gives a table's codes their themes.

    ``order``: "date", "given", a file with one document id per line, or a sequence of
    ids (default: dates when there are any, else as given). ``base``/``run``/``threshold``:
    Guest et al. (2020); ``initial``/``criterion``: Francis et al. (2010); ``batch``: Guest
    et al. (2006); ``target``: saturation index for the fitted curve (Lowe et al. 2018),
    fitted (``fit_to``) to the ``"observed"`` curve or the permutation ``"mean"``; ``permutations``
    random orderings from ``seed`` (None draws one and records it); ``min_interviews``:
    count only codes present in at least that many interviews; ``confidence``: of the
    Chao2 interval.

    >>> r = saturation({"i1": ["a", "b"], "i2": ["b", "c"], "i3": ["a"]},
    ...                permutations=0, base=1, run=1)
    >>> r.guest2020.label, r.n_codes
    ('2+1', 3)
    """
    base = _integer("base", base, 1)
    run = _integer("run", run, 1)
    threshold = _fraction("threshold", threshold, closed=True)
    initial = _integer("initial", initial, 1)
    criterion = _integer("criterion", criterion, 1)
    target = _fraction("target", target, closed=False)
    confidence = _fraction("confidence", confidence, closed=False)
    batch = _integer("batch", batch, 1)
    permutations = _integer("permutations", permutations, 0)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**32)
    seed = _integer("seed", seed, 0)
    if fit_to not in ("observed", "mean"):
        raise parameter_error("fit_to", _WHERE, "'observed' or 'mean'", fit_to)
    if fit_to == "mean" and permutations == 0:
        raise ParameterError("fit_to='mean' fits the mean curve over random orderings; "
                             "it needs permutations >= 1.")
    incidence = load_incidence(
        source, order=order, status=status, coder=coder, themes=themes,
        code_themes=code_themes, cases=cases, values=values,
        min_interviews=min_interviews, where=_WHERE,
    )
    matrix = incidence.matrix
    new = new_codes_per_interview(matrix)
    cumulative = np.cumsum(new)
    uncertainty = None
    if permutations:
        uncertainty = order_uncertainty(
            matrix, permutations=permutations, seed=seed, base=base, run=run,
            threshold=threshold, initial=initial, criterion=criterion)
    curve = uncertainty.mean if fit_to == "mean" and uncertainty is not None else cumulative
    parameters = {
        "order": incidence.order, "base": base, "run": run, "threshold": threshold,
        "initial": initial, "criterion": criterion, "target": target, "batch": batch,
        "permutations": permutations, "seed": seed, "min_interviews": min_interviews,
        "status": status, "coder": coder, "themes": list(themes) if themes else None,
        "fit_to": fit_to, "confidence": confidence, "values": values,
    }
    return SaturationResult(
        incidence=incidence,
        parameters=parameters,
        new_codes=new,
        cumulative=cumulative,
        guest2020=guest2020(cumulative, base, run, threshold),
        francis2010=francis2010(cumulative, initial, criterion),
        batches=guest2006(cumulative, batch),
        chao2=chao2(matrix, confidence),
        fits=fit_accumulation(curve, target),
        uncertainty=uncertainty,
    )
