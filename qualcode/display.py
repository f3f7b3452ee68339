"""Displays for notebooks: documents with their codings, codebooks, review tables.

Every function returns a string (HTML or plain text) built only from its arguments, so the
same input always gives the same output, and every piece of user text (transcripts hold
``<``, ``&`` and quotes) goes through :func:`html.escape`. Colours come from the codebook
and are checked (``#rgb``/``#rrggbb`` only) before they reach a style attribute.

>>> from qualcode.display import show, codebook_html
>>> show(project, "AP01_sarah")  # a DocumentView, which Jupyter renders  # doctest: +SKIP
>>> show(project, "AP01_sarah", coder="rules", status="suggested")        # doctest: +SKIP
>>> codebook_html(project.codebook)  # the codebook as a tree             # doctest: +SKIP

How overlapping codings are drawn
---------------------------------
The text is cut into *runs* at every place a coding starts or ends, so each run carries
one fixed set of codings. A coded run is a ``<mark class="qc-run">`` with:

- **one underline per coding**, in the code's colour. Each coding gets a *lane* (0, 1,
  2, ...; the lowest lane free where it starts, so overlapping codings never share one)
  and keeps it along its whole length: lane 0 is the lowest line, lane 1 sits 4 px above
  it, and so on. Two codings on the same words show two stacked lines. Each turn's line
  height grows by 4 px per lane used inside it, so lines never run into the next line
  and turns without overlaps keep normal spacing.
  **Solid** line: accepted; **dashed**: suggested (a machine's, not yet reviewed);
  **dotted**: rejected (shown only when asked for).
- **a pale background tint** of the colour of the run's lowest-lane coding that is not
  rejected: lighter for one code, stronger where two or more codes overlap.
- **a tag** (the code's name, or id) where each coding starts: filled for accepted,
  outlined for suggested, struck through for rejected. Tags are CSS generated content
  (``::before``), so copying the page's text, or reading its DOM text, gives the
  transcript's words exactly.
- a tooltip listing each coding: code, status, coder, method, confidence and reason.

Speaker labels (the text between turns, e.g. ``Sarah, Ash Grove:``) are set in bold, and
interviewer turns in grey, so participants' words stand out.

Colours: a code's own ``color``, else the nearest ancestor's (the theme's), else one from
:data:`PALETTE` chosen by the theme's position in the codebook. ``colors="distinct"``
gives each code its own palette colour instead (handy when a codebook colours every code
of a theme alike), and a mapping ``{code id: "#rrggbb"}`` overrides single codes.
"""

from __future__ import annotations

import bisect
import html
import itertools
import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualcode._text import counted
from qualcode.errors import ParameterError, parameter_error
from qualcode.model import CODING_STATUSES, Code, Codebook, Coding, Document, Segment

if TYPE_CHECKING:
    from qualcode.project import Project

__all__ = [
    "PALETTE",
    "STYLE",
    "DocumentView",
    "ProjectView",
    "book_size",
    "code_colors",
    "codebook_html",
    "codebook_text",
    "codings_html",
    "codings_text",
    "document_html",
    "document_text",
    "legend_html",
    "page",
    "passage_html",
    "project_html",
    "project_text",
    "review_card_html",
    "show",
    "write_document_html",
]

#: Fallback colours (Okabe & Ito's colour-blind-safe set, then Dark2), used in order.
PALETTE: tuple[str, ...] = (
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9",
    "#7570b3", "#66a61e", "#a6761d", "#e7298a", "#1b9e77", "#666666",
)
LANE_STEP = 4  # px between stacked underlines
LINE_WIDTH = 3  # px of one underline
TINT_ONE = 0.22  # share of the code colour in a run's background (one code)
TINT_MANY = 0.40  # ... where two or more codes overlap
_LINE_HEIGHT = "1.55em"
_CLIP_REASON = 240

#: The stylesheet every display carries (scoped by ``qc-`` classes; identical each time).
STYLE = """<style>
.qc{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:14px;
color:#1a1a1a;background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:10px 14px;
max-width:960px;box-sizing:border-box}
.qc *{box-sizing:border-box}
.qc-head{font-size:15px;margin:0 0 6px 0}
.qc-meta{color:#5f6368;font-size:12.5px}
.qc-text{white-space:pre-wrap;overflow-wrap:anywhere;font-family:Georgia,"Times New Roman",
serif;font-size:15px;line-height:1.55em;margin-top:8px}
.qc-label{font-weight:600;font-family:system-ui,sans-serif;font-size:13px}
.qc-interviewer{color:#5f6368}
mark.qc-run{color:inherit;border-radius:2px;background-repeat:no-repeat}
.qc-tag::before{content:attr(data-tag);font:600 10.5px/1.2 system-ui,sans-serif;
padding:0 4px;margin:0 2px 0 1px;border-radius:3px;vertical-align:super;white-space:nowrap}
.qc-tag.qc-accepted::before{background:var(--qc-c);color:var(--qc-fg)}
.qc-tag.qc-suggested::before{border:1px dashed var(--qc-c);color:var(--qc-c);background:#fff}
.qc-tag.qc-rejected::before{border:1px dotted #888;color:#888;text-decoration:line-through}
.qc-legend{display:flex;flex-wrap:wrap;gap:4px 14px;margin:6px 0;font-size:12.5px}
.qc-legend-theme{font-weight:600;width:100%;margin-top:4px}
.qc-key{display:inline-flex;align-items:center;gap:5px}
.qc-swatch{display:inline-block;width:12px;height:12px;border-radius:2px;
vertical-align:middle;margin-right:4px}
.qc-line{display:inline-block;width:22px;height:0;border-bottom:3px #333;vertical-align:middle}
.qc-table{border-collapse:collapse;width:100%;font-size:13px;table-layout:auto}
.qc-table th{text-align:start;background:#f6f8fa;border-bottom:2px solid #d0d7de;
padding:4px 6px;position:sticky;top:0}
.qc-table td{text-align:start;vertical-align:top;border-bottom:1px solid #eaeef2;
padding:4px 6px;overflow-wrap:break-word}
.qc-table td.qc-passage{font-family:Georgia,serif;font-size:14px;min-width:260px;
line-height:1.5em}
.qc-table td.qc-reason{min-width:110px;max-width:200px;font-size:12.5px}
.qc-table .qc-chip{white-space:normal}
.qc-table td.qc-document,.qc-table td.qc-coder{white-space:nowrap}
.qc-context{color:#5f6368}
.qc-chip{display:inline-block;border-radius:3px;padding:0 5px;font-size:12px;font-weight:600;
white-space:nowrap}
.qc-bar{display:inline-block;width:60px;height:8px;background:#eaeef2;border-radius:4px;
vertical-align:middle;margin-right:4px;overflow:hidden}
.qc-bar>span{display:block;height:100%}
.qc-status{font-size:12px;border-radius:10px;padding:1px 7px;white-space:nowrap}
.qc-status-suggested{background:#fff8c5}
.qc-status-accepted{background:#dafbe1}
.qc-status-rejected{background:#ffebe9}
.qc-tree,.qc-tree ul{list-style:none;margin:0;padding-left:18px}
.qc-tree{padding-left:0}
.qc-tree li{margin:4px 0}
.qc-def{color:#333;margin:1px 0 0;margin-inline-start:18px}
.qc-criteria{margin:2px 0 4px;margin-inline-start:18px;font-size:12.5px;color:#444}
.qc-criteria dt{font-weight:600;margin-top:2px}
.qc-criteria dd{margin:0;margin-inline-start:12px}
.qc-id{font-family:ui-monospace,monospace;font-size:11.5px;color:#5f6368}
.qc-more{color:#5f6368;font-style:italic}
.qc-card{border-inline-start:4px solid var(--qc-c,#888);padding:6px 10px;margin:6px 0;
background:#fafbfc}
</style>"""


