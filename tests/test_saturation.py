"""Saturation: worked numbers from the papers, hand-computed Chao2, properties, input
checks, the report files and the command line."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qualcode.analysis._accumulation import (
    MODELS,
    NO_INTERVAL,
    chao2,
    cumulative_curve,
    fit_accumulation,
    francis2010,
    guest2006,
    guest2020,
    new_codes_per_interview,
    order_uncertainty,
    permuted_curves,
    permuted_orders,
)
from qualcode.analysis.saturation import SaturationResult, load_incidence, saturation
from qualcode.errors import InputError, NotFoundError, ParameterError, TableError
from qualcode.model import Coding


# -- builders ---------------------------------------------------------------------------------
def mapping_from_new(new: list[int], repeat_seed: int | None = None) -> dict[str, list[str]]:
    """Interviews I01.. where interview i introduces new[i] codes; with a seed, each code
    also recurs in some later interviews (which never changes the curve)."""
    rng = np.random.default_rng(repeat_seed) if repeat_seed is not None else None
    interviews: dict[str, list[str]] = {f"I{i + 1:02d}": [] for i in range(len(new))}
    names = list(interviews)
    code = 0
    for i, count in enumerate(new):
        for _ in range(count):
            interviews[names[i]].append(f"c{code:03d}")
            if rng is not None:
                for later in names[i + 1:]:
                    if rng.random() < 0.3:
                        interviews[later].append(f"c{code:03d}")
            code += 1
    return interviews


def matrix_with_incidence(interviews: int, counts: list[int]) -> np.ndarray:
    """Code j present in the first counts[j] interviews."""
    matrix = np.zeros((interviews, len(counts)), dtype=bool)
    for j, k in enumerate(counts):
        matrix[:k, j] = True
    return matrix


# Guest, Bunce & Johnson (2006): 60 interviews, Ghana (1-30) then Nigeria (31-60).
# 80 codes in the first 6, 20 more by 12 (100), 9 more by 30 (109 in Ghana), 5 in Nigeria.
GUEST_2006_NEW = (
    [40, 15, 10, 7, 5, 3]                       # 1-6: 80
    + [6, 5, 4, 3, 1, 1]                        # 7-12: 20 -> 100
    + [2, 0, 1, 0, 0, 2, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0]  # 13-30: 9 -> 109
    + [0, 2, 0, 0, 1] + [0] * 7 + [1] + [0] * 8 + [1] + [0] * 8  # 31-60: 5 -> 114
)


# -- Guest, Bunce & Johnson (2006) ------------------------------------------------------------
def test_guest2006_table_reproduces_70_and_92_percent():
    assert len(GUEST_2006_NEW) == 60 and sum(GUEST_2006_NEW) == 114
    result = saturation(mapping_from_new(GUEST_2006_NEW, repeat_seed=1), order="given",
                        permutations=0)
    first, second = result.batches[:2]
    assert (first.end, first.cumulative, second.end, second.cumulative) == (6, 80, 12, 100)
    # Percent of all codes, rounded half up to a whole percent: 80/114 = 70.18% -> 70%.
    assert first.percent == 70
    # 100/114 = 87.7% -> 88%. The paper's "92%" is 100 of the 109 codes of the 30 Ghana
    # interviews (91.7%), coded before the Nigerian ones: the same table cut at 30 gives it.
    assert second.percent == 88
    ghana = dict(list(mapping_from_new(GUEST_2006_NEW, repeat_seed=1).items())[:30])
    ghana_result = saturation(ghana, order="given", permutations=0)
    assert ghana_result.n_codes == 109
    assert [b.percent for b in ghana_result.batches[:2]] == [73, 92]  # 73.4%, 91.7%


def test_guest2006_batches_end_with_a_short_batch():
    batches = guest2006(np.cumsum([3, 2, 1, 1, 0, 0, 1]), batch=3)
    assert [(b.end, b.new, b.cumulative) for b in batches] == [(3, 6, 6), (6, 1, 7), (7, 1, 8)]


# -- Guest, Namey & Chen (2020) ---------------------------------------------------------------
def test_guest2020_worked_example():
    rule = guest2020(np.cumsum([4, 3, 2, 1, 1, 0, 0, 0]), base=4, run=2, threshold=0.05)
    assert rule.reached and rule.label == "5+2" and rule.point == 5 and rule.confirmed_at == 7
    # base = 10 codes; run 5-6 adds 1 (10%), run 6-7 adds 0 (0%)
    assert [(r.after, r.new, r.ratio) for r in rule.runs] == [(4, 1, 0.1), (5, 0, 0.0),
                                                              (6, 0, 0.0)]


@pytest.mark.parametrize(("new", "kwargs", "label", "reason"), [
    ([4, 3, 2, 1, 1, 0, 0, 0], {"threshold": 0.0}, "5+2", None),
    # 1 new code of 10 is exactly 10%: "<=" holds despite floating point
    ([4, 3, 2, 1, 1, 0, 0, 0], {"threshold": 0.10}, "4+2", None),
    ([4, 3, 2, 1, 1, 0, 0, 0], {"run": 3}, "5+3", None),
    ([4, 3, 2, 1, 1, 1, 1, 1], {}, "not reached", "the lowest was 20%, interviews 5-6"),
    ([3, 2], {}, "not reached", "base size (4) is larger than the 2 interviews"),
    ([0, 0, 0, 0, 1, 0, 0], {}, "not reached", "no codes were found in the first 4"),
    ([4, 3, 2, 1, 1], {}, "not reached", "needs at least 6"),
])
def test_guest2020_table(new, kwargs, label, reason):
    rule = guest2020(np.cumsum(new), **kwargs)
    assert rule.label == label
    if reason is None:
        assert rule.reason == ""
    else:
        assert reason in rule.reason and rule.point is None
        assert rule.describe().startswith("not reached, because ")


# -- Francis et al. (2010) --------------------------------------------------------------------
@pytest.mark.parametrize(("new", "label", "reason"), [
    ([5, 4, 3, 2, 2, 1, 1, 1, 1, 1, 0, 0, 0], "10+3", None),
    ([5, 4, 3, 2, 2, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0], "12+3", None),
    # zeros inside the initial sample do not count
    ([5, 0, 0, 0, 2, 1, 1, 1, 1, 1, 1, 0, 0], "not reached", "added at least one new code"),
    ([5, 4, 3], "not reached", "need at least 13"),
])
def test_francis2010_table(new, label, reason):
    rule = francis2010(np.cumsum(new), initial=10, criterion=3)
    assert rule.label == label
    assert (reason is None) == rule.reached
    if reason:
        assert reason in rule.reason


# -- Chao2 ------------------------------------------------------------------------------------
def test_chao2_classic_by_hand():
    # T = 5 interviews; codes in 1,1,1,1,2,2,3,5 interviews: S_obs 8, Q1 4, Q2 2, A = 4/5.
    c = chao2(matrix_with_incidence(5, [1, 1, 1, 1, 2, 2, 3, 5]))
    assert (c.observed, c.q1, c.q2, c.form) == (8, 4, 2, "classic")
    # f0 = 0.8 * 4^2 / (2*2) = 3.2 -> 11.2
    assert c.estimate == pytest.approx(11.2)
    # var = 2 * (0.4*2^2 + 0.64*2^3 + 0.16*2^4) = 2 * (1.6 + 5.12 + 2.56) = 18.56
    assert c.variance == pytest.approx(18.56)
    # K = exp(1.96 * sqrt(ln(1 + 18.56/3.2^2))) = exp(1.96 * sqrt(ln 2.8125)) = 7.33807
    # CI = [8 + 3.2/K, 8 + 3.2*K] = [8.4361, 31.4818]
    assert c.ci_low == pytest.approx(8.43608, abs=1e-4)
    assert c.ci_high == pytest.approx(31.48183, abs=1e-4)
    assert c.coverage == pytest.approx(8 / 11.2)


def test_chao2_bias_corrected_when_no_doubletons():
    # T = 4; codes in 1,1,1,3,4 interviews: S_obs 5, Q1 3, Q2 0, A = 3/4.
    c = chao2(matrix_with_incidence(4, [1, 1, 1, 3, 4]))
    assert (c.observed, c.q1, c.q2, c.form) == (5, 3, 0, "bias-corrected")
    # f0 = 0.75 * 3 * 2 / 2 = 2.25 -> 7.25
    assert c.estimate == pytest.approx(7.25)
    # var = 0.75*3*2/2 + 0.5625*3*5^2/4 - 0.5625*3^4/(4*7.25)
    #     = 2.25 + 10.546875 - 1.5711207 = 11.2257543
    assert c.variance == pytest.approx(11.2257543)
    # K = exp(1.96 * sqrt(ln(1 + 11.2257543/2.25^2))) = 8.32066 -> [5.2704, 23.7215]
    assert (c.ci_low, c.ci_high) == (pytest.approx(5.27041, abs=1e-4),
                                     pytest.approx(23.72149, abs=1e-4))


def test_chao2_without_singletons_equals_observed_and_keeps_an_interval():
    # T = 4; codes in 2,3,4,4 interviews: nothing seen once, so no unseen codes estimated.
    c = chao2(matrix_with_incidence(4, [2, 3, 4, 4]))
    assert c.estimate == 4 and c.coverage == 1 and c.ci_low == 4
    # var = sum Q_k (e^-k - e^-2k) - (sum k e^-k Q_k)^2 / T = 0.200289 - 0.080247
    assert c.variance == pytest.approx(0.120042, abs=1e-5)
    # P = sum Q_k e^-k / S_obs = 0.0554386; upper = (4 + 1.96*sqrt(var)) / (1 - P)
    assert c.ci_high == pytest.approx(4.953694, abs=1e-5)


def test_chao2_spader_interval_can_lie_above_the_estimate_and_the_report_says_so():
    # T = 30; 40 codes each in exactly 2 interviews. SpadeR's interval for f0 = 0 is
    # centred on S_obs / (1 - P), P = e^-2: var = 40 (e^-2 - e^-4) - (2 e^-2 40)^2 / 30.
    c = chao2(matrix_with_incidence(30, [2] * 40))
    assert c.estimate == 40 and c.variance == pytest.approx(0.773449, abs=1e-5)
    centre, spread = 40 / (1 - math.exp(-2)), 1.959964 * math.sqrt(c.variance) / (1 - math.exp(-2))
    assert (c.ci_low, c.ci_high) == (pytest.approx(centre - spread, abs=1e-4),
                                     pytest.approx(centre + spread, abs=1e-4))
    assert c.ci_low > c.estimate
    result = saturation({f"i{j}": [f"c{k}" for k in range(40) if j in (k % 30, (k + 3) % 30)]
                         for j in range(30)}, permutations=0)
    assert result.chao2.ci_low > result.chao2.estimate
    assert "the interval lies above the estimate" in dict(result.summary_rows())[
        "Chao2 (classic)"]
    assert "The interval lies wholly above the estimate." in result.methods()


def test_chao2_gives_no_interval_when_spaders_variance_is_negative():
    # T = 10; 30 codes each in exactly 2: var = 30 (e^-2 - e^-4) - (2 e^-2 30)^2 / 10 < 0.
    # SpadeR takes its square root (NaN in R); rounding it up to 0 gave "CI 34.7-34.7".
    c = chao2(matrix_with_incidence(10, [2] * 30))
    assert c.estimate == 30 and c.ci_method == NO_INTERVAL
    assert math.isnan(c.ci_low) and math.isnan(c.ci_high) and math.isnan(c.variance)
    result = saturation({f"i{j}": [f"c{k}" for k in range(30) if j in (k % 10, (k + 3) % 10)]
                         for j in range(10)}, permutations=0)
    row = dict(result.summary_rows())["Chao2 (classic)"]
    assert "no confidence interval" in row and "nan" not in row
    assert "No confidence interval is given for Chao2" in result.methods()
    assert "nan" not in result.methods()
    assert result.to_dict()["chao2"]["ci_low"] is None  # JSON has no NaN


# -- fits (Lowe et al. 2018) ------------------------------------------------------------------
@pytest.mark.parametrize(("model", "share"), [
    ("independent", 0.15), ("information", 0.15), ("sample_size", 0.6)])
def test_fits_recover_the_generating_model(model, share):
    n = np.arange(1, 26, dtype=float)
    curve = MODELS[model][1](n, 60.0, share)
    fits = {f.model: f for f in fit_accumulation(curve, target=0.95)}
    fit = fits[model]
    assert fit.total == pytest.approx(60.0, rel=1e-3)
    assert fit.share == pytest.approx(share, rel=1e-3)
    assert fit.rmse < 1e-3
    assert min(fits.values(), key=lambda f: f.rmse).model == model
    # saturation index = 100 * T_N / floor(A), A = 60
    assert fit.index == pytest.approx(100 * curve[-1] / 60, rel=1e-6)
    assert fit.predict([fit.needed])[0] >= 0.95 * 60 - 1e-6
    assert fit.predict([fit.needed - 1])[0] < 0.95 * 60


def test_slow_sample_size_curve_says_it_never_gets_there():
    # T ~ A(1 - n^-b / G(1-b)): with b = 0.15, 95% needs about 2e8 interviews.
    curve = MODELS["sample_size"][1](np.arange(1, 26, dtype=float), 60.0, 0.15)
    fit = {f.model: f for f in fit_accumulation(curve)}["sample_size"]
    assert fit.needed is None and "within 10,000,000 interviews" in fit.reason
    assert fit.describe().startswith("index 44.7% of 60 codes; 95% not reached, because")


def test_information_weighted_needed_matches_closed_form():
    # A b n / (1 + b(n-1)) = p A  <=>  n = p (1 - b) / (b (1 - p))
    n = np.arange(1, 21, dtype=float)
    fit = {f.model: f for f in fit_accumulation(MODELS["information"][1](n, 40.0, 0.3))}[
        "information"]
    goal = 0.95 * math.floor(fit.total) / fit.total
    assert fit.needed == math.ceil(goal * (1 - fit.share) / (fit.share * (1 - goal)) - 1e-9)


def test_fit_description_keeps_the_observed_index_apart_from_the_fitted_crossing():
    # Still rising at the end (5 new codes in interview 11): the fit puts A at 28.5, so the
    # observed index is 28/28 = 100%, yet the fitted curve reaches 95% only at interview 16,
    # after the 11 done. "95% reached at interview 16" would be a false sentence.
    curve = [4, 9, 14, 14, 17, 17, 19, 19, 20, 23, 28]
    fit = {f.model: f for f in fit_accumulation(curve)}["independent"]
    assert fit.reached and fit.index == 100.0 and fit.needed > len(curve)
    assert fit.describe() == (
        f"index 100.0% of 28 codes, at or above the 95% target; the fitted curve reaches "
        f"95% at interview {fit.needed}")
    # Levelling off below the target: the fitted curve crosses 95% within the interviews done.
    curve = [4, 7, 9, 9, 9, 9, 9, 9, 9]
    fit = {f.model: f for f in fit_accumulation(curve)}["information"]
    assert not fit.reached and fit.needed <= len(curve)
    assert fit.describe().startswith("index 90.0% of 10 codes, below the 95% target; the "
                                      "fitted curve reaches 95% at interview ")


def test_fit_says_why_when_the_curve_never_levels_off():
    fits = fit_accumulation(np.arange(5, 105, 5), target=0.95)  # straight line
    info = {f.model: f for f in fits}["information"]
    assert info.needed is None and not info.reached
    assert "levelling off" in info.reason or "not reach" in info.reason
    short = fit_accumulation([3, 5])
    assert all(f.needed is None and "at least 3 interviews" in f.reason for f in short)


# -- curves and the permutation engine --------------------------------------------------------
def test_permuted_curves_match_a_direct_computation():
    rng = np.random.default_rng(3)
    matrix = rng.random((23, 150)) < 0.1  # 150 codes: more than two 64-bit words
    orders = permuted_orders(23, 40, seed=5)
    fast = permuted_curves(matrix, orders, chunk_bytes=1000)  # many small chunks
    slow = np.array([cumulative_curve(matrix[o]) for o in orders])
    assert np.array_equal(fast, slow)


def test_seeds_are_reproducible():
    matrix = np.random.default_rng(0).random((30, 40)) < 0.2
    a = order_uncertainty(matrix, permutations=200, seed=7)
    b = order_uncertainty(matrix, permutations=200, seed=7)
    c = order_uncertainty(matrix, permutations=200, seed=8)
    assert np.array_equal(a.mean, b.mean) and np.array_equal(a.low, b.low)
    assert all(np.array_equal(a.rules[k].points, b.rules[k].points) for k in a.rules)
    assert not np.array_equal(a.rules["guest2020"].points, c.rules["guest2020"].points) or \
        not np.array_equal(a.mean, c.mean)
    mapping = {f"d{i}": [f"c{j}" for j in np.flatnonzero(row)] for i, row in enumerate(matrix)}
    first = saturation(mapping, permutations=100, seed=3).to_dict()
    again = saturation(mapping, permutations=100, seed=3).to_dict()
    assert first == again


def test_rule_distribution_agrees_with_single_order_rules():
    matrix = np.random.default_rng(2).random((20, 30)) < 0.15
    u = order_uncertainty(matrix, permutations=50, seed=1, base=4, run=2, threshold=0.05)
    orders = permuted_orders(20, 50, seed=1)
    for order, point in zip(orders, u.rules["guest2020"].points, strict=True):
        rule = guest2020(cumulative_curve(matrix[order]), 4, 2, 0.05)
        assert point == (rule.point or 0)
    met_by = u.rules["guest2020"].met_by(20)
    assert np.all(np.diff(met_by) >= 0) and met_by[-1] == pytest.approx(
        u.rules["guest2020"].share_met)


presence = st.lists(st.lists(st.booleans(), min_size=6, max_size=6), min_size=2, max_size=12)


@given(presence, st.randoms(use_true_random=False))
@settings(max_examples=60, deadline=None)
def test_cumulative_never_decreases_and_order_keeps_the_total(rows, random):
    matrix = np.array(rows, dtype=bool)
    curve = cumulative_curve(matrix)
    assert np.all(np.diff(curve) >= 0)
    assert curve[-1] == int(matrix.any(axis=0).sum())
    assert new_codes_per_interview(matrix).sum() == curve[-1]
    order = list(range(len(rows)))
    random.shuffle(order)
    assert cumulative_curve(matrix[order])[-1] == curve[-1]
    curves = permuted_curves(matrix, permuted_orders(len(rows), 5, seed=0))
    assert np.all(curves[:, -1] == curve[-1]) and np.all(np.diff(curves, axis=1) >= 0)


# -- inputs -----------------------------------------------------------------------------------
LONG = pd.DataFrame({
    "document": ["a", "a", "b", "c", "c", "d"],
    "code": ["x", "y", "y", "z", "x", "w"],
    "date": ["2022-03-01", "2022-03-01", "2022-02-01", "2022-04-01", "2022-04-01",
             "2022-01-15"],
})


def test_long_table_ordered_by_date():
    inc = load_incidence(LONG)
    assert inc.order == "date" and inc.documents == ("d", "b", "a", "c")
    assert inc.dates == ("2022-01-15", "2022-02-01", "2022-03-01", "2022-04-01")
    result = saturation(LONG, permutations=0)
    assert list(result.new_codes) == [1, 1, 1, 1]


def test_wide_table_counts_and_binary():
    wide = pd.DataFrame({"document": ["a", "b", "c"], "x": [3, 0, 1], "y": [0, 1, 0],
                         "z": ["", "2", "0"]})
    inc = load_incidence(wide, order="given")
    assert inc.to_frame().to_dict("list") == {"x": [1, 0, 1], "y": [0, 1, 0], "z": [0, 1, 0]}
    with pytest.raises(TableError, match="code column 'x' holds '3'; each cell must be 0 or 1"):
        load_incidence(wide, values="binary")


@pytest.mark.parametrize(("value", "shown"), [("yes", "'yes'"), (-1, "'-1'"), (0.5, "'0.5'")])
def test_wide_table_bad_cells_name_row_and_column(value, shown):
    wide = pd.DataFrame({"document": ["a", "b"], "x": [1, 0], "y": [0, value]})
    with pytest.raises(TableError, match=f"document 'b'.*column 'y' holds {shown}"):
        load_incidence(wide)


def test_wide_csv_duplicate_documents_name_the_lines(tmp_path):
    path = tmp_path / "matrix.csv"
    path.write_text("interview,x,y\na,1,0\nb,0,1\na,1,1\n", encoding="utf-8")
    with pytest.raises(TableError, match="'a' appears twice") as info:
        load_incidence(path)
    assert info.value.line == 4 and str(path) in str(info.value)


def test_xlsx_and_csv_long_tables(tmp_path):
    xlsx = tmp_path / "codings.xlsx"
    LONG.to_excel(xlsx, index=False)
    csv = tmp_path / "codings.csv"
    LONG.rename(columns={"code": "tag"}).to_csv(csv, index=False)
    assert load_incidence(xlsx).documents == load_incidence(csv).documents == (
        "d", "b", "a", "c")


@pytest.mark.parametrize(("source", "error", "message"), [
    (pd.DataFrame({"document": ["a", "b"], "code": ["", ""]}), InputError, "no code present"),
    (pd.DataFrame({"document": ["a", "a"], "code": ["x", "y"]}), InputError,
     "one interview \\(a\\)"),
    ({}, InputError, "no interviews"),
    (pd.DataFrame({"document": ["a", "b"], "x": [0, 0]}), InputError, "no code present"),
])
def test_bad_sources(source, error, message):
    with pytest.raises(error, match=message):
        saturation(source, permutations=0)


def test_missing_dates_name_the_documents():
    partial = LONG.assign(date=["2022-03-01", "2022-03-01", "", "2022-04-01", "2022-04-01",
                                ""])
    with pytest.raises(InputError, match=r"No date for 2 of 4 interviews \(b, d\)"):
        load_incidence(partial, order="date")
    with pytest.raises(InputError, match=r"No date for 2 of 4"):
        load_incidence(partial)  # default: dates when there are any
    assert load_incidence(partial, order="given").documents == ("a", "b", "c", "d")
    with pytest.raises(InputError, match=r"ISO 8601.*a \('03/01/22'\)"):
        load_incidence(LONG.assign(date="03/01/22"), order="date")


def test_no_dates_says_the_order_is_as_given():
    inc = load_incidence({"b": ["x"], "a": ["y"]})
    assert inc.order == "given" and inc.documents == ("b", "a")
    assert any("order given" in note for note in inc.notes)


def test_order_file_and_sequence(tmp_path):
    order = tmp_path / "order.txt"
    order.write_text("# done in this order\nc\n\na\nd\nb\n", encoding="utf-8")
    assert load_incidence(LONG, order=order).documents == ("c", "a", "d", "b")
    assert load_incidence(LONG, order=["b", "a", "d", "c"]).order == "sequence"
    order.write_text("c\na\nzz\nb\nd\n", encoding="utf-8")
    with pytest.raises(InputError, match="not in the data: zz") as info:
        load_incidence(LONG, order=order)
    assert info.value.line == 3
    order.write_text("c\na\n", encoding="utf-8")
    with pytest.raises(InputError, match="lists 2 of 4 interviews; missing: b, d"):
        load_incidence(LONG, order=order)
    with pytest.raises(ParameterError, match="listed twice"):
        load_incidence(LONG, order=["a", "a", "b", "c", "d"])
    with pytest.raises(NotFoundError, match="Did you mean 'a'"):
        load_incidence(LONG, order=["A", "b", "c", "d"])
    with pytest.raises(ParameterError, match="The 'order' parameter of saturation\\(\\)"):
        load_incidence(LONG, order="by-date")


def test_ties_in_dates_keep_the_given_order_and_say_so():
    inc = load_incidence({"p2": ["x"], "p1": ["y"], "p3": ["z"]}, cases=pd.DataFrame(
        {"document": ["p1", "p2", "p3"], "date": ["2021-11-25", "2021-11-25", "2021-11-20"]}))
    assert inc.documents == ("p3", "p2", "p1")
    assert any("share a date" in n for n in inc.notes)


def test_min_interviews_status_and_themes():
    codings = pd.DataFrame({
        "document": ["a", "a", "b", "b", "c", "c"],
        "code": ["x", "y", "x", "z", "x", "q"],
        "theme": ["T1", "T2", "T1", "T2", "T1", "T3"],
        "status": ["accepted", "accepted", "accepted", "suggested", "accepted", "accepted"],
    })
    inc = load_incidence(codings, order="given")
    assert set(inc.codes) == {"x", "y", "q"}  # the suggested z does not count
    assert set(load_incidence(codings, status=None).codes) == {"x", "y", "z", "q"}
    rare = load_incidence(codings, min_interviews=2)
    assert rare.codes == ("x",) and rare.dropped_codes == ("y", "q")
    assert any("at least 2 interviews" in n for n in rare.notes)
    assert load_incidence(codings, themes=["T2", "T3"]).codes == ("y", "q")
    with pytest.raises(NotFoundError, match=r"No theme T9.*known themes: T1, T2, T3"):
        load_incidence(codings, themes=["T9"])
    with pytest.raises(InputError, match="in at least 4 interviews"):
        load_incidence(codings, min_interviews=4)
    with pytest.raises(ParameterError, match="'coder' column"):
        load_incidence(codings, coder="ann")


def test_methods_say_the_theme_filter_once():
    codings = {f"i{k}": ["x", "y"] if k % 2 else ["x", "z"] for k in range(6)}
    result = saturation(codings, code_themes={"x": "T1", "y": "T2", "z": "T1"},
                        themes=["T1"], permutations=10)
    text = result.methods()
    assert text.count("Only codes of the theme(s) T1") == 1
    assert any("Only codes of the theme(s) T1" in n for n in result.notes)  # console, JSON


def test_interviews_without_codes_are_counted_and_noted():
    inc = load_incidence({"a": ["x"], "b": [], "c": ["y"]})
    assert inc.documents == ("a", "b", "c")
    assert any("have no counted code (b)" in n for n in inc.notes)


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("base", 0, "an integer >= 1"),
    ("run", 1.5, "an integer >= 1"),
    ("threshold", 1.5, "a number in [0, 1]"),
    ("target", 95, "a number in (0, 1), e.g. 0.95"),
    ("permutations", -1, "an integer >= 0"),
    ("seed", -3, "an integer >= 0"),
    ("min_interviews", 0, "an integer >= 1"),
    ("fit_to", "best", "'observed' or 'mean'"),
    ("values", "ratio", "'counts' or 'binary'"),
    ("status", "acepted", "one of suggested, accepted, rejected or None"),
])
def test_parameters_get_the_house_sentence(name, value, expected):
    message = (f"The '{name}' parameter of saturation() must be {expected}. "
               f"Got {value!r} instead.")
    with pytest.raises(ParameterError) as info:
        saturation({"a": ["x"], "b": ["y"]}, **{name: value})
    assert str(info.value) == message


def test_base_larger_than_the_corpus_is_not_a_number():
    result = saturation({"a": ["x"], "b": ["y"], "c": ["x"]}, base=5, permutations=20)
    assert result.guest2020.label == "not reached"
    assert "larger than the 3 interviews" in result.guest2020.reason
    assert result.uncertainty.rules["guest2020"].share_met == 0
    assert "not reached, because the base size (5)" in result.summary()


# -- projects ---------------------------------------------------------------------------------
def test_project_counts_accepted_codings_by_date(project):
    project.set_attributes("d1", {"date": "2022-03-09"})
    project.set_attributes("d2", {"date": "2022-03-07"})
    project.add_codings([
        Coding("d1", 0, 5, "attendance", "ann"),
        Coding("d1", 6, 9, "tea", "ann"),
        Coding("d2", 0, 5, "attendance", "ann"),
        Coding("d2", 0, 5, "tea", "machine", method="rules", status="suggested",
               confidence=0.9),
    ])
    result = saturation(project, permutations=10)
    assert result.documents == ("d2", "d1") and result.incidence.order == "date"
    assert list(result.new_codes) == [1, 1]
    assert result.incidence.themes == {"attendance": "visits", "tea": "visits"}
    assert "project study.qualcode (accepted codings)" in result.summary()
    assert "when it had at least one accepted coding there" in result.methods()
    suggested = saturation(project, status=None, permutations=0)
    assert list(suggested.new_codes) == [2, 0]
    by_path = saturation(project.path, permutations=0, coder="ann")
    assert list(by_path.new_codes) == [1, 1]


# -- the result object and its report ---------------------------------------------------------
@pytest.fixture(scope="module")
def result() -> SaturationResult:
    mapping = mapping_from_new([6, 4, 3, 2, 2, 1, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0], repeat_seed=4)
    themes = {f"c{j:03d}": ("access", "trust", "cost")[j % 3] for j in range(21)}
    return saturation(mapping, code_themes=themes, permutations=200, seed=0)


def test_result_tables(result):
    frame = result.to_frame()
    assert list(frame["n"]) == list(range(1, 17))
    assert frame["cumulative"].is_monotonic_increasing
    assert {"perm_mean", "perm_p2_5", "perm_p97_5", "fit_information"} <= set(frame.columns)
    prevalence = result.prevalence()
    assert len(prevalence) == result.n_codes
    assert prevalence["first_n"].is_monotonic_increasing
    assert prevalence.loc[prevalence["code"] == "c020", "first_n"].item() == 14
    themes = result.themes_frame()
    assert sorted(themes["theme"]) == ["access", "cost", "trust"]
    assert themes["codes"].sum() == result.n_codes
    rules = result.rules_frame()
    assert list(rules["rule"]) == ["guest2020", "francis2010"]
    assert rules["share_met"].between(0, 1).all()


def test_result_text_json_and_html(result):
    data = result.to_dict()
    json.dumps(data, allow_nan=False)  # strictly JSON
    assert data["conception"] == "code saturation"
    assert data["guest2020"]["result"] == result.guest2020.label
    assert len(data["order_uncertainty"]["mean"]) == 16
    text = result.summary()
    assert "Guest 2020 (b=4, r=2, t=5%)" in text and "Chao2" in text
    assert "<table>" in result._repr_html_()
    methods = result.methods()
    for needle in ("code saturation", "meaning saturation", "Hennink", "Braun",
                   "Guest, G., Namey, E., & Chen, M. (2020)", "Lowe, A.", "seed 0",
                   "200 random orderings"):
        assert needle in methods


def test_plot_uses_no_pyplot_and_leaves_the_backend_alone(result):
    import matplotlib

    backend = matplotlib.get_backend()
    had_pyplot = "matplotlib.pyplot" in sys.modules
    figure = result.plot()
    ax = figure.axes[0]
    assert ax.get_xlabel().startswith("Interviews") and "codes" in ax.get_ylabel()
    labels = [t.get_text() for t in figure.legends[0].get_texts()]
    assert any("random orders" in t for t in labels)
    assert any(t.startswith("Guest, Namey & Chen (2020)") for t in labels)
    assert matplotlib.get_backend() == backend
    assert had_pyplot or "matplotlib.pyplot" not in sys.modules
    from matplotlib.figure import Figure

    own = Figure()
    assert result.plot(ax=own.add_subplot()) is own
    assert result.plot_themes().axes[0].get_ylabel().startswith("Share")


def test_write_report_writes_every_file_and_refuses_to_overwrite(result, tmp_path):
    paths = result.write_report(tmp_path / "report")
    names = {p.name for p in (tmp_path / "report").iterdir()}
    assert names == set(paths) == {
        "saturation.png", "saturation.svg", "saturation_curve.csv", "saturation_codes.csv",
        "saturation_rules.csv", "saturation.json", "methods.md", "saturation_themes.csv",
        "saturation_themes.png", "saturation_themes.svg"}
    assert paths["saturation.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in paths["saturation.svg"].read_text(encoding="utf-8")
    assert json.loads(paths["saturation.json"].read_text(encoding="utf-8"))["codes"] == 21
    assert len(pd.read_csv(paths["saturation_curve.csv"])) == 16
    with pytest.raises(ParameterError, match=r"already holds saturation\.png"):
        result.write_report(tmp_path / "report")
    before = paths["methods.md"].read_text(encoding="utf-8")
    result.write_report(tmp_path / "report", overwrite=True)
    assert paths["methods.md"].read_text(encoding="utf-8") == before


def test_fit_to_mean_curve():
    mapping = mapping_from_new([5, 3, 2, 2, 1, 1, 0, 1, 0, 0], repeat_seed=2)
    mean = saturation(mapping, fit_to="mean", permutations=100)
    assert mean.parameters["fit_to"] == "mean" and mean.best_fit is not None
    assert "mean curve over the random orderings" in mean.methods()
    with pytest.raises(ParameterError, match="needs permutations >= 1"):
        saturation(mapping, fit_to="mean", permutations=0)


# -- real data: Navarro-Gallinad et al. (2022) usability study --------------------------------
def swj2022_long(shared_data) -> pd.DataFrame:
    frame = pd.read_csv(shared_data / "swj2022-usability" / "codings_20220303.csv")
    frame["document"] = frame["document"].str.removesuffix(".odt")
    stamp = frame["document"].str.extract(r"_GMT(\d{8})")[0]
    frame["date"] = stamp.str[:4] + "-" + stamp.str[4:6] + "-" + stamp.str[6:]
    return frame[["document", "tag", "date"]]


def test_swj2022_usability_study(shared_data, tmp_path):
    result = saturation(swj2022_long(shared_data), permutations=1000, seed=0)
    assert (result.n_interviews, result.n_codes) == (17, 22)
    assert result.documents[:3] == ("P1_GMT20211118", "P2_GMT20211119", "P3_GMT20211125")
    assert result.documents[-1] == "P14_GMT20220124"  # interviewed last, in January
    # The final codebook was applied to every transcript: P1 already holds 21 of the 22
    # codes and P2 the last one, so every rule is met as early as its parameters allow.
    assert list(result.cumulative[:3]) == [21, 22, 22]
    assert result.guest2020.label == "4+2" and result.francis2010.label == "10+3"
    assert (result.chao2.q1, result.chao2.estimate) == (0, 22)
    assert result.uncertainty.rules["guest2020"].share_met == 1
    assert result.best_fit.index == pytest.approx(100)
    result.write_report(tmp_path)
    assert (tmp_path / "methods.md").read_text(encoding="utf-8").count("4+2") >= 1


# -- command line -----------------------------------------------------------------------------
@pytest.fixture
def codings_csv(tmp_path):
    path = tmp_path / "codings.csv"
    rows = [(doc, code) for doc, codes in mapping_from_new(
        [5, 3, 2, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0], repeat_seed=9).items() for code in codes]
    pd.DataFrame(rows, columns=["document", "code"]).to_csv(path, index=False)
    return path


def test_cli_writes_the_report(codings_csv, tmp_path):
    from typer.testing import CliRunner

    import qualcode.cli.saturation  # noqa: F401  (registers the command)
    from qualcode.cli._app import app

    out = tmp_path / "out"
    runner = CliRunner()
    run = runner.invoke(app, ["saturation", str(codings_csv), "--out", str(out),
                              "--permutations", "100", "--order", "given"])
    assert run.exit_code == 0, run.output
    assert "Guest 2020" in run.output and "Wrote 7 files" in run.output
    assert {p.name for p in out.iterdir()} >= {"saturation.png", "saturation.svg",
                                               "saturation.json", "methods.md",
                                               "saturation_curve.csv"}
    as_json = runner.invoke(app, ["saturation", str(codings_csv), "--json", "--base", "3",
                                  "--permutations", "0", "--threshold", "0"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert data["guest2020"]["parameters"] == {"base": 3, "run": 2, "threshold": 0.0}
    assert data["order_uncertainty"] is None and data["files"] == []


def test_cli_errors_exit_with_the_error_code(codings_csv, capsys):
    import qualcode.cli.saturation  # noqa: F401
    from qualcode.cli import main

    with pytest.raises(SystemExit) as info:
        main(["saturation", str(codings_csv), "--threshold", "1.5"])
    assert info.value.code == 2
    assert "The 'threshold' parameter of saturation() must be" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["saturation", str(codings_csv.with_name("missing.csv"))])
    assert info.value.code == 3


# -- what the report says about inputs and settings -------------------------------------------
def test_settings_are_reported_as_given_not_rounded_to_whole_percent():
    # 2.5% printed as "2%" (and 0.5% as "0%", the strict rule) misreports the method.
    result = saturation(mapping_from_new([6, 3, 2, 1, 0, 0, 0, 0], repeat_seed=1),
                        threshold=0.025, target=0.975, confidence=0.975, permutations=0)
    assert "Guest 2020 (b=4, r=2, t=2.5%)" in result.summary()
    methods = result.methods()
    assert "new-information threshold of 2.5% of the codes" in methods
    assert "number of interviews needed to reach 97.5%." in methods
    assert "Chao2 estimated" in methods and "(97.5% CI" in methods
    assert "t=0.5%" in saturation({"a": ["x"], "b": ["y"]}, threshold=0.005,
                                  permutations=0).summary()


def test_methods_name_the_chao2_interval_that_was_computed():
    # Every code in two or more interviews: f0 = 0, so the log-normal interval is undefined
    # and the interval is SpadeR's for that case; methods.md said "log-normal" regardless.
    none_unseen = saturation({"a": ["x", "y"], "b": ["x", "y"], "c": ["x"]}, permutations=0)
    assert none_unseen.chao2.ci_method.startswith("no undetected")
    methods = none_unseen.methods()
    assert "log-normal confidence interval (Chao, 1987" not in methods
    assert "as SpadeR does when no undetected codes are estimated (Chao et al., 2016" in methods
    assert "SpadeR: Species-richness" in methods and "Colwell, R. K. (2013)" not in methods
    unseen = saturation({"a": ["x", "y"], "b": ["z", "y"], "c": ["w"]}, permutations=0)
    assert unseen.chao2.ci_method.startswith("log-normal")
    assert "95% log-normal confidence interval (Chao, 1987" in unseen.methods()
    assert "SpadeR" not in unseen.methods() and "Colwell, R. K. (2013)" in unseen.methods()
    assert not any("SpadeR" in r for r in unseen.to_dict()["references"])


def test_min_interviews_says_chao2_cannot_see_singletons():
    result = saturation({"a": ["x", "y", "z"], "b": ["x", "y"], "c": ["x", "q"]},
                        min_interviews=2, permutations=0)
    assert result.chao2.q1 == 0
    assert ("codes present in fewer than 2 interviews were left out, so no counted code can "
            "appear in exactly one interview") in result.methods()
    assert "Chao2 predicts no unseen codes" not in result.methods()
    assert "Q1 = 0 by construction" in result.summary()


def test_summary_says_a_fit_was_not_made_rather_than_not_reached():
    result = saturation({"a": ["x"], "b": ["y"]}, permutations=0)
    assert ("Accumulation fit", "not fitted, because a two-parameter curve needs at least 3 "
            "interviews; got 2") in result.summary_rows()


def test_methods_notes_are_statements_not_command_line_advice(tmp_path):
    result = saturation({"a": ["x"], "b": ["y"], "c": ["x"]}, permutations=0)
    assert any("--order" in note for note in result.notes)  # the terminal's advice
    methods = result.methods()
    assert "- No interview dates were found, so interviews are taken in the order given.\n" \
        in methods
    assert "--order" not in methods and "order=" not in methods


def test_codes_that_are_their_own_theme_get_no_theme_report(tmp_path):
    # A flat codebook (the usability study's) makes each code its own theme: 22 one-code
    # "themes", each with its own Guest 2020 label, is not a per-theme analysis.
    flat = saturation({"a": ["x", "y"], "b": ["y"], "c": ["x"]}, permutations=0,
                      code_themes={"x": "x", "y": "y"})
    assert flat.theme_curves() == {} and flat.themes_frame().empty
    assert "saturation_themes.csv" not in flat.write_report(tmp_path / "flat")
    grouped = saturation({"a": ["x", "y"], "b": ["y", "z"], "c": ["x"]}, permutations=0,
                         code_themes={"x": "T", "y": "T", "z": "z"})
    assert list(grouped.theme_curves()) == ["T"]
    figure = grouped.plot_themes()
    assert [t.get_text() for t in figure.legends[0].get_texts()] == ["T (2 codes)"]


def test_project_documents_without_counted_codings_are_left_out_and_said(project):
    from builders import make_corpus

    project.add_corpus(make_corpus({"d3": "Cara: Nobody has coded this one yet."}))
    project.add_codings([
        Coding("d1", 0, 5, "attendance", "ann"),
        Coding("d1", 6, 9, "tea", "bob"),
        Coding("d2", 0, 5, "attendance", "ann"),
        Coding("d2", 0, 5, "tea", "bob"),
        Coding("d3", 0, 4, "tea", "machine", method="rules", status="suggested",
               confidence=0.9),
    ])
    # d3 has only a suggestion: counting it as an interview with no new code would show
    # saturation that nobody has looked for.
    result = saturation(project, order="given", permutations=0)
    assert result.documents == ("d1", "d2")
    note = ("1 document(s) have no accepted codings (d3); they are left out, not counted as "
            "interviews that added no new code.")
    assert note in result.notes and note in result.methods()
    assert ", pooling the codings of ann and bob (2 codes" in result.methods()
    # An order file may still list it.
    order = project.path.with_name("order.txt")
    order.write_text("d3\nd2\nd1\n", encoding="utf-8")
    assert saturation(project, order=order, permutations=0).documents == ("d2", "d1")
    assert saturation(project, order=["d2", "d3", "d1"], permutations=0).documents == \
        ("d2", "d1")
    with_suggestions = saturation(project, status=None, order="given", permutations=0)
    assert with_suggestions.documents == ("d1", "d2", "d3")
    assert "at least one coding of any status there" in with_suggestions.methods()


def test_long_table_documents_with_only_filtered_rows_are_left_out():
    codings = pd.DataFrame({
        "document": ["a", "a", "b", "c", "c", "d"],
        "code": ["x", "y", "x", "z", "x", "y"],
        "status": ["accepted", "accepted", "accepted", "suggested", "suggested", "accepted"],
    })
    inc = load_incidence(codings, order="given")
    assert inc.documents == ("a", "b", "d")
    assert any(n.startswith("1 document(s) have no accepted codings (c)") for n in inc.notes)
    # A row without a code is an interview coded with nothing: it still counts.
    explicit = pd.DataFrame({"document": ["a", "b", "c"], "code": ["x", "", "y"]})
    assert load_incidence(explicit, order="given").documents == ("a", "b", "c")
