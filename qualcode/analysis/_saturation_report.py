"""How a :class:`~qualcode.analysis.saturation.SaturationResult` is shown and written:
summary rows, HTML, JSON, the figure (matplotlib ``Figure``, no pyplot) and ``methods.md``.
"""

from __future__ import annotations

import html as html_lib
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qualcode.analysis._accumulation import NO_INTERVAL, format_percent
from qualcode.analysis._incidence import ORDER_ADVICE, theme_note

if TYPE_CHECKING:
    from qualcode.analysis.saturation import SaturationResult

REFERENCES = {
    "braun2019": (
        "Braun, V., & Clarke, V. (2019). To saturate or not to saturate? Questioning data "
        "saturation as a useful concept for thematic analysis and sample-size rationales. "
        "*Qualitative Research in Sport, Exercise and Health*, 13(2), 201–216 (published "
        "online 2019; issue 2021). https://doi.org/10.1080/2159676X.2019.1704846"),
    "chao1987": (
        "Chao, A. (1987). Estimating the population size for capture-recapture data with "
        "unequal catchability. *Biometrics*, 43(4), 783–791. https://doi.org/10.2307/2531532"),
    "chao2017": (
        "Chao, A., & Colwell, R. K. (2017). Thirty years of progeny from Chao's inequality: "
        "Estimating and comparing richness with incidence data and incomplete sampling. "
        "*SORT*, 41(1), 3–54."),
    "chao2016": (
        "Chao, A., Ma, K. H., Hsieh, T. C., & Chiu, C.-H. (2016). *SpadeR: Species-richness "
        "prediction and diversity estimation with R* (R package version 0.1.1). "
        "https://CRAN.R-project.org/package=SpadeR"),
    "colwell2013": (
        "Colwell, R. K. (2013). *EstimateS: Statistical estimation of species richness and "
        "shared species from samples* (Version 9), User's Guide, Appendix B (variance of "
        "Chao2)."),
    "francis2010": (
        "Francis, J. J., Johnston, M., Robertson, C., Glidewell, L., Entwistle, V., Eccles, "
        "M. P., & Grimshaw, J. M. (2010). What is an adequate sample size? Operationalising "
        "data saturation for theory-based interview studies. *Psychology & Health*, 25(10), "
        "1229–1245. https://doi.org/10.1080/08870440903194015"),
    "guest2006": (
        "Guest, G., Bunce, A., & Johnson, L. (2006). How many interviews are enough? An "
        "experiment with data saturation and variability. *Field Methods*, 18(1), 59–82. "
        "https://doi.org/10.1177/1525822X05279903"),
    "guest2020": (
        "Guest, G., Namey, E., & Chen, M. (2020). A simple method to assess and report "
        "thematic saturation in qualitative research. *PLoS ONE*, 15(5), e0232076. "
        "https://doi.org/10.1371/journal.pone.0232076"),
    "hennink2017": (
        "Hennink, M. M., Kaiser, B. N., & Marconi, V. C. (2017). Code saturation versus "
        "meaning saturation: How many interviews are enough? *Qualitative Health Research*, "
        "27(4), 591–608. https://doi.org/10.1177/1049732316665344"),
    "lowe2018": (
        "Lowe, A., Norris, A. C., Farris, A. J., & Babbage, D. R. (2018). Quantifying "
        "thematic saturation in qualitative data analysis. *Field Methods*, 30(3), 191–207. "
        "https://doi.org/10.1177/1525822X17749386"),
}

# Okabe-Ito: distinguishable with colour-vision deficiency and in greyscale print.
_COLOURS = {
    "observed": "#000000", "band": "#56B4E9", "mean": "#0072B2", "bars": "#BBBBBB",
    "fit": "#D55E00", "chao2": "#009E73", "guest2020": "#CC79A7", "francis2010": "#E69F00",
}
_THEME_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
                  "#F0E442", "#000000")
_MARKERS = {"guest2020": "v", "francis2010": "s"}


def _codes(count: int) -> str:
    return f"{count} code" if count == 1 else f"{count} codes"


def _pct(value: float, digits: int = 0) -> str:
    return f"{value * 100:.{digits}f}%"