def _n(count: int, noun: str) -> str:
    """``"1 coding"``, ``"2 codings"``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _e(value: object) -> str:
    """Escaped text for HTML content and (double-quoted) attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


# -- writing direction ---------------------------------------------------------------------------
# Displays are left to right (their labels are English). User text that reads right to left
# (Arabic, Hebrew, Persian, Urdu) carries dir="rtl" when it fills an element, or sits in a
# <bdi> inside one of our sentences; the direction comes from the whole text, not only its
# first letter as dir="auto" would (see qualcode.export._common.text_direction).
def _dir(text: str, within: str = "ltr") -> str:
    from qualcode.export._common import dir_attribute

    return dir_attribute(text, within)


def _bdi(text: str) -> str:
    """``text`` escaped, isolated in a ``<bdi>`` when it reads right to left."""
    from qualcode.export._common import isolated

    return isolated(_e(text), text)


def _direction(text: str) -> str:
    from qualcode.export._common import text_direction

    return "rtl" if text_direction(text) == "rtl" else "ltr"


# -- colours -------------------------------------------------------------------------------------
def _safe_colour(value: object) -> str | None:
    from qualcode.export._common import safe_colour

    return safe_colour(value) if isinstance(value, str) else None


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _mix(colour: str, share: float, base: str = "#ffffff") -> str:
    """``share`` of ``colour`` over ``base`` as an opaque ``#rrggbb`` (no alpha: the tint
    looks the same on any notebook theme)."""
    mixed = [round(c * share + b * (1 - share)) for c, b in zip(_rgb(colour), _rgb(base),
                                                                  strict=True)]
    return "#" + "".join(f"{v:02x}" for v in mixed)


def _foreground(colour: str) -> str:
    """Black or white text, whichever reads better on ``colour`` (WCAG luminance)."""
    def channel(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in _rgb(colour))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#000000" if luminance > 0.179 else "#ffffff"


def code_colors(
    codebook: Codebook | None,
    code_ids: Iterable[str] = (),
    colors: str | Mapping[str, str] = "codebook",
) -> dict[str, str]:
    """A ``#rrggbb`` colour for each code of ``codebook`` and each id in ``code_ids``.

    ``colors``: ``"codebook"`` (a code's colour, else its ancestors', else a palette
    colour per theme), ``"distinct"`` (a palette colour per code, in codebook order), or a
    mapping ``{code id: colour}`` laid over the codebook colours.

    >>> code_colors(None, ["b", "a"], "distinct")
    {'b': '#0072b2', 'a': '#d55e00'}
    """
    book_ids = [c.id for c in codebook] if codebook is not None else []
    ids = list(dict.fromkeys([*book_ids, *code_ids]))
    overrides: dict[str, str] = {}
    if isinstance(colors, Mapping):
        for code_id, value in colors.items():
            safe = _safe_colour(value)
            if safe is None:
                raise parameter_error(f"colors['{code_id}']", "code_colors()",
                                      "a colour written #rgb or #rrggbb", value)
            overrides[str(code_id)] = safe
        mode = "codebook"
    elif colors in ("codebook", "distinct"):
        mode = colors
    else:
        raise parameter_error("colors", "code_colors()",
                              "'codebook', 'distinct' or a mapping {code: '#rrggbb'}", colors)
    out: dict[str, str] = {}
    if mode == "distinct":
        for i, code_id in enumerate(ids):
            out[code_id] = PALETTE[i % len(PALETTE)]
    elif codebook is not None or ids:
        themes = [c.id for c in codebook.themes] if codebook is not None else []
        unknown = [c for c in ids if c not in book_ids]
        for code_id in ids:
            if codebook is not None and code_id in book_ids:
                chain = (code_id, *codebook.ancestors(code_id))
                own = [_safe_colour(codebook.get(c).color) for c in chain]
                out[code_id] = next((c for c in own if c), None) or PALETTE[
                    themes.index(chain[-1]) % len(PALETTE)]
            else:
                out[code_id] = PALETTE[(len(themes) + unknown.index(code_id)) % len(PALETTE)]
    out.update(overrides)
    return out


def _name_of(codebook: Codebook | None, code_id: str) -> str:
    if codebook is not None and code_id in codebook:
        return codebook.get(code_id).name
    return code_id


def _code_order(codebook: Codebook | None, code_ids: Iterable[str]) -> list[str]:
    """Codebook order, then codes the codebook lacks, sorted."""
    wanted = set(code_ids)
    known = [c.id for c in codebook if c.id in wanted] if codebook is not None else []
    return known + sorted(wanted - set(known))


# -- cutting a text into runs --------------------------------------------------------------------
@dataclass(frozen=True)
class _Run:
    start: int
    end: int
    segment: Segment | None
    codings: tuple[int, ...]  # indices into the codings list, lane order
    opening: tuple[int, ...]  # codings that start here


def _lanes(codings: Sequence[Coding]) -> list[int]:
    """Lane of each coding: the lowest lane free at its start (interval partitioning)."""
    order = sorted(range(len(codings)), key=lambda i: (
        codings[i].start, -codings[i].end, codings[i].code_id, codings[i].coder,
        codings[i].id if codings[i].id is not None else -1))
    lane_end: list[int] = []
    lanes = [0] * len(codings)
    for i in order:
        coding = codings[i]
        for lane, end in enumerate(lane_end):
            if end <= coding.start:
                lane_end[lane] = coding.end
                lanes[i] = lane
                break
        else:
            lanes[i] = len(lane_end)
            lane_end.append(coding.end)
    return lanes


