"""Tables for a paper: code frequencies by case attribute, a code x case matrix, and code
co-occurrence, at code or theme level; written as CSV, LaTeX (booktabs) and heatmaps.

>>> import qualcode as qc                                              # doctest: +SKIP
>>> qc.frequencies(project, by="setting")                              # doctest: +SKIP
>>> qc.frequencies(project, by="role", count="interviews", level="theme")  # doctest: +SKIP
>>> qc.case_matrix(project).to_csv("cases_by_code.csv")                # doctest: +SKIP
>>> qc.cooccurrence(project, unit="overlap")                           # doctest: +SKIP
>>> qc.export_tables(project, "tables/")                               # doctest: +SKIP

Counting
--------
A *segment* is a unit of the project (a speaker turn by default). A code is present in a
segment when one of its codings shares at least a character with it (a coding that meets
no segment counts as a unit of its own). A code is present in an *interview* (a document)
when it has at least one coding there. Only the codings the filters keep count (accepted
codings by default). At theme level a theme is present where any of its codes is.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

from qualcode.errors import ParameterError, parameter_error
from qualcode.export._common import (
    Selection,
    SpanIndex,
    atomic_write,
    check_targets,
    merge_codings,
    opened,
    select,
)
from qualcode.model import Coding
from qualcode.project import Project

__all__ = [
    "case_matrix",
    "cooccurrence",
    "cooccurrence_latex",
    "export_tables",
    "frequencies",
    "frequencies_latex",
]

ProjectArg = Project | str | PathLike[str]
MISSING = "(missing)"
_LEVELS = ("code", "theme")
_COUNTS = ("segments", "interviews")
_UNITS = ("segment", "overlap", "document")


# -- what is coded where ----------------------------------------------------------------------
@dataclass
class _Coded:
    """Where each label (code or theme) is present, after the filters."""

    selection: Selection
    level: str
    labels: list[str]  # codebook order
    units: dict[str, set[tuple[str, int, int]]]  # label -> segments (doc, start, end)
    documents: dict[str, set[str]]  # label -> document ids
    names: dict[str, str]
    themes: dict[str, str]  # label -> its theme (itself at theme level)

    def label_of(self, coding: Coding) -> str:
        if self.level == "theme":
            return self.selection.theme_of(coding.code_id)
        return coding.code_id


def _coded(project: ProjectArg, level: str, where: str, filters: Mapping[str, Any]) -> _Coded:
    if level not in _LEVELS:
        raise parameter_error("level", where, "'code' or 'theme'", level)
    with opened(project) as store:
        selection = select(store, where=where, **filters)
        segments = store.segments(document=list(selection.documents))
    by_document: dict[str, list[Any]] = defaultdict(list)
    for segment in segments:
        by_document[segment.document_id].append(segment)
    index = {doc: SpanIndex(items) for doc, items in by_document.items()}

    if level == "theme":
        labels = selection.themes()
        names = {t: selection.name_of(t) for t in labels}
        themes = {t: t for t in labels}
    else:
        labels = list(selection.codes)
        names = {c: selection.name_of(c) for c in labels}
        themes = {c: selection.theme_of(c) for c in labels}
    coded = _Coded(selection, level, labels, {lab: set() for lab in labels},
                   {lab: set() for lab in labels}, names, themes)
    for coding in selection.codings:
        label = coded.label_of(coding)
        if label not in coded.units:
            continue
        doc = coding.document_id
        hits = index[doc].overlapping(coding.start, coding.end) if doc in index else []
        if hits:
            coded.units[label].update((doc, s.start, s.end) for s in hits)
        else:
            coded.units[label].add((doc, coding.start, coding.end))
        coded.documents[label].add(doc)
    return coded


def _filters(kwargs: Mapping[str, Any], where: str) -> dict[str, Any]:
    allowed = ("codes", "themes", "attributes", "status", "coder", "documents")
    unknown = [k for k in kwargs if k not in allowed]
    if unknown:
        raise ParameterError(
            f"{where} got an unknown filter {unknown[0]!r}; filters are "
            f"{', '.join(allowed)}."
        )
    return dict(kwargs)


# -- frequencies ------------------------------------------------------------------------------
def frequencies(
    project: ProjectArg,
    by: str | None = "setting",
    *,
    count: str = "segments",
    level: str = "code",
    **filters: Any,
):  # -> pandas.DataFrame
    """How often each code (or theme) appears, per value of a case attribute.

    ``by`` names a case attribute (``"setting"``, ``"role"``; None for totals only);
    ``count`` is ``"segments"`` (coded segments) or ``"interviews"`` (documents where the
    code appears); ``level`` is ``"code"`` or ``"theme"``. ``filters`` are those of
    :func:`~qualcode.export.excerpts.excerpts` (codes, themes, attributes, status, coder,
    documents).

    Returns a DataFrame with one row per code in codebook order: ``theme``, ``code`` (code
    level only), ``name``, one column per attribute value (documents without the
    attribute under ``"(missing)"``), and ``total``. ``frame.attrs["interviews"]`` holds
    how many interviews each value has (the denominators).
    """
    import pandas as pd

    where = "frequencies()"
    if count not in _COUNTS:
        raise parameter_error("count", where, "'segments' or 'interviews'", count)
    coded = _coded(project, level, where, _filters(filters, where))
    documents = coded.selection.documents
    group_of = _groups(documents, by, where)
    values = _ordered_values(group_of)

    rows = []
    for label in coded.labels:
        row: dict[str, Any] = {"theme": coded.themes[label]}
        if level == "code":
            row["code"] = label
        row["name"] = coded.names[label]
        items = (coded.units[label] if count == "segments" else
                 {(d, 0, 0) for d in coded.documents[label]})
        per_value: dict[str, int] = defaultdict(int)
        for doc, _, _ in items:
            per_value[group_of[doc]] += 1
        for value in values:
            row[value] = per_value.get(value, 0)
        row["total"] = len(items)
        rows.append(row)
    keys = ["theme", "code", "name"] if level == "code" else ["theme", "name"]
    frame = pd.DataFrame(rows, columns=[*keys, *values, "total"])
    frame.attrs["by"] = by
    frame.attrs["theme_names"] = {t: coded.selection.name_of(t)
                                  for t in coded.selection.themes()}
    frame.attrs["count"] = count
    frame.attrs["level"] = level
    frame.attrs["interviews"] = {v: sum(1 for g in group_of.values() if g == v) for v in values}
    frame.attrs["interviews"]["total"] = len(documents)
    return frame


def _groups(documents: Mapping[str, Any], by: str | None, where: str) -> dict[str, str]:
    if by is None:
        return {doc: "all" for doc in documents}
    names = sorted({k for d in documents.values() for k in d.attributes})
    if by not in names:
        raise ParameterError(
            f"The 'by' parameter of {where} must be a case attribute of the documents "
            f"({', '.join(names) or 'none'}). Got {by!r} instead."
        )
    out = {}
    for doc_id, document in documents.items():
        value = document.attributes.get(by)
        text = "" if value is None else str(value).strip()
        out[doc_id] = text if text and text.lower() != "nan" else MISSING
    return out


def _ordered_values(group_of: Mapping[str, str]) -> list[str]:
    values = sorted({v for v in group_of.values() if v != MISSING}, key=_natural)
    if MISSING in group_of.values():
        values.append(MISSING)
    return values


def _natural(text: str) -> list[Any]:
    # "Site 2" before "Site 10"
    return [int(part) if part.isdigit() else part.casefold()
            for part in re.split(r"(\d+)", text)]


# -- case matrix ------------------------------------------------------------------------------
def case_matrix(
    project: ProjectArg,
    *,
    level: str = "code",
    include_attributes: bool = True,
    binary: bool = True,
    **filters: Any,
):  # -> pandas.DataFrame
    """One row per document (index ``document``), one column per code: 1 where the code
    appears in the interview, else 0 (``binary=False``: the number of coded segments).

    With ``include_attributes=True`` the case attributes come first, so the file loads
    straight into R (``read.csv``) or SPSS with the variables beside the codes. ``level``
    and the filters are those of :func:`frequencies`.
    """
    import pandas as pd

    where = "case_matrix()"
    coded = _coded(project, level, where, _filters(filters, where))
    documents = coded.selection.documents
    data: dict[str, list[Any]] = {}
    if include_attributes:
        names = list(dict.fromkeys(k for d in documents.values() for k in d.attributes))
        for name in names:
            data[name] = [d.attributes.get(name) for d in documents.values()]
    for label in coded.labels:
        if binary:
            column = [int(doc in coded.documents[label]) for doc in documents]
        else:
            per_doc: dict[str, int] = defaultdict(int)
            for doc, _, _ in coded.units[label]:
                per_doc[doc] += 1
            column = [per_doc.get(doc, 0) for doc in documents]
        # A code id that equals an attribute name keeps both: the code gets a suffix.
        data[label if label not in data else f"{label}_code"] = column
    frame = pd.DataFrame(data, index=pd.Index(list(documents), name="document"))
    frame.attrs["level"] = level
    return frame


# -- co-occurrence ----------------------------------------------------------------------------
def cooccurrence(
    project: ProjectArg,
    *,
    level: str = "code",
    unit: str = "segment",
    **filters: Any,
):  # -> pandas.DataFrame
    """How often two codes (or themes) appear together: a symmetric code x code table.

    ``unit`` says what "together" means: ``"segment"`` (both code the same segment:
    the default), ``"overlap"`` (a coding of one overlaps a coding of the other; codings
    of one code are first merged where they overlap) or ``"document"`` (both appear in
    the same interview). The diagonal holds how many units each code has. Rows and
    columns are code ids in codebook order; ``frame.attrs["names"]`` maps them to names.
    """
    import numpy as np
    import pandas as pd

    where = "cooccurrence()"
    if unit not in _UNITS:
        raise parameter_error("unit", where, f"one of {', '.join(_UNITS)}", unit)
    coded = _coded(project, level, where, _filters(filters, where))
    labels = coded.labels
    position = {label: i for i, label in enumerate(labels)}
    counts = np.zeros((len(labels), len(labels)), dtype=int)

    if unit == "overlap":
        relabelled = [
            Coding(c.document_id, c.start, c.end, coded.label_of(c), c.coder, id=c.id)
            for c in coded.selection.codings if coded.label_of(c) in position
        ]
        by_document: dict[str, list[Any]] = defaultdict(list)
        for span in merge_codings(relabelled):
            by_document[span.document].append(span)
        for spans in by_document.values():
            index = SpanIndex(spans)
            for span in spans:
                i = position[span.code]
                counts[i, i] += 1
                for other in index.overlapping(span.start, span.end):
                    # Each pair is seen from both sides: count it once, from the later span.
                    earlier = (other.start, other.end, other.code) < (span.start, span.end,
                                                                      span.code)
                    if other.code != span.code and earlier:
                        j = position[other.code]
                        counts[i, j] += 1
                        counts[j, i] += 1
    else:
        members: dict[Any, list[int]] = defaultdict(list)
        for label in labels:
            items = (coded.units[label] if unit == "segment" else coded.documents[label])
            for item in items:
                members[item].append(position[label])
        for present in members.values():
            for i in present:
                for j in present:
                    counts[i, j] += 1
    frame = pd.DataFrame(counts, index=pd.Index(labels, name=coded.level),
                         columns=pd.Index(labels, name=coded.level))
    frame.attrs.update(level=level, unit=unit, names=dict(coded.names),
                       themes=dict(coded.themes),
                       colours={t: c for t in set(coded.themes.values())
                                if (c := coded.selection.colour_of(t))})
    return frame


# -- LaTeX ------------------------------------------------------------------------------------
def _tex(text: object) -> str:
    from qualcode.export.excerpts import latex_escape

    return latex_escape(str(text))


def frequencies_latex(segments, interviews=None, *, caption: str | None = None,
                      label: str | None = None) -> str:
    """A booktabs table (a ``table`` float) from :func:`frequencies` frames: cells are
    coded segments, with interviews in brackets when ``interviews`` is given."""
    by = segments.attrs.get("by") or "attribute"
    level = segments.attrs.get("level", "code")
    has_code = "code" in segments.columns
    keys = ["theme", "code", "name"] if has_code else ["theme", "name"]
    values = [c for c in segments.columns if c not in keys]
    ns = segments.attrs.get("interviews", {})
    count = segments.attrs.get("count", "segments")
    if caption is None:
        what = ("coded segments (interviews in brackets)" if interviews is not None
                else f"coded {count}")
        caption = f"{level.capitalize()}s by {by}: {what}."
    lead = "ll" if has_code else "l"
    lines = [
        f"% {caption} Written by qualcode; needs \\usepackage{{booktabs}}.",
        "\\begin{table}[htbp]", "\\centering", f"\\caption{{{_tex(caption)}}}",
    ]
    if label:
        lines.append(f"\\label{{{label}}}")
    if len(values) > 7:
        lines.append(f"% {len(values)} columns: consider a landscape page (pdflscape).")
        lines.append("\\footnotesize\\setlength{\\tabcolsep}{3pt}")
    else:
        lines.append("\\small")
    lines += [f"\\begin{{tabular}}{{@{{}}{lead}{'r' * len(values)}@{{}}}}", "\\toprule"]
    head = ["Theme", "Code"] if has_code else ["Theme"]
    wrap = len(values) > 5  # many columns: stack long headings over several lines
    lines.append(" & ".join([*head, *(_heading("Total" if v == "total" else v, wrap)
                                      for v in values)]) + " \\\\")
    if ns:
        lines.append(" & ".join(["" for _ in head] + [f"$n={ns.get(v, 0)}$" for v in values])
                     + " \\\\")
    lines.append("\\midrule")
    previous = None
    for i, row in segments.iterrows():
        if has_code:
            theme = row["theme"]
            first = _tex(_theme_name(segments, theme)) if theme != previous else ""
            if previous is not None and theme != previous:
                lines.append("\\addlinespace")
            previous = theme
            cells = [first, _tex(row["name"])]
        else:
            cells = [_tex(row["name"])]
        for value in values:
            cell = str(int(row[value]))
            if interviews is not None:
                cell += f" ({int(interviews.loc[i, value])})"
            cells.append(cell)
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
    return "\n".join(lines) + "\n"


def _heading(text: str, wrap: bool, width: int = 12) -> str:
    """A column heading; with ``wrap``, words stacked in lines of about ``width`` characters
    (``\\shortstack`` is in the LaTeX kernel: no package needed)."""
    if not wrap or len(text) <= width:
        return _tex(text)
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    if len(lines) == 1:
        return _tex(text)
    return "\\shortstack{" + "\\\\".join(_tex(line) for line in lines) + "}"


def _theme_name(frame, theme: str) -> str:
    return frame.attrs.get("theme_names", {}).get(theme, theme)


def cooccurrence_latex(matrix, *, caption: str | None = None, label: str | None = None) -> str:
    """A booktabs table of a :func:`cooccurrence` matrix: the lower triangle, columns
    numbered like the rows (so 30 codes still fit a page), the diagonal in bold."""
    names = matrix.attrs.get("names", {})
    unit = matrix.attrs.get("unit", "segment")
    level = matrix.attrs.get("level", "code")
    labels = list(matrix.index)
    if caption is None:
        together = {"segment": "coding the same segment", "overlap": "with overlapping codings",
                    "document": "appearing in the same interview"}[unit]
        caption = (f"Co-occurrence of {level}s: number of {unit}s with both {level}s "
                   f"({together}). The diagonal (bold) counts each {level}'s {unit}s.")
    lines = [
        f"% {caption} Written by qualcode; needs \\usepackage{{booktabs}}.",
        "\\begin{table}[htbp]", "\\centering", f"\\caption{{{_tex(caption)}}}",
    ]
    if label:
        lines.append(f"\\label{{{label}}}")
    lines.append("\\scriptsize\\setlength{\\tabcolsep}{2pt}" if len(labels) > 12 else "\\small")
    lines += [f"\\begin{{tabular}}{{@{{}}rl{'r' * len(labels)}@{{}}}}", "\\toprule",
              " & ".join(["", level.capitalize(), *(str(k + 1) for k in range(len(labels)))])
              + " \\\\", "\\midrule"]
    for i, row_label in enumerate(labels):
        cells = [str(i + 1), _tex(names.get(row_label, row_label))]
        for j in range(len(labels)):
            value = int(matrix.iat[i, j])
            if j < i:
                cells.append(str(value) if value else "")
            elif j == i:
                cells.append(f"\\textbf{{{value}}}")
            else:
                cells.append("")
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
    return "\n".join(lines) + "\n"


# -- writing ----------------------------------------------------------------------------------
def export_tables(
    project: ProjectArg,
    out_dir: str | PathLike[str],
    *,
    by: str | Sequence[str] | None = None,
    levels: Sequence[str] = ("code", "theme"),
    unit: str = "segment",
    formats: Sequence[str] = ("csv", "tex"),
    figures: Sequence[str] = ("png", "svg"),
    overwrite: bool = False,
    **filters: Any,
) -> list[Path]:
    """Write every table into ``out_dir`` (created if needed) and return the paths.

    For each level (code, theme): frequencies by each attribute in ``by`` (default:
    ``setting`` and ``role``, those the documents have) as CSV (segments and interviews)
    and one LaTeX table (segments with interviews in brackets); the case matrix as CSV;
    co-occurrence (``unit``) as CSV, LaTeX and a heatmap (``figures``: png, svg, pdf).
    Nothing is written if any file exists, unless ``overwrite=True``.
    """
    from qualcode.export.figures import cooccurrence_heatmap, save_figure

    where = "export_tables()"
    formats = _choice_list("formats", formats, ("csv", "tex"), where)
    figures = _choice_list("figures", figures, ("png", "svg", "pdf"), where)
    levels = _choice_list("levels", levels, _LEVELS, where)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"{out} is a file; give a folder for the tables.")
    filters = _filters(filters, where)

    with opened(project) as store:
        documents = list(store.documents)
        attributes = sorted({k for d in documents for k in d.attributes})
        if by is None:
            by_list = [a for a in ("setting", "role") if a in attributes]
        else:
            by_list = [by] if isinstance(by, str) else list(by)
        for name in by_list:
            if name not in attributes:
                raise parameter_error("by", where, "case attributes of the documents "
                                      f"({', '.join(attributes) or 'none'})", name)
        if unit not in _UNITS:
            raise parameter_error("unit", where, f"one of {', '.join(_UNITS)}", unit)
        select(store, where=where, **filters)  # a bad filter fails before any folder is made
        # Refuse before any work: the file names do not depend on the data.
        names = _table_names(levels, by_list, formats, figures)
        out.mkdir(parents=True, exist_ok=True)
        check_targets([out / n for n in names], overwrite=overwrite,
                      where="Exporting tables")

        # Everything is computed before the first file is written, so an error leaves
        # the folder as it was.
        planned: list[tuple[str, Any]] = []
        for level in levels:
            plural = f"{level}s"
            for attribute in by_list:
                seg = frequencies(store, attribute, count="segments", level=level, **filters)
                inter = frequencies(store, attribute, count="interviews", level=level,
                                    **filters)
                stem = f"frequencies_{plural}_by_{_slug(attribute)}"
                if "csv" in formats:
                    planned.append((f"{stem}_segments.csv", _csv_writer(seg)))
                    planned.append((f"{stem}_interviews.csv", _csv_writer(inter)))
                if "tex" in formats:
                    text = frequencies_latex(seg, inter, label=f"tab:{stem.replace('_', '-')}")
                    planned.append((f"{stem}.tex", _text_writer(text)))
            if "csv" in formats:
                matrix = case_matrix(store, level=level, **filters)
                planned.append((f"case_matrix_{plural}.csv", _csv_writer(matrix, index=True)))
            co = cooccurrence(store, level=level, unit=unit, **filters)
            stem = f"cooccurrence_{plural}"
            if "csv" in formats:
                planned.append((f"{stem}.csv", _csv_writer(co, index=True)))
            if "tex" in formats:
                planned.append((f"{stem}.tex", _text_writer(
                    cooccurrence_latex(co, label=f"tab:{stem.replace('_', '-')}"))))
            if figures and len(co):  # no codes at all: no heatmap to draw
                figure = cooccurrence_heatmap(co)
                for kind in figures:
                    planned.append((f"{stem}.{kind}",
                                    lambda tmp, f=figure, k=kind: save_figure(f, tmp, k)))
    return [atomic_write(out / name, write) for name, write in planned]


def _table_names(levels: Sequence[str], by: Sequence[str], formats: Sequence[str],
                 figures: Sequence[str]) -> list[str]:
    names = []
    for level in levels:
        for attribute in by:
            stem = f"frequencies_{level}s_by_{_slug(attribute)}"
            if "csv" in formats:
                names += [f"{stem}_segments.csv", f"{stem}_interviews.csv"]
            if "tex" in formats:
                names.append(f"{stem}.tex")
        if "csv" in formats:
            names.append(f"case_matrix_{level}s.csv")
        names += [f"cooccurrence_{level}s.{ext}" for ext in formats]
        names += [f"cooccurrence_{level}s.{ext}" for ext in figures]
    return names


def _choice_list(name: str, value: Any, allowed: Sequence[str], where: str) -> list[str]:
    items = [value] if isinstance(value, str) else list(value or ())
    items = [str(v).lower().lstrip(".") for v in items]
    bad = [v for v in items if v not in allowed]
    if bad:
        raise parameter_error(name, where, f"made of {', '.join(allowed)}", bad[0])
    return list(dict.fromkeys(items))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "attribute"


def _csv_writer(frame, *, index: bool = False):
    def write(tmp: Path) -> None:
        frame.to_csv(tmp, index=index, encoding="utf-8", lineterminator="\n")
    return write


def _text_writer(text: str):
    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")
    return write
