"""Figures for a paper, drawn on :class:`matplotlib.figure.Figure` (never pyplot, so no GUI
backend is needed and nothing global changes).

>>> from qualcode.export.figures import cooccurrence_heatmap, save_figure   # doctest: +SKIP
>>> figure = cooccurrence_heatmap(qc.cooccurrence(project))                 # doctest: +SKIP
>>> save_figure(figure, "cooccurrence.png")                                 # doctest: +SKIP
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

from qualcode.errors import ParameterError

__all__ = ["COLORMAP", "cooccurrence_heatmap", "save_figure"]

#: Sequential and designed for colour-vision deficiency (Nuñez et al. 2018); reversed so
#: that few is light and many is dark, which also survives greyscale printing.
COLORMAP = "cividis_r"


def cooccurrence_heatmap(
    matrix: Any,
    *,
    title: str | None = None,
    annotate: bool | None = None,
    max_label: int = 38,
    ax: Any = None,
):  # -> matplotlib.figure.Figure
    """A heatmap of a :func:`~qualcode.export.tables.cooccurrence` matrix.

    Rows and columns are labelled with the codes' names and their own count, e.g.
    "Doorstep wait (23)"; the diagonal is left blank (it would swamp the colour scale)
    and pale grey; zero cells are white; thin lines separate themes. Cells carry their
    numbers when ``annotate`` is True (default: when there are at most 40 codes). The
    figure grows with the number of codes, so 30+ stay readable. Draws on ``ax`` when
    given, else on a new Figure, which it returns.
    """
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    labels = list(matrix.index)
    n = len(labels)
    if n == 0:
        raise ParameterError("There is nothing to draw: the co-occurrence table is empty.")
    values = matrix.to_numpy(dtype=float)
    names = matrix.attrs.get("names", {})
    themes = matrix.attrs.get("themes", {})
    unit = matrix.attrs.get("unit", "segment")
    level = matrix.attrs.get("level", "code")
    diagonal = np.diag(values).astype(int)
    tick_labels = [f"{_short(names.get(lab, lab), max_label)} ({d})"
                   for lab, d in zip(labels, diagonal, strict=True)]

    if ax is None:
        side = min(max(4.5, 0.26 * n + 3.2), 20.0)
        figure = Figure(figsize=(side + 1.2, side), layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = ax.figure
    shown = values.copy()
    np.fill_diagonal(shown, np.nan)
    shown[shown == 0] = np.nan
    cmap = colormaps[COLORMAP].with_extremes(bad="white")
    top = np.nanmax(shown) if np.isfinite(shown).any() else 1.0
    # pcolormesh, not imshow: cells stay crisp squares at any dpi and are vectors in SVG.
    edges = np.arange(n + 1) - 0.5
    image = ax.pcolormesh(edges, edges, np.ma.masked_invalid(shown), cmap=cmap,
                          vmin=0.5 if top >= 1 else 0, vmax=max(top, 1.0),
                          edgecolors="white", linewidth=0.6)
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(n - 0.5, -0.5)  # first code at the top, as in the table
    ax.set_aspect("equal")
    # the diagonal: pale grey squares, so it reads as "not a pair" rather than "zero"
    for k in range(n):
        ax.add_patch(_square(k, k, "#d9d9d9"))

    fontsize = 8 if n <= 20 else 7 if n <= 40 else 5.5
    if n <= 8:
        ax.set_xticks(range(n), tick_labels, rotation=35, ha="right",
                      rotation_mode="anchor", fontsize=fontsize)
    else:
        ax.set_xticks(range(n), tick_labels, rotation=90, fontsize=fontsize)
    ax.set_yticks(range(n), tick_labels, fontsize=fontsize)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)

    # theme boundaries
    if themes and level == "code":
        groups = [themes.get(lab) for lab in labels]
        for k in range(1, n):
            if groups[k] != groups[k - 1]:
                ax.axhline(k - 0.5, color="#333333", linewidth=0.9)
                ax.axvline(k - 0.5, color="#333333", linewidth=0.9)

    if annotate is None:
        annotate = n <= 40
    if annotate:
        for i in range(n):
            for j in range(n):
                if i != j and values[i, j]:
                    level_of = (values[i, j] - 0.5) / max(top - 0.5, 1e-9)
                    ax.text(j, i, f"{int(values[i, j])}", ha="center", va="center",
                            fontsize=fontsize - 1,
                            color="white" if level_of > 0.55 else "black")

    bar = figure.colorbar(image, ax=ax, shrink=0.6, pad=0.02)
    together = {"segment": "segments coded with both", "overlap": "overlapping codings",
                "document": "interviews with both"}.get(unit, unit)
    bar.set_label(f"Number of {together}", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    bar.ax.yaxis.get_major_locator().set_params(integer=True)
    if title is None:
        title = (f"Co-occurrence of {level}s: {together}\n"
                 f"(in brackets: each {level}'s own {unit}s)")
    ax.set_title(title, fontsize=9)
    return figure


def _square(i: int, j: int, colour: str):
    from matplotlib.patches import Rectangle

    return Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=colour, edgecolor="white",
                     linewidth=0.6)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def save_figure(figure: Any, path: str | PathLike[str], format: str | None = None,
                *, dpi: int = 300) -> Path:
    """Save a Figure (png, svg or pdf, from ``format`` or the suffix) with no timestamps in
    it, so the same data gives the same file. Returns the path."""
    import matplotlib

    path = Path(path)
    kind = (format or path.suffix.lstrip(".")).lower()
    if kind not in ("png", "svg", "pdf"):
        raise ParameterError(f"Figures are saved as png, svg or pdf. Got {kind!r} instead.")
    metadata = {"png": {"Software": None}, "svg": {"Date": None},
                "pdf": {"CreationDate": None, "ModDate": None}}[kind]
    with matplotlib.rc_context({"svg.hashsalt": "qualcode"}):
        # "tight" as well as constrained layout: long rotated labels are never cut off.
        figure.savefig(path, format=kind, dpi=dpi, metadata=metadata, bbox_inches="tight",
                       pad_inches=0.1)
    return path