def _runs(
    codings: Sequence[Coding], lanes: Sequence[int], segments: Sequence[Segment],
    low: int, high: int,
) -> list[_Run]:
    cuts = {low, high}
    for item in (*codings, *segments):
        for offset in (item.start, item.end):
            if low < offset < high:
                cuts.add(offset)
    bounds = sorted(cuts)
    ordered_segments = sorted(segments, key=lambda s: (s.start, s.end))
    by_start = sorted(range(len(codings)), key=lambda i: codings[i].start)
    runs = []
    seg_i = next_i = 0
    active: list[int] = []
    for a, b in itertools.pairwise(bounds):
        # sweep: codings starting by ``a`` join, those ending by ``a`` leave
        while next_i < len(by_start) and codings[by_start[next_i]].start <= a:
            active.append(by_start[next_i])
            next_i += 1
        active = [i for i in active if codings[i].end > a]
        while seg_i < len(ordered_segments) and ordered_segments[seg_i].end <= a:
            seg_i += 1
        segment = None
        if seg_i < len(ordered_segments) and ordered_segments[seg_i].start <= a:
            segment = ordered_segments[seg_i]
        covering = tuple(sorted(active, key=lambda i: (lanes[i], i)))
        opening = tuple(i for i in covering if codings[i].start == a)
        runs.append(_Run(a, b, segment, covering, opening))
    return runs


def _line_image(colour: str, status: str) -> str:
    if status == "accepted":
        return f"linear-gradient({colour},{colour})"
    if status == "suggested":
        return f"repeating-linear-gradient(90deg,{colour} 0 7px,transparent 7px 10px)"
    return f"repeating-linear-gradient(90deg,{colour} 0 2px,transparent 2px 5px)"


def _tooltip(coding: Coding, codebook: Codebook | None) -> str:
    name = _name_of(codebook, coding.code_id)
    label = name if name == coding.code_id else f"{name} ({coding.code_id})"
    parts = [f"{label}: {coding.status} by {coding.coder}"]
    if coding.method and coding.method != coding.coder:
        parts.append(coding.method)
    if coding.confidence is not None:
        parts.append(f"confidence {coding.confidence:.2f}")
    line = ", ".join(parts)
    if coding.reason:
        reason = coding.reason if len(coding.reason) <= _CLIP_REASON else (
            coding.reason[: _CLIP_REASON - 1] + "…")
        line += f" ({reason})"
    if coding.id is not None:
        line += f" [coding {coding.id}]"
    return line


def _mark(run: _Run, codings: Sequence[Coding], lanes: Sequence[int], colors: Mapping[str, str],
          codebook: Codebook | None, pad: int, inner: str) -> str:
    items = [codings[i] for i in run.codings]
    images = [_line_image(colors[c.code_id], c.status) for c in items]
    positions = [f"0 calc(100% - {lanes[i] * LANE_STEP}px)" for i in run.codings]
    sizes = [f"100% {LINE_WIDTH}px"] * len(items)
    shown = [c for c in items if c.status != "rejected"]
    style = [f"padding-bottom:{pad}px"]
    if shown:
        share = TINT_ONE if len({c.code_id for c in shown}) == 1 else TINT_MANY
        style.append(f"background-color:{_mix(colors[shown[0].code_id], share)}")
    else:
        style.append("background-color:transparent")
    style += [f"background-image:{','.join(images)}",
              f"background-position:{','.join(positions)}",
              f"background-size:{','.join(sizes)}"]
    codes = " ".join(sorted({c.code_id for c in items}))
    ids = " ".join(str(c.id) for c in items if c.id is not None)
    statuses = " ".join(sorted({c.status for c in items}))
    title = "\n".join(_tooltip(c, codebook) for c in items)
    ids_attr = f' data-coding-ids="{_e(ids)}"' if ids else ""
    return (f'<mark class="qc-run" data-codes="{_e(codes)}" data-status="{_e(statuses)}"'
            f'{ids_attr} title="{_e(title)}" style="{";".join(style)}">{inner}</mark>')


def _tag(coding: Coding, colors: Mapping[str, str], codebook: Codebook | None,
         tags: str) -> str:
    colour = colors[coding.code_id]
    label = coding.code_id if tags == "id" else _name_of(codebook, coding.code_id)
    return (f'<span class="qc-tag qc-{_e(coding.status)}" data-tag="{_e(label)}" '
            f'style="--qc-c:{colour};--qc-fg:{_foreground(colour)}"></span>')


def _render_text(
    text: str, codings: Sequence[Coding], segments: Sequence[Segment],
    colors: Mapping[str, str], codebook: Codebook | None, *, low: int = 0,
    high: int | None = None, tags: str | None = "name",
) -> str:
    """The ``qc-text`` block: ``text[low:high]`` with codings drawn.

    Each turn (and the label text between turns) is one ``<span>`` whose line height
    grows by one lane step per lane used inside it, so stacked underlines never touch
    the next line while turns without overlaps keep the normal spacing.
    """
    high = len(text) if high is None else high
    direction = _direction(text[low:high])
    codings = [c for c in codings if c.start < high and c.end > low and c.start < c.end]
    lanes = _lanes(codings)
    groups: list[tuple[Segment | None, list[_Run]]] = []
    for run in _runs(codings, lanes, segments, low, high):
        if groups and groups[-1][0] is run.segment:
            groups[-1][1].append(run)
        else:
            groups.append((run.segment, [run]))
    out: list[str] = []
    for segment, runs in groups:
        used = max((lanes[i] + 1 for run in runs for i in run.codings), default=0)
        style = (f' style="line-height:calc({_LINE_HEIGHT} + {used * LANE_STEP}px)"'
                 if used else "")
        if segment is None:
            css = "qc-label" if segments else "qc-plain"
            out.append(f'<span class="{css}"{style}>')
        else:
            role = f" qc-{segment.role}" if segment.role else ""
            turn_dir = _dir(text[max(segment.start, low):min(segment.end, high)], direction)
            out.append(f'<span class="qc-turn{role}" data-index="{segment.index}" '
                       f'data-speaker="{_e(segment.speaker or "")}"{style}{turn_dir}>')
        pad = used * LANE_STEP + 1
        for run in runs:
            if tags:
                out.extend(_tag(codings[i], colors, codebook, tags) for i in run.opening)
            piece = _e(text[run.start : run.end])
            if run.codings:
                piece = _mark(run, codings, lanes, colors, codebook, pad, piece)
            out.append(piece)
        out.append("</span>")
    block_dir = f' dir="{direction}"' if direction == "rtl" else ""
    return f'<div class="qc-text"{block_dir}>{"".join(out)}</div>'