def _order_phrase(result: SaturationResult) -> str:
    basis = result.incidence.order
    if basis == "date":
        return "the order the interviews were done (by date)"
    if basis == "given":
        if result.incidence.source.startswith("project"):
            return "the order in which the documents were added to the project"
        return "the order given in the source"
    if basis == "sequence":
        return "a stated order"
    return f"the order stated in {basis.removeprefix('file ')}"


def _axis_label(result: SaturationResult) -> str:
    basis = result.incidence.order
    order = {"date": "in date order", "given": "in the order given"}.get(
        basis, "in the stated order")
    return f"Interviews, {order}"


def _spread(result: SaturationResult, name: str) -> str:
    if result.uncertainty is None:
        return ""
    rule = result.uncertainty.rules[name]
    q = rule.quantiles()
    text = (f"met in {_pct(rule.share_met, 1)} of {result.uncertainty.permutations:,} "
            "random orderings")
    if q is not None:
        text += f"; s median {q[1]:g} (95%: {q[0]:g}-{q[2]:g})"
    return text


# -- summary ----------------------------------------------------------------------------------
def summary_rows(result: SaturationResult) -> list[tuple[str, str]]:
    p = result.parameters
    rows = [
        ("Source", result.incidence.source or "-"),
        ("Interviews", f"{result.n_interviews} (order: {result.incidence.order})"),
        ("Codes", f"{result.n_codes}" + (f" (present in >= {p['min_interviews']} interviews)"
                                         if p["min_interviews"] > 1 else "")),
    ]
    for b in result.batches[:2]:
        rows.append((f"By interview {b.end}", f"{b.cumulative} codes ({b.percent}%)"))
    g = result.guest2020
    rows.append((f"Guest 2020 (b={p['base']}, r={p['run']}, "
                 f"t={format_percent(p['threshold'])})",
                 g.label if g.reached else g.describe()))
    if result.uncertainty is not None:
        rows.append(("  over orderings", _spread(result, "guest2020")))
    f = result.francis2010
    rows.append((f"Francis 2010 ({p['initial']}+{p['criterion']})",
                 f.label if f.reached else f.describe()))
    if result.uncertainty is not None:
        rows.append(("  over orderings", _spread(result, "francis2010")))
    c = result.chao2
    rows.append((f"Chao2 ({c.form})",
                 f"{c.estimate:.1f} codes ({_ci(c, '-')}; Q1={c.q1}, Q2={c.q2}); coverage "
                 f"{_pct(c.coverage, 1)}"
                 + (f"; Q1 = 0 by construction (codes in fewer than {p['min_interviews']} "
                    "interviews left out)" if p["min_interviews"] > 1 else "")
                 + ("; the interval lies above the estimate (SpadeR's, centred on "
                    "S_obs/(1-P))" if _interval_above(c) else "")))
    fit = result.best_fit
    if fit is None:
        reason = result.fits[0].reason if result.fits else "no fit"
        rows.append(("Accumulation fit", f"not fitted, because {reason}"))
    else:
        rows.append((f"Best fit ({fit.name})",
                     f"A={fit.total:.1f}, b={fit.share:.3f}, RMSE={fit.rmse:.2f}; "
                     + fit.describe()))
    if result.uncertainty is not None:
        rows.append(("Orderings", f"{result.uncertainty.permutations:,} (seed "
                     f"{result.uncertainty.seed})"))
    return rows


def html(result: SaturationResult) -> str:
    rows = "".join(
        f"<tr><th style='text-align:left'>{html_lib.escape(k)}</th>"
        f"<td style='text-align:left'>{html_lib.escape(v)}</td></tr>"
        for k, v in summary_rows(result)
    )
    notes = "".join(f"<li>{html_lib.escape(n)}</li>" for n in result.notes)
    notes = f"<ul>{notes}</ul>" if notes else ""
    return (f"<div><strong>Code saturation</strong> ({result.n_interviews} interviews, "
            f"{result.n_codes} codes)<table>{rows}</table>{notes}</div>")


