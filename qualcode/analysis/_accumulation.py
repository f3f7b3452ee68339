"""The arithmetic of code saturation, on a boolean incidence matrix (interviews x codes).

Pure numpy/scipy, no I/O: curves, stopping rules (Guest, Namey & Chen 2020; Francis et
al. 2010), batches (Guest, Bunce & Johnson 2006), Chao2 with its confidence interval,
accumulation-curve fits (Lowe et al. 2018) and the permutation analysis of interview order.
:mod:`qualcode.analysis.saturation` puts them together; each is usable on its own.

Counting convention: interview positions are 1-based (``n = 1`` is the first interview);
``cumulative[n - 1]`` is T_n, the distinct codes seen in interviews 1..n.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "MODELS",
    "AccumulationFit",
    "Batch",
    "Chao2",
    "OrderUncertainty",
    "RuleDistribution",
    "RunCheck",
    "StoppingRule",
    "chao2",
    "cumulative_curve",
    "fit_accumulation",
    "format_percent",
    "francis2010",
    "guest2006",
    "guest2020",
    "new_codes_per_interview",
    "order_uncertainty",
    "permuted_curves",
]

# Float slack for "ratio <= threshold": 1 new code of 20 is exactly 5%.
_EPS = 1e-9


def format_percent(share: float) -> str:
    """A share as a percent with up to two decimals: 0.05 -> '5%', 0.025 -> '2.5%'.

    Settings such as a 2.5% threshold must not be printed as '2%' (or 0.5% as '0%').
    """
    return f"{round(share * 100, 2):g}%"


# -- curves -----------------------------------------------------------------------------------
def new_codes_per_interview(matrix: np.ndarray) -> np.ndarray:
    """Codes first seen in each interview (rows in interview order) -> int array (N,)."""
    matrix = np.asarray(matrix, dtype=bool)
    n_interviews = matrix.shape[0]
    present = matrix.any(axis=0)
    first = matrix.argmax(axis=0)[present]
    return np.bincount(first, minlength=n_interviews).astype(np.int64)


def cumulative_curve(matrix: np.ndarray) -> np.ndarray:
    """T_n: distinct codes seen in interviews 1..n, for n = 1..N -> int array (N,)."""
    return np.cumsum(new_codes_per_interview(matrix))


# -- stopping rules ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RunCheck:
    """One run of consecutive interviews: ``after`` is the interview before the run."""

    after: int
    new: int
    ratio: float | None  # new / base codes (Guest 2020); None for Francis 2010


@dataclass(frozen=True)
class StoppingRule:
    """Where a stopping rule is first met in one interview order.

    ``point`` is s, the last interview before the first run that met the rule, and
    ``label`` is "s+r" (Guest et al. 2020); ``confirmed_at`` = s + r interviews were needed
    to see it. When the rule is not met, ``point`` is None and ``reason`` says why.
    """

    name: str
    citation: str
    parameters: dict
    reached: bool
    point: int | None
    run: int
    reason: str = ""
    runs: tuple[RunCheck, ...] = field(default=(), repr=False)

    @property
    def confirmed_at(self) -> int | None:
        return None if self.point is None else self.point + self.run

    @property
    def label(self) -> str:
        return f"{self.point}+{self.run}" if self.reached else "not reached"

    def describe(self) -> str:
        """One sentence: the result, or "not reached, because ..."."""
        if self.reached:
            return (f"{self.label}: saturation at interview {self.point}, confirmed by "
                    f"interviews {self.point + 1}-{self.confirmed_at}")
        return f"not reached, because {self.reason}"

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "citation": self.citation,
            "parameters": dict(self.parameters),
            "reached": self.reached,
            "result": self.label,
            "point": self.point,
            "confirmed_at": self.confirmed_at,
            "reason": self.reason or None,
            "runs": [
                {"after": r.after, "interviews": f"{r.after + 1}-{r.after + self.run}",
                 "new_codes": r.new, "ratio": r.ratio}
                for r in self.runs
            ],
        }


def _window_new(cumulative: np.ndarray, start: int, run: int) -> np.ndarray:
    """New codes in runs (s+1 .. s+run) for s = start .. N-run; works on (..., N) curves."""
    padded = np.concatenate(
        [np.zeros((*cumulative.shape[:-1], 1), dtype=cumulative.dtype), cumulative], axis=-1
    )
    n = cumulative.shape[-1]
    return padded[..., start + run : n + 1] - padded[..., start : n + 1 - run]


def guest2020(cumulative: Sequence[int] | np.ndarray, base: int = 4, run: int = 2,
              threshold: float = 0.05) -> StoppingRule:
    """Guest, Namey & Chen (2020): base size, run length, new-information threshold.

    The denominator is the number of distinct codes in the first ``base`` interviews.
    Runs of ``run`` interviews slide forward one interview at a time from ``base + 1``;
    the first run with new codes / base codes <= ``threshold`` gives "s+r".

    >>> guest2020([4, 7, 9, 10, 11, 11, 11, 11]).label
    '5+2'
    """
    curve = np.asarray(cumulative, dtype=np.int64)
    n = curve.size
    params = {"base": base, "run": run, "threshold": threshold}
    rule = dict(name="guest2020", citation="Guest, Namey & Chen (2020)", parameters=params,
                run=run)
    if n < base:
        return StoppingRule(**rule, reached=False, point=None, reason=(
            f"the base size ({base}) is larger than the {n} interviews analysed"))
    base_codes = int(curve[base - 1])
    if base_codes == 0:
        return StoppingRule(**rule, reached=False, point=None, reason=(
            f"no codes were found in the first {base} interviews (the base), so the "
            "new-information ratio has no denominator"))
    if n < base + run:
        return StoppingRule(**rule, reached=False, point=None, reason=(
            f"only {n} interviews were analysed: a run of {run} after a base of {base} "
            f"needs at least {base + run}"))
    new = _window_new(curve, base, run)
    ratios = new / base_codes
    checks = tuple(RunCheck(base + j, int(v), float(r)) for j, (v, r) in
                   enumerate(zip(new, ratios, strict=True)))
    met = np.flatnonzero(new <= threshold * base_codes + _EPS)
    if met.size:
        return StoppingRule(**rule, reached=True, point=base + int(met[0]), runs=checks)
    lowest = int(np.argmin(ratios))
    return StoppingRule(**rule, reached=False, point=None, runs=checks, reason=(
        f"no run of {run} interviews after the base of {base} added {format_percent(threshold)} or "
        f"less new codes relative to the {base_codes} base codes (the lowest was "
        f"{format_percent(ratios[lowest])}, interviews {base + lowest + 1}-{base + lowest + run})"))


def francis2010(cumulative: Sequence[int] | np.ndarray, initial: int = 10,
                criterion: int = 3) -> StoppingRule:
    """Francis et al. (2010): after an initial analysis sample, stop when ``criterion``
    consecutive interviews add no new code. ``point`` is the interview before that run.
    """
    curve = np.asarray(cumulative, dtype=np.int64)
    n = curve.size
    params = {"initial": initial, "criterion": criterion}
    rule = dict(name="francis2010", citation="Francis et al. (2010)", parameters=params,
                run=criterion)
    if n < initial + criterion:
        return StoppingRule(**rule, reached=False, point=None, reason=(
            f"only {n} interviews were analysed: an initial sample of {initial} and a "
            f"stopping criterion of {criterion} need at least {initial + criterion}"))
    new = _window_new(curve, initial, criterion)
    checks = tuple(RunCheck(initial + j, int(v), None) for j, v in enumerate(new))
    met = np.flatnonzero(new == 0)
    if met.size:
        return StoppingRule(**rule, reached=True, point=initial + int(met[0]), runs=checks)
    return StoppingRule(**rule, reached=False, point=None, runs=checks, reason=(
        f"every run of {criterion} consecutive interviews after interview {initial} "
        "added at least one new code"))


# -- Guest, Bunce & Johnson (2006): batches ---------------------------------------------------
@dataclass(frozen=True)
class Batch:
    """Codes after a batch of interviews: ``end`` is its last interview."""

    end: int
    new: int
    cumulative: int
    share: float  # of all codes seen in the N interviews, 0..1

    @property
    def percent(self) -> int:
        """Share as a whole percent, rounded half up (80/114 = 70.18% -> 70)."""
        return math.floor(self.share * 100 + 0.5)


def guest2006(cumulative: Sequence[int] | np.ndarray, batch: int = 6) -> tuple[Batch, ...]:
    """Cumulative codes after each batch of ``batch`` interviews (the last may be shorter)."""
    curve = np.asarray(cumulative, dtype=np.int64)
    total = int(curve[-1]) if curve.size else 0
    ends = list(range(batch, curve.size + 1, batch))
    if curve.size and (not ends or ends[-1] != curve.size):
        ends.append(curve.size)
    out, previous = [], 0
    for end in ends:
        value = int(curve[end - 1])
        out.append(Batch(end, value - previous, value, value / total if total else 0.0))
        previous = value
    return tuple(out)


# -- Chao2 ------------------------------------------------------------------------------------
# Chao2.ci_method when no interval can be computed (ci_low and ci_high are then NaN).
NO_INTERVAL = "none: no undetected codes estimated, and the variance is negative"

@dataclass(frozen=True)
class Chao2:
    """Chao2 estimate of the codes in the population from incidence data.

    ``form`` is "classic" (Q2 > 0) or "bias-corrected" (Q2 = 0). The interval is Chao's
    (1987) log-normal interval, which never falls below the observed count; when the
    estimate equals the observed count (Q1 <= 1 and Q2 = 0, or Q1 = 0) it is the interval
    for that case from Chao's SpadeR (Chao et al. 2016), centred on S_obs / (1 - P) (P the
    mean of e^-k over the codes, k the interviews each is in): it can lie wholly above the
    estimate, and when its variance is negative (many codes against few interviews)
    there is none: ``ci_low``, ``ci_high`` and ``variance`` are NaN and ``ci_method`` is
    :data:`NO_INTERVAL`.
    """

    interviews: int
    observed: int
    q1: int
    q2: int
    estimate: float
    form: str
    variance: float
    ci_low: float
    ci_high: float
    confidence: float
    ci_method: str

    @property
    def coverage(self) -> float:
        """Observed / estimated codes (0..1)."""
        return self.observed / self.estimate if self.estimate else float("nan")

    @property
    def undetected(self) -> float:
        return self.estimate - self.observed

    def to_dict(self) -> dict:
        return {
            "interviews": self.interviews, "observed": self.observed, "q1": self.q1,
            "q2": self.q2, "estimate": self.estimate, "form": self.form,
            "variance": self.variance, "ci_low": self.ci_low, "ci_high": self.ci_high,
            "confidence": self.confidence, "ci_method": self.ci_method,
            "coverage": self.coverage,
        }


def chao2(matrix: np.ndarray, confidence: float = 0.95) -> Chao2:
    """Chao2 for an interviews x codes presence matrix (codes never present are ignored).

    With T interviews, Q1/Q2 codes in exactly one/two interviews, A = (T-1)/T:
    classic S_obs + A*Q1^2/(2*Q2), variance Q2*(A/2*(Q1/Q2)^2 + A^2*(Q1/Q2)^3 +
    A^2/4*(Q1/Q2)^4); bias-corrected (Q2 = 0) S_obs + A*Q1*(Q1-1)/2, variance
    A*Q1*(Q1-1)/2 + A^2*Q1*(2*Q1-1)^2/4 - A^2*Q1^4/(4*Chao2). Interval (Chao 1987):
    [S_obs + f0/K, S_obs + f0*K], K = exp(z*sqrt(ln(1 + var/f0^2))), f0 = Chao2 - S_obs.
    """
    from statistics import NormalDist

    matrix = np.asarray(matrix, dtype=bool)
    t = int(matrix.shape[0])
    incidence = matrix.sum(axis=0)
    incidence = incidence[incidence > 0]
    s_obs = int(incidence.size)
    q1 = int(np.count_nonzero(incidence == 1))
    q2 = int(np.count_nonzero(incidence == 2))
    a = (t - 1) / t if t else 0.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    if q2 > 0:
        form = "classic"
        f0 = a * q1 * q1 / (2 * q2)
        ratio = q1 / q2
        variance = q2 * (a / 2 * ratio**2 + a * a * ratio**3 + a * a / 4 * ratio**4)
    else:
        form = "bias-corrected"
        f0 = a * q1 * (q1 - 1) / 2
        estimate = s_obs + f0
        variance = (a * q1 * (q1 - 1) / 2 + a * a * q1 * (2 * q1 - 1) ** 2 / 4
                    - a * a * q1**4 / (4 * estimate)) if estimate else 0.0
    estimate = s_obs + f0
    if f0 > 0:
        k = math.exp(z * math.sqrt(math.log(1 + variance / f0**2)))
        low, high = s_obs + f0 / k, s_obs + f0 * k
        method = "log-normal (Chao 1987)"
    else:
        # No undetected codes estimated: the interval of Chao et al.'s SpadeR for this case.
        counts, freq = np.unique(incidence, return_counts=True)
        weights = np.exp(-counts.astype(float))
        variance = float(np.sum(freq * (weights - weights**2))
                         - np.sum(counts * weights * freq) ** 2 / t) if t else 0.0
        p = float(np.sum(freq * weights) / s_obs) if s_obs else 0.0
        if variance < 0:
            # Many codes against few interviews: SpadeR takes the square root of a negative
            # number (NaN in R). Rounding it up to 0 would claim an interval of no width.
            variance = low = high = float("nan")
            method = NO_INTERVAL
        else:
            spread = z * math.sqrt(variance) / (1 - p) if p < 1 else 0.0
            centre = s_obs / (1 - p) if p < 1 else float(s_obs)
            low, high = max(float(s_obs), centre - spread), centre + spread
            method = "no undetected codes estimated (Chao et al., SpadeR)"
    return Chao2(t, s_obs, q1, q2, float(estimate), form, float(variance), float(low),
                 float(high), confidence, method)


# -- Lowe et al. (2018): accumulation-curve fits ----------------------------------------------
def _independent(n: np.ndarray, total: float, share: float) -> np.ndarray:
    return total * (1 - (1 - share) ** n)


def _information_weighted(n: np.ndarray, total: float, share: float) -> np.ndarray:
    return total * share * n / (1 + share * (n - 1))


def _sample_size_weighted(n: np.ndarray, total: float, share: float) -> np.ndarray:
    from scipy.special import gammaln

    share = min(share, 1 - 1e-12)
    log_ratio = gammaln(1 - share + n) - gammaln(1 - share) - gammaln(1 + n)
    return total * (1 - np.exp(log_ratio))


# key -> (name, function). Order breaks ties in residual error.
MODELS = {
    "independent": ("independent samples", _independent),
    "information": ("information weighted", _information_weighted),
    "sample_size": ("sample-size weighted", _sample_size_weighted),
}

_MAX_INTERVIEWS = 10_000_000
_TOTAL_BOUND = 100  # A may run to 100 x the observed codes before we call it unbounded


@dataclass(frozen=True)
class AccumulationFit:
    """One accumulation model fitted to T_n (Lowe et al. 2018).

    ``total`` is A (codes to be found), ``share`` is b (mean share of codes present in one
    interview), ``rmse`` the root-mean-square residual in codes, ``index`` the saturation
    index 100 * T_N / floor(A), ``needed`` the interviews at which the fitted curve reaches
    ``target`` of floor(A) (None with ``reason`` when it does not).
    """

    model: str
    name: str
    total: float
    share: float
    rmse: float
    index: float
    target: float
    needed: int | None
    reached: bool
    reason: str = ""
    converged: bool = True

    def predict(self, n: Sequence[float] | np.ndarray) -> np.ndarray:
        """T_n of the fitted curve at interviews ``n``."""
        return MODELS[self.model][1](np.asarray(n, dtype=float), self.total, self.share)

    def describe(self) -> str:
        if self.needed is None:
            index = "" if math.isnan(self.index) else (
                f"index {self.index:.1f}% of {_whole(self.total)} codes; ")
            return f"{index}{format_percent(self.target)} not reached, because {self.reason}"
        # ``reached`` judges the observed index, ``needed`` the fitted curve, which may
        # cross the target before or after the last interview analysed.
        side = "at or above" if self.reached else "below"
        return (f"index {self.index:.1f}% of {_whole(self.total)} codes, {side} the "
                f"{format_percent(self.target)} target; the fitted curve reaches "
                f"{format_percent(self.target)} at "
                f"interview {self.needed}")

    def to_dict(self) -> dict:
        return {
            "model": self.model, "name": self.name, "A": self.total, "b": self.share,
            "rmse": self.rmse, "saturation_index": self.index, "target": self.target,
            "interviews_needed": self.needed, "reached": self.reached,
            "converged": self.converged, "reason": self.reason or None,
        }


def _whole(total: float) -> int:
    """floor(A), forgiving float noise (59.9999999999 codes is 60)."""
    return math.floor(total + 1e-6)


def _interviews_needed(model: str, total: float, share: float, goal: float) -> int | None:
    """Smallest n >= 1 with T(n) >= goal, or None within _MAX_INTERVIEWS (curves rise)."""
    function = MODELS[model][1]

    def value(n: int) -> float:
        return float(function(np.array([float(n)]), total, share)[0])

    if value(1) >= goal - _EPS:
        return 1
    high = 2
    while value(high) < goal - _EPS:
        high *= 2
        if high > _MAX_INTERVIEWS:
            return None
    low = high // 2
    while high - low > 1:
        mid = (low + high) // 2
        if value(mid) >= goal - _EPS:
            high = mid
        else:
            low = mid
    return high


def fit_accumulation(cumulative: Sequence[float] | np.ndarray, target: float = 0.95,
                     models: Sequence[str] = tuple(MODELS)) -> tuple[AccumulationFit, ...]:
    """Fit each model to T_1..T_N by least squares (scipy), A >= T_N and 0 < b <= 1.

    Starts from the closed form of the information-weighted model,
    A0 = (N-1) T_1 T_N / (N T_1 - T_N). Returns one fit per model, in ``models`` order.
    """
    from scipy.optimize import least_squares

    curve = np.asarray(cumulative, dtype=float)
    n_points = curve.size
    n = np.arange(1, n_points + 1, dtype=float)
    observed = float(curve[-1]) if n_points else 0.0
    first = float(curve[0]) if n_points else 0.0
    fits = []
    for key in models:
        name, function = MODELS[key]
        if n_points < 3:
            fits.append(AccumulationFit(key, name, float("nan"), float("nan"), float("nan"),
                                        float("nan"), target, None, False, reason=(
                f"a two-parameter curve needs at least 3 interviews; got {n_points}")))
            continue
        if observed <= 0 or first <= 0:
            fits.append(AccumulationFit(key, name, float("nan"), float("nan"), float("nan"),
                                        float("nan"), target, None, False, reason=(
                "the first interview has no codes, so the curve cannot be fitted "
                "from T_1" if observed > 0 else "no codes were found")))
            continue
        denominator = n_points * first - observed
        start_total = ((n_points - 1) * first * observed / denominator
                       if denominator > 0 else 2 * observed)
        upper_total = _TOTAL_BOUND * observed
        # A >= the codes already seen (a whole number), so the index never passes 100.
        lower_total = math.ceil(observed - 1e-9)
        start_total = float(np.clip(start_total, lower_total, upper_total * 0.99))
        start_share = float(np.clip(first / start_total, 1e-6, 1 - 1e-6))
        upper_share = 1 - 1e-9 if key == "sample_size" else 1.0

        def residuals(params: np.ndarray, function=function) -> np.ndarray:
            return function(n, params[0], params[1]) - curve

        solution = least_squares(
            residuals, x0=[start_total, min(start_share, upper_share * 0.999)],
            bounds=([lower_total, 1e-9], [upper_total, upper_share]), method="trf",
        )
        total, share = (float(v) for v in solution.x)
        rmse = float(np.sqrt(np.mean(solution.fun**2)))
        index = 100 * observed / _whole(total)
        reached = index >= 100 * target - _EPS
        if not solution.success:
            fits.append(AccumulationFit(key, name, total, share, rmse, index, target, None,
                                        False, converged=False, reason=(
                f"the least-squares fit did not converge ({solution.message})")))
            continue
        if total >= upper_total * (1 - 1e-6):
            fits.append(AccumulationFit(key, name, total, share, rmse, index, target, None,
                                        False, reason=(
                "the curve shows no sign of levelling off: the fitted number of codes to "
                f"find ran to the bound of {_TOTAL_BOUND} x the {observed:.0f} observed")))
            continue
        needed = _interviews_needed(key, total, share, target * _whole(total))
        reason = "" if needed is not None else (
            f"the fitted curve does not reach {format_percent(target)} of {_whole(total)} codes "
            f"within {_MAX_INTERVIEWS:,} interviews")
        fits.append(AccumulationFit(key, name, total, share, rmse, index, target, needed,
                                    reached, reason))
    return tuple(fits)


def best_fit(fits: Sequence[AccumulationFit]) -> AccumulationFit | None:
    """The fit with the smallest residual error among those that gave a curve."""
    usable = [f for f in fits if f.converged and not math.isnan(f.rmse)]
    return min(usable, key=lambda f: f.rmse) if usable else None


# -- order uncertainty ------------------------------------------------------------------------
def permuted_orders(n_interviews: int, permutations: int, seed: int) -> np.ndarray:
    """``permutations`` random orderings of ``n_interviews`` (rows), from one seed."""
    rng = np.random.default_rng(seed)
    base = np.broadcast_to(np.arange(n_interviews, dtype=np.int32),
                           (permutations, n_interviews))
    return rng.permuted(base, axis=1)


def permuted_curves(matrix: np.ndarray, orders: np.ndarray,
                    chunk_bytes: int = 32 * 2**20) -> np.ndarray:
    """T_n for each ordering (rows of ``orders``) -> int32 array (P, N).

    Codes are packed 64 to a word, so one ordering costs N x ceil(C/64) OR operations
    and a popcount, whatever the density of the matrix; orderings go in chunks of about
    ``chunk_bytes`` to bound memory.
    """
    matrix = np.asarray(matrix, dtype=bool)
    n_interviews, n_codes = matrix.shape
    words = max(1, -(-n_codes // 64))
    padded = np.zeros((n_interviews, words * 64), dtype=bool)
    padded[:, :n_codes] = matrix
    packed = np.packbits(padded, axis=1).view(np.uint64)  # (N, words)
    out = np.empty((orders.shape[0], n_interviews), dtype=np.int32)
    per_order = n_interviews * words * 8
    step = max(1, chunk_bytes // max(per_order, 1))
    for begin in range(0, orders.shape[0], step):
        block = packed[orders[begin : begin + step]]  # (B, N, words)
        np.bitwise_or.accumulate(block, axis=1, out=block)
        out[begin : begin + step] = np.bitwise_count(block).sum(axis=2, dtype=np.int32)
    return out


def first_runs(curves: np.ndarray, start: int, run: int, threshold: float | None) -> np.ndarray:
    """Vectorised stopping rule over many curves (P, N) -> s per curve, 0 when not met.

    ``threshold`` None means Francis (no new code in the run); a number means Guest 2020
    (new codes <= threshold x codes in the first ``start`` interviews).
    """
    count, n = curves.shape
    if n < start + run or start < 1:
        return np.zeros(count, dtype=np.int64)
    new = _window_new(curves.astype(np.int64), start, run)
    if threshold is None:
        met = new == 0
    else:
        base_codes = curves[:, start - 1 : start].astype(np.int64)
        met = (new <= threshold * base_codes + _EPS) & (base_codes > 0)
    anywhere = met.any(axis=1)
    return np.where(anywhere, start + met.argmax(axis=1), 0)


@dataclass(frozen=True, eq=False)
class RuleDistribution:
    """Where one stopping rule is met across random orderings.

    ``points`` holds s for each ordering (0 where the rule is not met).
    """

    name: str
    run: int
    points: np.ndarray = field(repr=False)

    @property
    def share_met(self) -> float:
        return float(np.mean(self.points > 0)) if self.points.size else 0.0

    def quantiles(self, q: Sequence[float] = (0.025, 0.5, 0.975)) -> list[float] | None:
        """Quantiles of s among the orderings that met the rule (None if none did)."""
        met = self.points[self.points > 0]
        return None if met.size == 0 else [float(v) for v in np.quantile(met, q)]

    def met_by(self, n_interviews: int) -> np.ndarray:
        """Share of orderings in which the rule is confirmed (s + r <= n), n = 1..N."""
        confirmed = np.where(self.points > 0, self.points + self.run, n_interviews + 1)
        counts = np.bincount(np.minimum(confirmed, n_interviews + 1),
                             minlength=n_interviews + 2)[1 : n_interviews + 1]
        return np.cumsum(counts) / max(self.points.size, 1)

    def counts(self) -> dict[int, int]:
        """{s: orderings with that saturation point} (0 = not met)."""
        values, freq = np.unique(self.points, return_counts=True)
        return {int(v): int(c) for v, c in zip(values, freq, strict=True)}

    def to_dict(self) -> dict:
        q = self.quantiles()
        return {
            "name": self.name, "run": self.run, "share_met": self.share_met,
            "point_quantiles": None if q is None else dict(
                zip(("p2.5", "median", "p97.5"), q, strict=True)),
            "point_counts": {str(k): v for k, v in self.counts().items()},
        }


@dataclass(frozen=True, eq=False)
class OrderUncertainty:
    """The curve and the stopping rules over ``permutations`` seeded random orderings."""

    permutations: int
    seed: int
    mean: np.ndarray = field(repr=False)
    low: np.ndarray = field(repr=False)   # 2.5th percentile of T_n
    high: np.ndarray = field(repr=False)  # 97.5th percentile of T_n
    rules: dict[str, RuleDistribution] = field(repr=False)

    def to_dict(self) -> dict:
        n = self.mean.size
        return {
            "permutations": self.permutations, "seed": self.seed,
            "mean": [float(v) for v in self.mean],
            "p2.5": [float(v) for v in self.low],
            "p97.5": [float(v) for v in self.high],
            "rules": {k: {**v.to_dict(), "met_by_n": [float(x) for x in v.met_by(n)]}
                      for k, v in self.rules.items()},
        }


def order_uncertainty(matrix: np.ndarray, *, permutations: int = 1000, seed: int = 0,
                      base: int = 4, run: int = 2, threshold: float = 0.05,
                      initial: int = 10, criterion: int = 3) -> OrderUncertainty:
    """Mean curve, 95% band and each rule's saturation point over random orderings."""
    matrix = np.asarray(matrix, dtype=bool)
    orders = permuted_orders(matrix.shape[0], permutations, seed)
    curves = permuted_curves(matrix, orders)
    low, high = np.percentile(curves, [2.5, 97.5], axis=0)
    rules = {
        "guest2020": RuleDistribution("guest2020", run,
                                      first_runs(curves, base, run, threshold)),
        "francis2010": RuleDistribution("francis2010", criterion,
                                        first_runs(curves, initial, criterion, None)),
    }
    return OrderUncertainty(permutations, seed, curves.mean(axis=0), low, high, rules)