# -- documents -----------------------------------------------------------------------------------
def _check_statuses(status: str | Sequence[str] | None, where: str) -> tuple[str, ...]:
    if status is None:
        return CODING_STATUSES
    chosen = (status,) if isinstance(status, str) else tuple(status)
    bad = [s for s in chosen if s not in CODING_STATUSES]
    if bad:
        raise parameter_error("status", where, f"one or more of {', '.join(CODING_STATUSES)}",
                              bad[0])
    return chosen


def legend_html(
    code_ids: Iterable[str],
    colors: Mapping[str, str],
    codebook: Codebook | None = None,
    *,
    counts: Mapping[str, int] | None = None,
    statuses: Iterable[str] = (),
) -> str:
    """A legend: one swatch per code (grouped under its theme, codebook order), with its
    count when ``counts`` is given, then the line style of each status in ``statuses``."""
    order = _code_order(codebook, code_ids)
    out = ['<div class="qc-legend">']
    theme_of = {}
    for code_id in order:
        theme_of[code_id] = (codebook.theme_of(code_id)
                             if codebook is not None and code_id in codebook else None)
    grouped = len({t for t in theme_of.values()}) > 1 or any(
        t is not None and t != c for c, t in theme_of.items())
    current: object = object()
    for code_id in order:
        theme = theme_of[code_id]
        if grouped and theme != current:
            label = _name_of(codebook, theme) if theme is not None else "Not in the codebook"
            out.append(f'<div class="qc-legend-theme"{_dir(label)}>{_e(label)}</div>')
            current = theme
        colour = colors[code_id]
        count = f" ({counts[code_id]})" if counts is not None and code_id in counts else ""
        out.append(f'<span class="qc-key" data-code="{_e(code_id)}">'
                   f'<span class="qc-swatch" style="background:{colour}"></span>'
                   f'{_bdi(_name_of(codebook, code_id))}{_e(count)}</span>')
    styles = {"accepted": "solid", "suggested": "dashed", "rejected": "dotted"}
    present = [s for s in CODING_STATUSES if s in set(statuses)]
    if present:
        out.append('<div class="qc-legend-theme">Lines</div>')
        for status in present:
            out.append(f'<span class="qc-key"><span class="qc-line" '
                       f'style="border-bottom-style:{styles[status]}"></span>{status}</span>')
    out.append("</div>")
    return "".join(out)


def _attributes_line(document: Document) -> str:
    return ", ".join(f"{k}: {v}" for k, v in document.attributes.items())


def _attributes_html(document: Document) -> str:
    return ", ".join(f"{_bdi(str(k))}: {_bdi(str(v))}" for k, v in document.attributes.items())


def document_html(
    document: Document,
    codings: Iterable[Coding] = (),
    *,
    segments: Sequence[Segment] = (),
    codebook: Codebook | None = None,
    colors: str | Mapping[str, str] = "codebook",
    tags: str | None = "name",
    legend: bool = True,
    style: bool = True,
) -> str:
    """A document's text with its codings highlighted (see the module docstring for how).

    ``codings`` of other documents are ignored; ``segments`` (speaker turns) style speaker
    labels and interviewer turns; ``codebook`` gives names, themes and colours; ``tags``
    is ``"name"``, ``"id"`` or None (no tags). Returns an HTML fragment (with its
    stylesheet unless ``style=False``).
    """
    if tags not in ("name", "id", None):
        raise parameter_error("tags", "document_html()", "'name', 'id' or None", tags)
    mine = [c for c in codings if c.document_id == document.id]
    bad = [c for c in mine if not 0 <= c.start <= c.end <= len(document.text)]
    if bad:
        raise ParameterError(
            f"Coding {bad[0].start}-{bad[0].end} ({bad[0].code_id}) lies outside document "
            f"'{document.id}' (0-{len(document.text)}); is it from another version of the text?"
        )
    turns = [s for s in segments if s.document_id == document.id]
    palette = code_colors(codebook, sorted({c.code_id for c in mine}), colors)
    body = _render_text(document.text, mine, turns, palette, codebook, tags=tags)
    counts = Counter(c.code_id for c in mine)
    meta = [f"{len(document.text.split()):,} words"]
    if turns:
        meta.append(f"{len(turns)} {turns[0].kind}s")
    meta.append(f"{_n(len(mine), 'coding')} of {_n(len(counts), 'code')}")
    attributes = _attributes_html(document)
    out = [STYLE if style else "",
           f'<div class="qc qc-doc" data-document="{_e(document.id)}" dir="ltr">',
           f'<div class="qc-head"><b{_dir(document.id)}>{_e(document.id)}</b> '
           f'<span class="qc-meta">{_e(" · ".join(meta))}</span></div>']
    if attributes:
        out.append(f'<div class="qc-meta">{attributes}</div>')
    if legend and mine:
        out.append(legend_html(counts, palette, codebook, counts=counts,
                               statuses={c.status for c in mine}))
    out.append(body)
    out.append("</div>")
    return "".join(out)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def document_text(
    document: Document,
    codings: Iterable[Coding] = (),
    *,
    segments: Sequence[Segment] = (),
    codebook: Codebook | None = None,
    width: int = 88,
) -> str:
    """Plain text: each turn (wrapped at ``width``), then the codings that start in it as
    ``[code] status by coder: "excerpt"`` lines."""
    mine = sorted((c for c in codings if c.document_id == document.id),
                  key=lambda c: (c.start, c.end, c.code_id, c.coder))
    turns = sorted((s for s in segments if s.document_id == document.id),
                   key=lambda s: (s.start, s.end))
    lines = [f"{document.id}: {_n(len(document.text.split()), 'word')}, "
             f"{_n(len(mine), 'coding')}"]
    if document.attributes:
        lines.append(_attributes_line(document))
    blocks: list[tuple[str, int, int]] = []
    if turns:
        for s in turns:
            label = f"{s.speaker}: " if s.speaker else ""
            blocks.append((label + document.text[s.start : s.end], s.start, s.end))
    else:
        blocks.append((document.text, 0, len(document.text)))
    starts = [start for _, start, _ in blocks]
    under: dict[int, list[Coding]] = {}
    for c in mine:  # under the turn it starts in (or the last turn before it)
        under.setdefault(max(0, bisect.bisect_right(starts, c.start) - 1), []).append(c)
    for i, (text, _, _) in enumerate(blocks):
        lines.append("")
        for paragraph in text.split("\n"):
            lines.extend(textwrap.wrap(paragraph, width) or [""])
        lines.extend(_coding_line(c, document.text, codebook, width) for c in under.get(i, []))
    return "\n".join(lines)