# -- JSON -------------------------------------------------------------------------------------
def _clean(value: Any) -> Any:
    """JSON-safe: numpy to Python, NaN/inf to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_dict(result: SaturationResult) -> dict[str, Any]:
    from qualcode.analysis._accumulation import MODELS

    best = result.best_fit
    prevalence = result.prevalence()
    out = {
        "conception": "code saturation",
        "source": result.incidence.source,
        "parameters": result.parameters,
        "interviews": result.n_interviews,
        "codes": result.n_codes,
        "documents": list(result.documents),
        "dates": list(result.incidence.dates) if result.incidence.dates else None,
        "new_codes": result.new_codes,
        "cumulative": result.cumulative,
        "batches": [{"end": b.end, "new": b.new, "cumulative": b.cumulative,
                     "share": b.share, "percent": b.percent} for b in result.batches],
        "guest2020": result.guest2020.to_dict(),
        "francis2010": result.francis2010.to_dict(),
        "chao2": result.chao2.to_dict(),
        "fits": [f.to_dict() for f in result.fits],
        "best_fit": None if best is None else best.model,
        "models": {k: v[0] for k, v in MODELS.items()},
        "order_uncertainty": (None if result.uncertainty is None
                              else result.uncertainty.to_dict()),
        "prevalence": prevalence.to_dict(orient="records"),
        "themes": result.themes_frame().to_dict(orient="records"),
        "notes": list(result.notes),
        "references": _references(result),
    }
    return _clean(out)


# -- figures ----------------------------------------------------------------------------------
def _new_axes(ax: Any, size: tuple[float, float]):
    """(figure, axes, whether we own the figure)."""
    if ax is not None:
        return ax.figure, ax, False
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    return figure, figure.add_subplot(), True


def _legend(figure: Any, ax: Any, own: bool) -> None:
    # Below the axes on our own figure, so it never hides the curve or the bars.
    if own:
        figure.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2,
                      fontsize=7, frameon=False)
    else:
        ax.legend(fontsize=7, frameon=False, loc="lower right")


def _style(ax: Any, integer_y: bool = True) -> None:
    from matplotlib.ticker import MaxNLocator

    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if integer_y:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(labelsize=8)


def plot(result: SaturationResult, ax: Any = None):
    figure, ax, own = _new_axes(ax, (6.5, 5.0))
    n = np.arange(1, result.n_interviews + 1)
    top = float(result.cumulative[-1])
    ax.bar(n, result.new_codes, width=0.7, color=_COLOURS["bars"], zorder=1,
           label="New codes in the interview")
    u = result.uncertainty
    if u is not None:
        ax.fill_between(n, u.low, u.high, color=_COLOURS["band"], alpha=0.35, lw=0, zorder=2,
                        label=f"95% of {u.permutations:,} random orders")
        ax.plot(n, u.mean, ls="--", lw=1.2, color=_COLOURS["mean"], zorder=3,
                label="Mean of random orders")
        top = max(top, float(u.high.max()))
    fit = result.best_fit
    if fit is not None:
        fine = np.linspace(1, result.n_interviews, 200)
        ax.plot(fine, fit.predict(fine), lw=1.2, color=_COLOURS["fit"], zorder=4,
                label=f"Fit, {fit.name} (A = {fit.total:.1f})")
    ax.plot(n, result.cumulative, marker="o", ms=3.5, lw=1.6, color=_COLOURS["observed"],
            zorder=5, label="Observed order")
    c = result.chao2
    if c.estimate <= 1.6 * max(top, 1):
        ax.axhline(c.estimate, ls=":", lw=1.2, color=_COLOURS["chao2"], zorder=2,
                   label=f"Chao2 = {c.estimate:.1f} ({_ci(c, '-')})")
        top = max(top, c.estimate)
    for rule in result.rules:
        if rule.reached:
            y = result.cumulative[rule.point - 1]
            ax.plot([rule.point], [y], marker=_MARKERS[rule.name], ms=9, ls="none",
                    mfc=_COLOURS[rule.name], mec="black", mew=0.6, zorder=6,
                    label=f"{rule.citation}: {rule.label}")
            ax.annotate(rule.label, (rule.point, y), xytext=(0, -16 if rule.name ==
                        "guest2020" else 10), textcoords="offset points", ha="center",
                        fontsize=8, color="black")
        else:
            ax.plot([], [], ls="none", marker=_MARKERS[rule.name], mfc="white", mec="black",
                    label=f"{rule.citation}: not reached")
    ax.set_xlim(0.4, result.n_interviews + 0.6)
    ax.set_ylim(0, top * 1.08 + 0.5)
    ax.set_xlabel(_axis_label(result), fontsize=9)
    ax.set_ylabel("Distinct codes (cumulative)", fontsize=9)
    ax.set_title(f"Code saturation: {result.n_codes} codes in {result.n_interviews} "
                 "interviews", fontsize=10)
    _style(ax)
    _legend(figure, ax, own)
    return figure


def plot_themes(result: SaturationResult, ax: Any = None):
    figure, ax, own = _new_axes(ax, (6.5, 4.6))
    curves = result.theme_curves()
    n = np.arange(1, result.n_interviews + 1)
    if not curves:
        ax.text(0.5, 0.5, "No themes known for these codes", ha="center", va="center",
                transform=ax.transAxes)
    for k, (theme, curve) in enumerate(curves.items()):
        colour = _THEME_COLOURS[k % len(_THEME_COLOURS)]
        style = ("-", "--", ":", "-.")[k // len(_THEME_COLOURS) % 4]
        ax.plot(n, 100 * curve / curve[-1], ls=style, marker="o", ms=2.5, lw=1.3,
                color=colour, label=f"{theme} ({_codes(int(curve[-1]))})")
    ax.set_xlim(0.4, result.n_interviews + 0.6)
    ax.set_ylim(0, 105)
    ax.set_yticks([0, 25, 50, 75, 100])
    ax.set_xlabel(_axis_label(result), fontsize=9)
    ax.set_ylabel("Share of the theme's codes found (%)", fontsize=9)
    ax.set_title("Code saturation by theme", fontsize=10)
    _style(ax, integer_y=False)
    if curves:
        _legend(figure, ax, own)
    return figure


# -- methods.md -------------------------------------------------------------------------------
def _rule_sentence(result: SaturationResult, name: str) -> str:
    rule = getattr(result, name)
    if rule.reached:
        text = (f"was met at {rule.label}: interview {rule.point} was the last before a run "
                f"of {rule.run} meeting the criterion")
    else:
        text = f"was not met, because {rule.reason}"
    spread = _spread(result, name)
    return f"{text}{f' ({spread})' if spread else ''}"


def _log_normal(chao: Any) -> bool:
    return chao.ci_method.startswith("log-normal")


def _chao2_interval(chao: Any) -> str:
    """How the Chao2 interval was computed, as methods.md states it."""
    if _log_normal(chao):
        return ("log-normal confidence interval (Chao, 1987; variance formulas as in Colwell, "
                "2013)")
    # With no undetected codes estimated the log-normal interval is undefined (f0 = 0).
    return ("confidence interval computed as SpadeR does when no undetected codes are "
            "estimated (Chao et al., 2016; the log-normal interval of Chao, 1987, is "
            "undefined then),")


def _ci(chao: Any, dash: str) -> str:
    """"95% CI low-high", or that there is none."""
    if chao.ci_method == NO_INTERVAL:
        return "no confidence interval: its variance is negative"
    return f"{format_percent(chao.confidence)} CI {chao.ci_low:.1f}{dash}{chao.ci_high:.1f}"


def _interval_above(chao: Any) -> bool:
    """Whether the Chao2 interval, as reported (one decimal), lies above the estimate: the
    SpadeR interval for no unseen codes is centred on S_obs/(1 - P), above S_obs, and with
    many codes each in few interviews its lower end passes S_obs."""
    return chao.ci_method != NO_INTERVAL and round(chao.ci_low, 1) > round(chao.estimate, 1)


def _chao2_caveat(result: SaturationResult) -> str:
    if result.parameters["min_interviews"] > 1:
        # The filter removes the singletons Chao2 extrapolates from: not a finding.
        return (f" (codes present in fewer than {result.parameters['min_interviews']} "
                "interviews were left out, so no counted code can appear in exactly one "
                "interview and Chao2 cannot estimate codes not yet seen)")
    if result.chao2.q1 == 0:
        return " (with no code seen in only one interview, Chao2 predicts no unseen codes)"
    return ""


def _references(result: SaturationResult) -> list[str]:
    """The full references, leaving out the interval method that was not used."""
    unused = {"chao2016"} if _log_normal(result.chao2) else {"colwell2013"}
    return [text for key, text in REFERENCES.items() if key not in unused]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("qualcode")
    except PackageNotFoundError:
        return "(development version)"


def methods_markdown(result: SaturationResult) -> str:
    p = result.parameters
    c = result.chao2
    fit = result.best_fit
    u = result.uncertainty
    rare = (f"; codes present in fewer than {p['min_interviews']} interviews were not "
            "counted" if p["min_interviews"] > 1 else "")
    theme_filter = (f" Only codes of the theme(s) {', '.join(p['themes'])} were counted."
                    if p["themes"] else "")
    chao_form = ("classic form (Q2 > 0)" if c.form == "classic"
                 else "bias-corrected form, used because no code appeared in exactly two "
                      "interviews (Q2 = 0)")
    fitted = "observed curve" if p["fit_to"] == "observed" else \
        "mean curve over the random orderings"
    order_text = _order_phrase(result)
    methods = (
        "We assessed **code saturation**, the point at which further interviews stopped "
        "yielding new codes, not *meaning saturation*, the point at which the dimensions "
        "and nuances of each code are understood, which needs a researcher's judgement "
        "(Hennink, Kaiser & Marconi, 2017). "
        f"A code counted as present in an interview when {result.incidence.presence} "
        f"({result.n_codes} codes across {result.n_interviews} "
        f"interviews{rare}).{theme_filter} Interviews were taken in {order_text}. "
        "We report the number of new codes per interview and the cumulative number of "
        f"distinct codes, with the share found by the end of each batch of {p['batch']} "
        "interviews (Guest, Bunce & Johnson, 2006); the base, run and threshold approach of "
        f"Guest, Namey & Chen (2020) with a base of {p['base']} interviews, runs of "
        f"{p['run']} consecutive interviews sliding forward one interview at a time, and a "
        f"new-information threshold of {format_percent(p['threshold'])} of the codes found in "
        "the base, "
        "reported as s+r where s is the last interview before the first run at or below "
        "the threshold; the stopping rule of Francis et al. (2010) with an initial analysis "
        f"sample of {p['initial']} interviews and a stopping criterion of {p['criterion']} "
        "consecutive interviews without a new code; the Chao2 estimator of the number of "
        f"codes for incidence data (Chao & Colwell, 2017) in its {chao_form}, with a "
        f"{format_percent(c.confidence)} {_chao2_interval(c)} and coverage as observed over "
        "estimated codes; and three "
        "accumulation models (independent samples, information weighted, sample-size "
        f"weighted; Lowe et al., 2018) fitted by non-linear least squares to the {fitted}, "
        "taking the model with the smallest root-mean-square error to compute the "
        "saturation index (100 × observed codes / the whole number of codes the model "
        f"predicts) and the number of interviews needed to reach {format_percent(p['target'])}."
    )
    if u is not None:
        methods += (
            " Because these results depend on the order in which interviews happened to be "
            f"analysed, we repeated the curve and both stopping rules over {u.permutations:,} "
            f"random orderings (seed {u.seed}) and report the mean curve, its 2.5th-97.5th "
            "percentile band and the share of orderings in which each rule was met.")
    methods += f" Analyses used qualcode {_version()}."
    first = result.batches[0]
    results_text = [
        f"The {result.n_interviews} interviews yielded {result.n_codes} distinct codes; "
        f"{first.cumulative} ({first.percent}%) were present in the first {first.end}"
        + (f" and {result.batches[1].cumulative} ({result.batches[1].percent}%) by interview "
           f"{result.batches[1].end}" if len(result.batches) > 1 else "")
        + " (percentages of all codes, rounded half up to whole percent).",
        f"The Guest et al. (2020) criterion {_rule_sentence(result, 'guest2020')}.",
        f"The Francis et al. (2010) criterion {_rule_sentence(result, 'francis2010')}.",
        f"Chao2 estimated {c.estimate:.1f} codes ({_ci(c, ' to ')}; {c.q1} codes in "
        f"exactly one interview, {c.q2} in exactly two), "
        f"so the observed codes cover {_pct(c.coverage, 1)} of the estimate"
        + _chao2_caveat(result) + ".",
    ]
    if c.ci_method == NO_INTERVAL:
        results_text.append(
            "No confidence interval is given for Chao2: with no unseen codes estimated, "
            "the variance SpadeR computes for that case is negative for these data (many "
            "codes against few interviews), and its square root, which the interval needs, "
            "does not exist.")
    if _interval_above(c):
        results_text.append(
            "The interval lies wholly above the estimate. With no unseen codes estimated, "
            "it is the interval Chao et al.'s SpadeR gives for that case, centred on "
            "S_obs/(1 - P), where P is the mean of e^-k over the codes (k the number of "
            "interviews a code is in), not on the estimate itself; it says how many codes "
            "there may be, and the estimate lies below it because it counts only the codes "
            "seen.")
    if fit is None:
        results_text.append("No accumulation model could be fitted, because "
                            f"{result.fits[0].reason}.")
    else:
        others = ", ".join(f"{f.name} {f.rmse:.2f}" for f in result.fits
                           if f is not fit and not math.isnan(f.rmse))
        tail = (f"the fitted curve reaches {format_percent(fit.target)} at interview "
                f"{fit.needed}" if fit.needed is not None
                else f"the target is not reached, because {fit.reason}")
        results_text.append(
            f"The best-fitting accumulation model was the {fit.name} model (A = "
            f"{fit.total:.1f} codes, b = {fit.share:.3f}, RMSE = {fit.rmse:.2f} codes"
            + (f"; other models: {others}" if others else "")
            + f"), giving a saturation index of {fit.index:.1f}%; {tail}.")
    caveat = (
        "These numbers describe code saturation only: whether new *codes* kept appearing. "
        "Hennink et al. (2017) reached code saturation at 9 of 25 interviews but needed 16 "
        "to 24 for meaning saturation; the per-code prevalence table (`saturation_codes.csv`"
        ": how many interviews each code appears in and where it first appears) supports "
        "that judgement but cannot make it. Braun and Clarke (2019) reject saturation as a "
        "criterion for reflexive thematic analysis, where themes are generated by the "
        "researcher rather than found in the data; in such a study, report these figures as "
        "a description of coding, not as the justification of the sample size."
    )
    said = theme_note(p["themes"]) if p["themes"] else None  # the Methods say it already
    notes = "".join(f"- {n.replace(ORDER_ADVICE, '')}\n" for n in result.notes if n != said)
    references = "".join(f"- {r}\n" for r in _references(result))
    return (
        "# Code saturation: methods and results\n\n"
        f"## Methods\n\n{methods}\n\n"
        f"## Results\n\n{' '.join(results_text)}\n\n"
        f"## What this is not\n\n{caveat}\n\n"
        + (f"## Notes on the data\n\n{notes}\n" if notes else "")
        + f"## References\n\n{references}"
    )


# -- files ------------------------------------------------------------------------------------
def write_report(result: SaturationResult, out_dir: Path, *, overwrite: bool) -> dict[str, Path]:
    from qualcode.export._common import report_files

    has_themes = bool(result.theme_curves())
    names = ["saturation.png", "saturation.svg", "saturation_curve.csv",
             "saturation_codes.csv", "saturation_rules.csv", "saturation.json", "methods.md"]
    if has_themes:
        names += ["saturation_themes.csv", "saturation_themes.png", "saturation_themes.svg"]
    paths = report_files(out_dir, names, overwrite=overwrite)
    out_dir.mkdir(parents=True, exist_ok=True)
    figure = plot(result)
    # No timestamps in the files, so the same input gives the same bytes.
    figure.savefig(paths["saturation.png"], dpi=300, format="png",
                   metadata={"Software": None})
    figure.savefig(paths["saturation.svg"], format="svg", metadata={"Date": None})
    result.to_frame().to_csv(paths["saturation_curve.csv"], index=False)
    result.prevalence().to_csv(paths["saturation_codes.csv"], index=False)
    result.rules_frame().to_csv(paths["saturation_rules.csv"], index=False)
    if has_themes:
        result.themes_frame().to_csv(paths["saturation_themes.csv"], index=False)
        themes_figure = plot_themes(result)
        themes_figure.savefig(paths["saturation_themes.png"], dpi=300, format="png",
                              metadata={"Software": None})
        themes_figure.savefig(paths["saturation_themes.svg"], format="svg",
                              metadata={"Date": None})
    paths["saturation.json"].write_text(
        json.dumps(to_dict(result), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths["methods.md"].write_text(methods_markdown(result), encoding="utf-8")
    return paths