def _coding_line(c: Coding, text: str, codebook: Codebook | None, width: int) -> str:
    confidence = f" {c.confidence:.2f}" if c.confidence is not None else ""
    head = f"    [{_name_of(codebook, c.code_id)}] {c.status} by {c.coder}{confidence}: "
    return head + '"' + _clip(text[c.start : c.end], max(20, width - len(head) - 2)) + '"'


# -- passages and review tables ------------------------------------------------------------------
def _segment_around(segments: Sequence[Segment], coding: Coding) -> tuple[int, int] | None:
    hits = [s for s in segments if s.document_id == coding.document_id
            and s.start < max(coding.end, coding.start + 1) and s.end > coding.start]
    if not hits:
        return None
    return min(s.start for s in hits), max(s.end for s in hits)


def _cut_before(text: str, at: int, floor: int) -> int:
    """Move a cut at ``at`` back to the start of its word (not below ``floor``)."""
    while at > floor and not text[at - 1].isspace():
        at -= 1
    return at


def _cut_after(text: str, at: int, ceiling: int) -> int:
    """Move a cut at ``at`` forward to the end of its word (not beyond ``ceiling``)."""
    while at < ceiling and not text[at].isspace():
        at += 1
    return at


def passage_html(
    text: str,
    coding: Coding,
    colors: Mapping[str, str],
    *,
    codebook: Codebook | None = None,
    within: tuple[int, int] | None = None,
    context: int = 160,
    max_chars: int = 480,
) -> str:
    """The coded words highlighted, with up to ``context`` characters around them from
    ``within`` (e.g. the turn; the whole text when None). Cuts fall between words and are
    marked "…"; coded words longer than ``max_chars`` keep their opening and their end
    with " […] " between."""
    low_bound, high_bound = within if within is not None else (0, len(text))
    low_bound, high_bound = min(low_bound, coding.start), max(high_bound, coding.end)
    low = coding.start
    if coding.start - low_bound > context:
        low = _cut_after(text, coding.start - context, coding.start)
    else:
        low = low_bound
    if high_bound - coding.end > context:
        high = _cut_before(text, coding.end + context, coding.end)
    else:
        high = high_bound
    parts = []
    if low > low_bound:
        parts.append('<span class="qc-context">…</span>')
    before = text[low : coding.start]
    if before:
        parts.append(f'<span class="qc-context">{_e(before)}</span>')
    coded = text[coding.start : coding.end]
    if len(coded) > max_chars:
        head_end = _cut_before(coded, max_chars * 2 // 3, 1)
        tail_start = _cut_after(coded, len(coded) - max_chars // 4, len(coded) - 1)
        coded_html = (f'{_e(coded[:head_end].rstrip())}<span class="qc-more"> […] </span>'
                      f"{_e(coded[tail_start:].lstrip())}")
    else:
        coded_html = _e(coded)
    colour = colors[coding.code_id]
    line = _line_image(colour, coding.status)
    tint = _mix(colour, TINT_ONE) if coding.status != "rejected" else "transparent"
    parts.append(
        f'<mark class="qc-run" data-codes="{_e(coding.code_id)}" '
        f'data-status="{_e(coding.status)}" title="{_e(_tooltip(coding, codebook))}" '
        f'style="padding-bottom:{LANE_STEP + 1}px;background-color:{tint};'
        f'background-image:{line};background-position:0 100%;'
        f'background-size:100% {LINE_WIDTH}px">{coded_html}</mark>')
    after = text[coding.end : high]
    if after:
        parts.append(f'<span class="qc-context">{_e(after)}</span>')
    if high < high_bound:
        parts.append('<span class="qc-context">…</span>')
    return "".join(parts)


def _confidence_cell(confidence: float | None, colour: str) -> str:
    if confidence is None:
        return '<td class="qc-confidence" data-value="">–</td>'
    pct = round(confidence * 100)
    return (f'<td class="qc-confidence" data-value="{confidence:.4f}">'
            f'<span class="qc-bar"><span style="width:{pct}%;background:{colour}"></span></span>'
            f"{confidence:.2f}</td>")


def _chip(code_id: str, colors: Mapping[str, str], codebook: Codebook | None) -> str:
    colour = colors[code_id]
    name = _name_of(codebook, code_id)
    return (f'<span class="qc-chip" data-code="{_e(code_id)}" '
            f'style="background:{colour};color:{_foreground(colour)}"{_dir(name)}>'
            f"{_e(name)}</span>")


def codings_html(
    codings: Sequence[Coding],
    project: Project | None = None,
    *,
    documents: Mapping[str, Document] | None = None,
    segments: Sequence[Segment] | None = None,
    codebook: Codebook | None = None,
    colors: str | Mapping[str, str] = "codebook",
    max_rows: int | None = 50,
    context: int = 160,
    style: bool = True,
) -> str:
    """Codings (typically a machine's suggestions) as a review table: one row per coding
    with its document and speaker, code, confidence, the reason, the passage in its turn,
    status and coder.

    Texts, turns and the codebook come from ``project`` unless given (``documents``
    ``{id: Document}``, ``segments``, ``codebook``). ``context``: characters of the turn
    shown on each side of the coded words. At most ``max_rows`` rows (None: all).
    """
    codings = list(codings)
    if max_rows is not None and max_rows < 0:
        raise parameter_error("max_rows", "codings_html()", "a whole number >= 0 or None",
                              max_rows)
    shown = codings if max_rows is None else codings[:max_rows]
    doc_ids = sorted({c.document_id for c in shown})
    if project is not None:
        documents = documents if documents is not None else {
            d: project.documents[d] for d in doc_ids}
        segments = segments if segments is not None else (
            project.segments(document=doc_ids) if doc_ids else [])
        codebook = codebook if codebook is not None else project.codebook
    documents = documents or {}
    segments = segments or []
    missing = [d for d in doc_ids if d not in documents]
    if missing:
        raise ParameterError(
            f"codings_html() needs the text of document '{missing[0]}': pass project= or "
            "documents=."
        )
    by_doc: dict[str, list[Segment]] = {}
    for s in segments:
        by_doc.setdefault(s.document_id, []).append(s)
    palette = code_colors(codebook, sorted({c.code_id for c in codings}), colors)
    head = ("#", "document", "code", "confidence", "reason", "passage", "status", "coder")
    out = [STYLE if style else "", '<div class="qc qc-review" dir="ltr">',
           f'<div class="qc-head"><b>{_n(len(codings), "coding")}</b> '
           f'<span class="qc-meta">{_e(_status_summary(codings))}</span></div>',
           '<table class="qc-table"><thead><tr>',
           "".join(f'<th scope="col">{h}</th>' for h in head), "</tr></thead><tbody>"]
    for n, c in enumerate(shown, 1):
        document = documents[c.document_id]
        turn = _segment_around(by_doc.get(c.document_id, []), c)
        passage = passage_html(document.text, c, palette, codebook=codebook, within=turn,
                               context=context)
        speakers = [s.speaker for s in by_doc.get(c.document_id, [])
                    if s.start <= c.start < s.end and s.speaker]
        where = _bdi(c.document_id) + (
            f'<br><span class="qc-meta"{_dir(speakers[0])}>{_e(speakers[0])}</span>'
            if speakers else "")
        shown_text = document.text[turn[0]:turn[1]] if turn else document.text[c.start:c.end]
        coder = _e(c.coder) + (f'<br><span class="qc-meta">{_e(c.method)}</span>'
                               if c.method and c.method != c.coder else "")
        row_id = f' data-coding-id="{c.id}"' if c.id is not None else ""
        out.append(
            f'<tr{row_id} data-status="{_e(c.status)}" data-code="{_e(c.code_id)}">'
            f'<td class="qc-n">{n}</td><td class="qc-document">{where}</td>'
            f'<td class="qc-code">{_chip(c.code_id, palette, codebook)}</td>'
            f"{_confidence_cell(c.confidence, palette[c.code_id])}"
            f'<td class="qc-reason"{_dir(c.reason)}>{_e(c.reason)}</td>'
            f'<td class="qc-passage"{_dir(shown_text)}>{passage}</td>'
            f'<td><span class="qc-status qc-status-{_e(c.status)}">{_e(c.status)}</span></td>'
            f'<td class="qc-coder">{coder}</td></tr>')
    out.append("</tbody></table>")
    if len(shown) < len(codings):
        out.append(f'<div class="qc-more">… and {len(codings) - len(shown)} more '
                   "(pass max_rows=None to show all)</div>")
    out.append("</div>")
    return "".join(out)


def _status_summary(codings: Sequence[Coding]) -> str:
    counts = Counter(c.status for c in codings)
    return ", ".join(f"{counts[s]} {s}" for s in CODING_STATUSES if counts[s])


def codings_text(
    codings: Sequence[Coding],
    project: Project | None = None,
    *,
    documents: Mapping[str, Document] | None = None,
    codebook: Codebook | None = None,
    max_rows: int | None = 50,
    width: int = 100,
) -> str:
    """Plain text of :func:`codings_html`: one line per coding."""
    codings = list(codings)
    shown = codings if max_rows is None else codings[:max_rows]
    if project is not None:
        documents = documents if documents is not None else {
            d: project.documents[d] for d in sorted({c.document_id for c in shown})}
        codebook = codebook if codebook is not None else project.codebook
    documents = documents or {}
    lines = [f"{_n(len(codings), 'coding')} ({_status_summary(codings) or 'none'})"]
    for n, c in enumerate(shown, 1):
        confidence = f" {c.confidence:.2f}" if c.confidence is not None else ""
        head = (f"{n:>3}. {c.document_id} {c.start}-{c.end} [{_name_of(codebook, c.code_id)}]"
                f" {c.status} by {c.coder}{confidence}")
        lines.append(head)
        if c.document_id in documents:
            words = documents[c.document_id].text[c.start : c.end]
            lines.append(f'     "{_clip(words, width - 7)}"')
        if c.reason:
            lines.append(f"     because: {_clip(c.reason, width - 14)}")
    if len(shown) < len(codings):
        lines.append(f"... and {len(codings) - len(shown)} more")
    return "\n".join(lines)


def review_card_html(
    coding: Coding,
    document: Document,
    *,
    segments: Sequence[Segment] = (),
    codebook: Codebook | None = None,
    colors: str | Mapping[str, str] = "codebook",
    heading: str = "",
    note: str = "",
    style: bool = True,
) -> str:
    """One suggestion to review: ``heading`` (e.g. "3 of 40"), the document and speaker,
    the code with its definition, confidence and reason, and the passage highlighted in
    ``segments`` (the turn and its neighbours, drawn as in :func:`document_html`)."""
    palette = code_colors(codebook, [coding.code_id], colors)
    colour = palette[coding.code_id]
    turns = sorted((s for s in segments if s.document_id == document.id),
                   key=lambda s: s.start)
    if turns:
        # Start at the line holding the first turn, so its speaker label shows.
        low = document.text.rfind("\n", 0, turns[0].start) + 1
        high = turns[-1].end
    else:
        low = max(0, coding.start - 300)
        high = min(len(document.text), coding.end + 300)
    low, high = min(low, coding.start), max(high, coding.end)
    body = _render_text(document.text, [coding], turns, palette, codebook,
                                 low=low, high=high, tags=None)
    speaker = next((s.speaker for s in turns if s.start <= coding.start < s.end and s.speaker),
                   None)
    where = " · ".join(x for x in (_bdi(document.id), _bdi(speaker or ""),
                                   _attributes_html(document)) if x)
    definition = ""
    if codebook is not None and coding.code_id in codebook:
        code = codebook.get(coding.code_id)
        path = " › ".join(_bdi(_name_of(codebook, c)) for c in (
            *reversed(codebook.ancestors(code.id)), code.id))
        definition = (f'<div class="qc-meta">{path}</div>'
                      + (f'<div class="qc-def"{_dir(code.definition)}>'
                         f'{_e(code.definition)}</div>' if code.definition else ""))
    confidence = ""
    if coding.confidence is not None:
        pct = round(coding.confidence * 100)
        confidence = (f'<span class="qc-bar"><span style="width:{pct}%;background:{colour}">'
                      f"</span></span>confidence {coding.confidence:.2f}")
    provenance = f"{coding.status} by {coding.coder}" + (
        f" ({coding.method})" if coding.method and coding.method != coding.coder else "")
    id_attr = f' data-coding-id="{coding.id}"' if coding.id is not None else ""
    out = [STYLE if style else "", f'<div class="qc qc-review-item"{id_attr} '
           f'data-code="{_e(coding.code_id)}" data-status="{_e(coding.status)}" dir="ltr">',
           f'<div class="qc-head"><b>{_e(heading)}</b> <span class="qc-meta">{where}'
           "</span></div>",
           f'<div class="qc-card" style="--qc-c:{colour}">'
           f"{_chip(coding.code_id, palette, codebook)} "
           f'<span class="qc-meta">{confidence} · {_e(provenance)}</span>{definition}']
    if coding.reason:
        out.append(f'<div class="qc-reason"><b>Reason:</b> {_bdi(coding.reason)}</div>')
    out.append("</div>")
    out.append(body)
    if note:
        out.append(f'<div class="qc-note"><b>{_e(note)}</b></div>')
    out.append("</div>")
    return "".join(out)


# -- codebooks -----------------------------------------------------------------------------------
def _code_item(code: Code, codebook: Codebook, colors: Mapping[str, str], examples: int) -> str:
    colour = colors[code.id]
    children = codebook.children(code.id)
    kids = (f"{len(children)} codes" if children else "")
    out = [f'<li data-code="{_e(code.id)}">'
           f'<span class="qc-swatch" style="background:{colour}"></span>'
           f"<b{_dir(code.name)}>{_e(code.name)}</b> "
           f'<span class="qc-id">{_e(code.id)}</span>'
           + (f' <span class="qc-meta">· {kids}</span>' if kids else "")]
    if code.definition:
        out.append(f'<div class="qc-def"{_dir(code.definition)}>{_e(code.definition)}</div>')
    criteria = []
    if code.include:
        criteria.append(f"<dt>Include</dt><dd{_dir(code.include)}>{_e(code.include)}</dd>")
    if code.exclude:
        criteria.append(f"<dt>Exclude</dt><dd{_dir(code.exclude)}>{_e(code.exclude)}</dd>")
    if code.examples:
        shown = "".join(f"<dd{_dir(x)}>“{_e(x)}”</dd>" for x in code.examples[:examples])
        more = (f'<dd class="qc-more">and {len(code.examples) - examples} more</dd>'
                if len(code.examples) > examples else "")
        criteria.append(f"<dt>Examples</dt>{shown}{more}")
    if code.keywords:
        keywords = ", ".join(code.keywords)
        criteria.append(f"<dt>Keywords</dt><dd{_dir(keywords)}>{_e(keywords)}</dd>")
    if code.patterns:
        patterns = ", ".join(code.patterns)
        criteria.append(f'<dt>Patterns</dt><dd class="qc-id">{_e(patterns)}</dd>')
    if criteria:
        out.append('<details class="qc-criteria"><summary>criteria, examples, keywords'
                   f'</summary><dl>{"".join(criteria)}</dl></details>')
    if children:
        out.append('<ul>' + "".join(_code_item(c, codebook, colors, examples)
                                    for c in children) + "</ul>")
    out.append("</li>")
    return "".join(out)


def codebook_html(
    codebook: Codebook,
    *,
    colors: str | Mapping[str, str] = "codebook",
    examples: int = 3,
    style: bool = True,
) -> str:
    """A codebook as a tree: themes, then their codes, each with its colour, name, id and
    definition; inclusion and exclusion criteria, up to ``examples`` examples, keywords and
    patterns fold out under each code."""
    palette = code_colors(codebook, (), colors)
    leaves = len(codebook.leaves())
    head = (f'<div class="qc-head"><b{_dir(codebook.name)}>{_e(codebook.name)}</b> '
            '<span class="qc-meta">'
            f"version {codebook.version} · {len(codebook.themes)} themes · {leaves} codes"
            "</span></div>")
    description = (f'<div class="qc-meta"{_dir(codebook.description)}>'
                   f'{_e(codebook.description)}</div>' if codebook.description else "")
    tree = "".join(_code_item(c, codebook, palette, examples) for c in codebook.themes)
    return (f'{STYLE if style else ""}<div class="qc qc-codebook" dir="ltr">{head}{description}'
            f'<ul class="qc-tree">{tree}</ul></div>')


def codebook_text(codebook: Codebook, *, width: int = 100) -> str:
    """A codebook as a plain-text tree, one line per code: ``name [id]: definition``."""
    lines = [f"{codebook.name} (version {codebook.version}): {len(codebook.themes)} themes, "
             f"{len(codebook.leaves())} codes"]

    def walk(code: Code, prefix: str, last: bool) -> None:
        branch = "└── " if last else "├── "
        head = f"{prefix}{branch}{code.name} [{code.id}]"
        if code.definition:
            head += ": " + _clip(code.definition, max(20, width - len(head) - 2))
        lines.append(head)
        children = codebook.children(code.id)
        for i, child in enumerate(children):
            walk(child, prefix + ("    " if last else "│   "), i == len(children) - 1)

    themes = codebook.themes
    for i, theme in enumerate(themes):
        walk(theme, "", i == len(themes) - 1)
    return "\n".join(lines)


# -- projects ------------------------------------------------------------------------------------
def project_html(project: Project, *, max_rows: int | None = 50, style: bool = True) -> str:
    """A project's summary: counts, codings by coder and status, and its documents (at most
    ``max_rows`` of them, None: all; ``project.documents.to_frame()`` lists every one)."""
    if max_rows is not None and max_rows < 0:
        raise parameter_error("max_rows", "project_html()", "a whole number >= 0 or None",
                              max_rows)
    info = project.info()
    frame = project.documents.to_frame()
    per_doc = Counter(c.document_id for c in project.codings())
    book = info["codebook"]
    facts = [f"{info['documents']} documents", f"{info['words']:,} words",
             f"{info['segments']:,} {info['unit']}s", f"{len(info['speakers'])} speakers"]
    codings = ", ".join(f"{n} {s}" for s, n in info["codings"].items() if n) or "no codings"
    name = Path(info["project"]).name
    out = [STYLE if style else "", '<div class="qc qc-project" dir="ltr">',
           f'<div class="qc-head"><b{_dir(name)}>{_e(name)}</b> '
           f'<span class="qc-meta">{_e(" · ".join(facts))}</span></div>',
           f'<div class="qc-meta">codebook: {_e(_book_line(book))}; codings: {_e(codings)}'
           "</div>"]
    if info["coders"]:
        out.append('<table class="qc-table"><thead><tr><th>coder</th><th>method</th>'
                   "<th>status</th><th>codings</th></tr></thead><tbody>")
        out.extend(f"<tr><td>{_e(r['coder'])}</td><td>{_e(r['method'])}</td>"
                   f"<td>{_e(r['status'])}</td><td>{r['codings']}</td></tr>"
                   for r in info["coders"])
        out.append("</tbody></table>")
    if len(frame):
        columns = [c for c in frame.columns if c != "source"]
        out.append('<table class="qc-table"><thead><tr>'
                   + "".join(f"<th>{_e(c)}</th>" for c in columns)
                   + "<th>codings</th></tr></thead><tbody>")
        shown = frame if max_rows is None else frame.head(max_rows)
        for row in shown.to_dict("records"):
            cells = "".join(f"<td{_dir(_cell(row[c]))}>{_e(_cell(row[c]))}</td>"
                            for c in columns)
            out.append(f"<tr>{cells}<td>{per_doc.get(row['document'], 0)}</td></tr>")
        out.append("</tbody></table>")
        if len(shown) < len(frame):
            hidden = _n(len(frame) - len(shown), "more document")
            out.append(f'<div class="qc-more">… and {hidden} (project.documents.to_frame() '
                       "lists them all)</div>")
    out.append("</div>")
    return "".join(out)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return f"{value:,}" if isinstance(value, int) else str(value)


def _book_line(book: Mapping[str, Any] | None) -> str:
    if book is None:
        return "none"
    return f"{book['name']} (version {book['version']}, {book_size(book)})"


def book_size(book: Mapping[str, Any]) -> str:
    """``"5 themes, 32 codes"``; a flat codebook's codes are not themes too."""
    codes = counted(book["codes"], "code")
    if book.get("flat"):
        return f"{codes}, no themes"
    return f"{counted(book['themes'], 'theme')}, {codes}"


def project_text(project: Project) -> str:
    """Plain text of :func:`project_html`'s counts."""
    info = project.info()
    codings = ", ".join(f"{n} {s}" for s, n in info["codings"].items() if n) or "no codings"
    return (f"{info['project']}: {info['documents']} documents, {info['words']:,} words, "
            f"{info['segments']:,} {info['unit']}s; codebook: {_book_line(info['codebook'])}; "
            f"codings: {codings}")


# -- wiring for notebooks ------------------------------------------------------------------------
def page(fragment: str, title: str = "qualcode") -> str:
    """A complete HTML page around a display (for saving, sharing, or a browser)."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title></head>\n<body style=\"margin:16px;background:#fff\">"
            f"\n{fragment}\n</body></html>\n")


@dataclass(frozen=True)
class DocumentView:
    """A document with its codings, as :func:`show` returns it.

    Jupyter renders it as HTML (:func:`document_html`); ``print(view)`` gives the plain
    text (:func:`document_text`); :meth:`save` writes a standalone HTML page.
    """

    document: Document
    codings: tuple[Coding, ...]
    segments: tuple[Segment, ...] = ()
    codebook: Codebook | None = None
    colors: str | Mapping[str, str] = "codebook"
    tags: str | None = "name"
    options: Mapping[str, Any] = field(default_factory=dict)

    def to_html(self) -> str:
        return document_html(self.document, self.codings, segments=self.segments,
                             codebook=self.codebook, colors=self.colors, tags=self.tags)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        return document_text(self.document, self.codings, segments=self.segments,
                             codebook=self.codebook)

    def __repr__(self) -> str:
        return (f"<DocumentView {self.document.id}: {_n(len(self.codings), 'coding')} of "
                f"{_n(len({c.code_id for c in self.codings}), 'code')}>")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self) if cycle else str(self))

    def save(self, path: str | PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the view as a standalone HTML page; returns the path. An existing file is
        an error unless ``overwrite=True``."""
        return _write_page(Path(path), page(self.to_html(), title=self.document.id),
                           overwrite=overwrite, where="Saving a document view")


@dataclass(frozen=True)
class ProjectView:
    """A project's summary, as :func:`show` returns it without a document."""

    project: Project

    def _repr_html_(self) -> str:
        return project_html(self.project)

    def __str__(self) -> str:
        return project_text(self.project)

    def __repr__(self) -> str:
        return f"<ProjectView {self.project.path}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def _write_page(path: Path, text: str, *, overwrite: bool, where: str) -> Path:
    from qualcode.export._common import atomic_write, check_targets

    check_targets([path], overwrite=overwrite, where=where)
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_document_html(
    project: Project,
    document: str,
    path: str | PathLike[str],
    *,
    overwrite: bool = False,
    **options: Any,
) -> Path:
    """Write a document with its codings as a standalone HTML page (what ``qualcode show``
    does); ``options`` are those of :func:`show` (``coder``, ``status``, ``code``, ``kind``,
    ``colors``, ``tags``). Returns the path; an existing file is an error unless
    ``overwrite=True``."""
    view = show(project, document, **options)
    assert isinstance(view, DocumentView)
    return view.save(path, overwrite=overwrite)


def show(
    project: Project,
    document: str | Document | None = None,
    *,
    coder: str | Sequence[str] | None = None,
    status: str | Sequence[str] | None = ("accepted", "suggested"),
    code: str | Sequence[str] | None = None,
    kind: str | None = None,
    colors: str | Mapping[str, str] = "codebook",
    tags: str | None = "name",
) -> DocumentView | ProjectView:
    """What a notebook cell shows: ``show(project, "AP01_sarah")`` is the document with
    its codings (of ``coder``, with ``status``, of ``code``: a code or theme id, whose
    codes are included); ``show(project)`` the project's summary.

    ``kind`` picks the segments that mark speaker turns (the project's unit by default);
    ``colors`` is ``"codebook"``, ``"distinct"`` or a mapping {code id: "#rrggbb"} (see
    :func:`code_colors`); ``tags`` labels each coding by ``"name"``, ``"id"`` or not (None).
    """
    if document is None:
        return ProjectView(project)
    doc = project.documents[document.id if isinstance(document, Document) else document]
    statuses = _check_statuses(status, "show()")
    codebook = project.codebook
    codes = None
    if code is not None:
        wanted = [code] if isinstance(code, str) else list(code)
        codes = set()
        for name in wanted:
            resolved = codebook.resolve(name).id if codebook is not None else name
            codes.add(resolved)
            if codebook is not None:
                codes.update(c.id for c in codebook if resolved in codebook.ancestors(c.id))
    codings = project.codings(document=doc.id, coder=coder, status=list(statuses),
                              code=sorted(codes) if codes is not None else None)
    segments = project.segments(document=doc.id, kind=kind)
    return DocumentView(doc, tuple(codings), tuple(segments), codebook, colors, tags)
