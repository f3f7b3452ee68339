"""Coded excerpts for a paper: quotes grouped by theme then code, each with an attribution.

>>> import qualcode as qc                                               # doctest: +SKIP
>>> quotes = qc.excerpts(project, themes="thresholds", per_code=3,
...                      attributes={"setting": "Oakview"})              # doctest: +SKIP
>>> quotes.to_frame()                                                   # doctest: +SKIP
>>> quotes.write("findings.docx")                                       # doctest: +SKIP
>>> qc.export_excerpts(project, "findings.tex", context=1)               # doctest: +SKIP

How excerpts are made
---------------------
* Codings are chosen by the filters (accepted codings by default).
* Codings of the same code in the same document that overlap (or touch) are merged into
  one excerpt, which keeps every coder and coding id it came from.
* Within a code, excerpts are ranked **most representative first**: first by how many
  coders coded the passage (agreement between people is the strongest sign a passage
  is a clear instance), then by *centrality*: the mean cosine similarity of the
  excerpt's TF-IDF vector to the code's other excerpts (leave-one-out), so the quotes
  that share most vocabulary with the rest of the code come first and idiosyncratic
  ones last. Then machine confidence, then document order. No model is loaded and the
  order is deterministic. ``per_code`` keeps the top N; ``order="document"`` shows
  those N in the order they occur.
* The attribution comes from a template (default ``"{speaker}, {setting}"``) naming
  case attributes or the fields in :data:`FIELDS`. A field a document lacks is left
  out together with its separator; a field no document has is an error (a typo).
"""

from __future__ import annotations

import html
import re
import string
import unicodedata
import warnings
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from os import PathLike
from pathlib import Path
from typing import Any

from qualcode._text import counted
from qualcode.errors import ParameterError, parameter_error
from qualcode.export._common import (
    MergedSpan,
    SpanIndex,
    Values,
    atomic_write,
    attribute_names,
    check_targets,
    dir_attribute,
    isolated,
    merge_codings,
    opened,
    select,
    text_direction,
)
from qualcode.model import Document, Segment
from qualcode.project import Project

__all__ = [
    "DEFAULT_TEMPLATE",
    "FIELDS",
    "FORMATS",
    "CodeCount",
    "Excerpt",
    "ExcerptSet",
    "excerpts",
    "export_excerpts",
]

DEFAULT_TEMPLATE = "{speaker}, {setting}"

#: Attribution fields besides the documents' case attributes. A case attribute with the
#: same name (e.g. ``role`` holding a job title) wins over the segment's field.
FIELDS: dict[str, str] = {
    "document": "the document id",
    "speaker": "the speaker of the turn the excerpt is in",
    "role": "the case attribute 'role', else the turn's role (interviewer/participant)",
    "start_time": "the turn's start time (hh:mm:ss), for timed transcripts",
    "end_time": "the turn's end time (hh:mm:ss)",
    "code": "the code's name",
    "theme": "the theme's name",
    "coders": "the coders who coded the passage",
}

#: File suffix -> format; :func:`export_excerpts` also takes the names as ``format=``.
FORMATS: dict[str, str] = {
    ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html",
    ".tex": "latex", ".docx": "docx", ".csv": "csv", ".xlsx": "xlsx",
}
_FORMAT_ALIASES = {"md": "markdown", "htm": "html", "tex": "latex", "word": "docx",
                   "excel": "xlsx"}
_SUFFIX = {"markdown": ".md", "html": ".html", "latex": ".tex", "docx": ".docx",
           "csv": ".csv", "xlsx": ".xlsx"}

ELLIPSIS = "…"
_ORDERS = ("representative", "document")


# -- values -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Excerpt:
    """One quote: a merged span of one code in one document.

    ``text`` is every word the codings cover; ``quote`` is what is shown (``text``
    trimmed to ``max_chars``); ``before``/``after`` are context, empty without it.
    ``rank`` is 1 for the code's most representative excerpt; ``score`` its centrality.
    """

    document: str
    start: int
    end: int
    code: str
    theme: str
    text: str
    quote: str
    attribution: str
    speaker: str | None = None
    before: str = ""
    after: str = ""
    coders: tuple[str, ...] = ()
    codings: tuple[int, ...] = ()
    confidence: float | None = None
    score: float = 0.0
    rank: int = 1

    @property
    def trimmed(self) -> bool:
        return self.quote != self.text


@dataclass(frozen=True)
class CodeCount:
    """How many excerpts a code has (after merging), in how many interviews, how many shown."""

    code: str
    name: str
    theme: str
    theme_name: str
    excerpts: int
    interviews: int
    shown: int


@dataclass(frozen=True)
class ExcerptSet:
    """Excerpts grouped by theme then code, with what a header needs to describe them.

    Iterate for :class:`Excerpt` objects (theme, code, then display order);
    :meth:`to_frame` gives one row per excerpt, :meth:`counts_frame` one row per code,
    :meth:`write` a Markdown, HTML, LaTeX, DOCX, CSV or XLSX file.
    """

    project: str
    excerpts: tuple[Excerpt, ...]
    counts: tuple[CodeCount, ...]
    filters: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)
    codebook: str = ""
    created: str = ""
    colours: Mapping[str, str] = field(default_factory=dict)  # theme id -> #rrggbb
    interviews: int = 0  # interviews with at least one excerpt (before the cap)
    documents: int = 0  # interviews the filters kept

    def __len__(self) -> int:
        return len(self.excerpts)

    def __iter__(self) -> Iterator[Excerpt]:
        return iter(self.excerpts)

    def __repr__(self) -> str:
        codes = sum(1 for c in self.counts if c.shown)
        return (f"<ExcerptSet {counted(len(self.excerpts), 'excerpt')} of "
                f"{counted(codes, 'code')} from {self.title}>")

    @property
    def title(self) -> str:
        return Path(self.project).stem or self.project

    def groups(self) -> list[tuple[str, str, list[tuple[CodeCount, list[Excerpt]]]]]:
        """``[(theme id, theme name, [(CodeCount, [Excerpt, ...]), ...]), ...]`` for the
        codes with at least one excerpt shown, in codebook order."""
        by_code: dict[str, list[Excerpt]] = defaultdict(list)
        for excerpt in self.excerpts:
            by_code[excerpt.code].append(excerpt)
        out: list[tuple[str, str, list[tuple[CodeCount, list[Excerpt]]]]] = []
        for count in self.counts:
            if not by_code.get(count.code):
                continue
            if not out or out[-1][0] != count.theme:
                out.append((count.theme, count.theme_name, []))
            out[-1][2].append((count, by_code[count.code]))
        return out

    def header_lines(self) -> list[tuple[str, str]]:
        """(label, value) pairs every format prints at the top."""
        filters = "; ".join(f"{k}: {v}" for k, v in self.filters.items()) or "none"
        rows = [("Project", self.project)]
        if self.codebook:
            rows.append(("Codebook", self.codebook))
        rows += [("Filters", filters)]
        rows += [(k.capitalize(), v) for k, v in self.options.items()]
        shown = sum(c.shown for c in self.counts)
        total = sum(c.excerpts for c in self.counts)
        rows.append(("Excerpts", f"{shown} shown of {total}, from {self.interviews} of "
                                 f"{self.documents} interviews"))
        rows.append(("Exported", f"{self.created} with qualcode {_version()}"))
        return rows

    # -- tables -------------------------------------------------------------------------
    def to_frame(self):  # -> pandas.DataFrame
        """One row per excerpt: theme, code, rank, document, offsets, speaker, attribution,
        quote (as shown), text (in full), context, coders, coding ids, score."""
        import pandas as pd

        names = {c.code: c.name for c in self.counts}
        themes = {c.theme: c.theme_name for c in self.counts}
        columns = ["theme", "theme_name", "code", "code_name", "rank", "document", "start",
                   "end", "speaker", "attribution", "quote", "text", "before", "after",
                   "coders", "codings", "confidence", "score"]
        rows = [
            (e.theme, themes.get(e.theme, e.theme), e.code, names.get(e.code, e.code), e.rank,
             e.document, e.start, e.end, e.speaker, e.attribution, e.quote, e.text, e.before,
             e.after, ", ".join(e.coders), ", ".join(str(i) for i in e.codings),
             e.confidence, round(e.score, 4))
            for e in self.excerpts
        ]
        return pd.DataFrame(rows, columns=columns)

    def counts_frame(self):  # -> pandas.DataFrame
        """One row per code in scope: theme, code, name, excerpts, interviews, shown."""
        import pandas as pd

        return pd.DataFrame(
            [(c.theme, c.code, c.name, c.excerpts, c.interviews, c.shown) for c in self.counts],
            columns=["theme", "code", "name", "excerpts", "interviews", "shown"],
        )

    # -- text formats -------------------------------------------------------------------
    def to_markdown(self) -> str:
        """The excerpts as Markdown: a header, a table of counts, ``##`` themes, ``###``
        codes, each excerpt a block quote ending with its attribution."""
        return _markdown(self)

    def to_html(self, *, standalone: bool = True) -> str:
        """A standalone HTML page (``standalone=False``: the body only, for notebooks)."""
        return _html(self, standalone=standalone)

    def _repr_html_(self) -> str:
        # A notebook cell shows the counts and the first excerpts; write() gives them all.
        return _html(self, standalone=False, limit=_NOTEBOOK_EXCERPTS)

    def to_latex(self, *, unicode: bool | None = None) -> str:
        """A LaTeX fragment to ``\\input``: ``\\subsection*`` per theme, ``\\subsubsection*``
        per code, a ``quote`` environment per excerpt, counts in a booktabs table.

        With ``unicode=False`` (for pdflatex) characters pdflatex cannot set, such as emoji,
        are written as their Unicode name in brackets; ``True`` keeps them (lualatex/xelatex).
        None (the default) keeps them when the text holds letters pdflatex cannot set
        (Arabic, Hebrew, Greek, Chinese, ...): a quote spelled out letter by letter is no
        quote. Right-to-left quotes are then set in ``otherlanguage`` environments, and the
        fragment's first lines say which engine, languages and fonts it needs.
        """
        if unicode is None:
            unicode = bool(_scripts_pdflatex_cannot_set(self))
        return _latex(self, unicode=unicode)

    def write(
        self,
        path: str | PathLike[str],
        *,
        format: str | None = None,
        overwrite: bool = False,
    ) -> Path:
        """Write the excerpts to ``path``; ``format`` defaults to the suffix (.md .html .tex
        .docx .csv .xlsx). An existing file is an error unless ``overwrite=True``."""
        path = Path(path)
        kind = resolve_format(path, format)
        check_targets([path], overwrite=overwrite, where="Exporting excerpts")
        writers = {
            "markdown": lambda tmp: tmp.write_text(self.to_markdown(), encoding="utf-8"),
            "html": lambda tmp: tmp.write_text(self.to_html(), encoding="utf-8"),
            "latex": lambda tmp: tmp.write_text(self.to_latex(), encoding="utf-8"),
            "csv": lambda tmp: self.to_frame().to_csv(tmp, index=False, encoding="utf-8",
                                                      lineterminator="\n"),
            "docx": lambda tmp: _docx(self, tmp),
            "xlsx": lambda tmp: _xlsx(self, tmp),
        }
        written = atomic_write(path, writers[kind])
        if kind == "latex" and (note := _latex_engine_note(self)):
            warnings.warn(f"{written.name} {note}", UserWarning, stacklevel=2)
        return written


def _latex_engine_note(result: ExcerptSet) -> str:
    """What compiling the LaTeX of ``result`` needs beyond pdflatex, as the end of a
    sentence ("holds Arabic letters: compile it with lualatex or xelatex ..."), or "" when
    pdflatex will do."""
    scripts = _scripts_pdflatex_cannot_set(result)
    if not scripts:
        return ""
    kind = "right-to-left text" if _rtl_languages(result) else "letters"
    return (f"holds {kind} in {_and(scripts)} script, which pdflatex cannot set: compile it "
            "with lualatex or xelatex, with a font that has these letters (the comment at "
            "the top of the file gives a preamble).")


def suffix_for(format: str | None) -> str:
    """The file suffix of a format name (``"latex"`` -> ``".tex"``); None gives ``.docx``."""
    if format is None:
        return ".docx"
    return _SUFFIX[resolve_format(Path("excerpts"), format)]


def resolve_format(path: Path, format: str | None) -> str:
    """The export format named by ``format`` or, without it, by the file's suffix."""
    if format is not None:
        name = _FORMAT_ALIASES.get(format.lower().lstrip("."), format.lower().lstrip("."))
        if name not in _SUFFIX:
            raise parameter_error("format", "export_excerpts()",
                                  f"one of {', '.join(_SUFFIX)}", format)
        return name
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ParameterError(
            f"Cannot tell the format of {path.name} from its suffix; use one of "
            f"{', '.join(FORMATS)} or pass format= (--format)."
        )
    return kind


# -- building ---------------------------------------------------------------------------------
def excerpts(
    project: Project | str | PathLike[str],
    *,
    codes: Values = None,
    themes: Values = None,
    attributes: Mapping[str, str | Sequence[str]] | None = None,
    status: Values = "accepted",
    coder: Values = None,
    documents: Values = None,
    template: str | None = None,
    context: int = 0,
    context_chars: int = 0,
    max_chars: int | None = None,
    ellipses: bool = True,
    per_code: int | None = None,
    order: str = "representative",
) -> ExcerptSet:
    """Coded excerpts of a project (a :class:`Project` or a path), grouped by theme then code.

    Filters: ``codes`` and ``themes`` (ids or names; a theme brings all its codes),
    ``attributes`` (``{"setting": "Oakview"}``, a value or a list of values), ``status``
    (``"accepted"`` by default; a list, or ``"all"``), ``coder`` and ``documents``.
    ``template`` makes each attribution (default :data:`DEFAULT_TEMPLATE`; see
    :data:`FIELDS`). ``context=N`` adds the N
    sentences before and after (within the turn), ``context_chars=N`` about N characters
    instead. ``max_chars`` trims long quotes at a word boundary with an ellipsis;
    ``ellipses`` (default True) marks a quote that starts mid-sentence in lower case, or
    stops mid-sentence, with "…" on that side (unless context is shown there).
    ``per_code`` keeps the N most representative excerpts of each code; ``order`` is
    ``"representative"`` (default) or ``"document"``.

    Returns an :class:`ExcerptSet`.
    """
    where = "excerpts()"
    _check_int("context", context, where, minimum=0)
    _check_int("context_chars", context_chars, where, minimum=0)
    if context and context_chars:
        raise ParameterError(
            "Give either 'context' (sentences) or 'context_chars' (characters) to "
            "excerpts(), not both."
        )
    if max_chars is not None:
        _check_int("max_chars", max_chars, where, minimum=20)
    if per_code is not None:
        _check_int("per_code", per_code, where, minimum=1)
    if order not in _ORDERS:
        raise parameter_error("order", where, f"one of {', '.join(_ORDERS)}", order)

    with opened(project) as store:
        selection = select(store, codes=codes, themes=themes, attributes=attributes,
                           status=status, coder=coder, documents=documents, where=where)
        all_documents = list(store.documents)
        # The default names 'setting', which a project may lack: then it is just left out.
        strict = template is not None
        template = DEFAULT_TEMPLATE if template is None else template
        fields = _template_fields(template, attribute_names(all_documents), strict=strict)
        ids = list(selection.documents)
        segments = store.segments(document=ids)
        turns = segments if store.unit == "turn" else store.segments(document=ids, kind="turn")
    book = selection.codebook

    position = {doc_id: i for i, doc_id in enumerate(selection.documents)}
    segment_index = _index_by_document(segments)
    turn_index = _index_by_document(turns)
    spans = merge_codings(selection.codings)
    scores = centrality(spans, selection.documents)

    by_code: dict[str, list[MergedSpan]] = defaultdict(list)
    for span in spans:
        by_code[span.code].append(span)

    made: list[Excerpt] = []
    counts: list[CodeCount] = []
    for code in selection.codes:
        theme = selection.theme_of(code)
        theme_name = selection.name_of(theme) if book and theme in book else theme
        found = by_code.get(code, [])
        ranked = sorted(found, key=lambda s: (
            -len(s.coders), -round(scores[s.key], 9), -(s.confidence or 0.0),
            position[s.document], s.start, s.end))
        chosen = ranked[:per_code] if per_code is not None else ranked
        rank_of = {s.key: i + 1 for i, s in enumerate(ranked)}
        if order == "document":
            chosen = sorted(chosen, key=lambda s: (position[s.document], s.start))
        for span in chosen:
            document = selection.documents[span.document]
            made.append(_excerpt(
                span, document, theme, theme_name, selection.name_of(code),
                template=template, fields=fields,
                segments=segment_index.get(span.document),
                turns=turn_index.get(span.document),
                context=context, context_chars=context_chars, max_chars=max_chars,
                ellipses=ellipses, score=scores[span.key], rank=rank_of[span.key],
            ))
        counts.append(CodeCount(
            code=code, name=selection.name_of(code), theme=theme, theme_name=theme_name,
            excerpts=len(found), interviews=len({s.document for s in found}),
            shown=len(chosen),
        ))

    colours = {}
    for theme in selection.themes():
        colour = selection.colour_of(theme)
        if colour:
            colours[theme] = colour
    options = {"template": template}
    if context:
        options["context"] = f"{context} sentence{'s' if context > 1 else ''} either side"
    if context_chars:
        options["context"] = f"about {context_chars} characters either side"
    if max_chars:
        options["trimmed"] = f"to {max_chars} characters"
    options["order"] = (
        "most representative first (coders agreeing, then TF-IDF centrality within the code)"
        if order == "representative" else "document order"
    )
    if per_code:
        options["cap"] = f"at most {per_code} per code (the most representative)"
    return ExcerptSet(
        project=selection.project,
        excerpts=tuple(made),
        counts=tuple(counts),
        filters=dict(selection.filters),
        options=options,
        codebook=f"{book.name} (version {book.version})" if book is not None else "",
        created=date.today().isoformat(),
        colours=colours,
        interviews=len({s.document for s in spans if s.code in set(selection.codes)}),
        documents=len(selection.documents),
    )


def export_excerpts(
    project: Project | str | PathLike[str],
    path: str | PathLike[str],
    format: str | None = None,
    *,
    overwrite: bool = False,
    **filters: Any,
) -> Path:
    """Write coded excerpts to ``path`` (format from the suffix unless ``format`` is given:
    markdown, html, latex, docx, csv, xlsx). ``filters`` are those of :func:`excerpts`.
    Returns the path written; an existing file is an error unless ``overwrite=True``.
    """
    path = Path(path)
    resolve_format(path, format)
    check_targets([path], overwrite=overwrite, where="Exporting excerpts")
    return excerpts(project, **filters).write(path, format=format, overwrite=overwrite)


def _check_int(name: str, value: Any, where: str, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise parameter_error(name, where, f"an integer >= {minimum}", value)


# -- merging and ranking ----------------------------------------------------------------------
def centrality(
    spans: Sequence[MergedSpan], documents: Mapping[str, Document]
) -> dict[tuple, float]:
    """Mean TF-IDF cosine similarity of each span to the other spans of its code (0 alone)."""
    scores = {span.key: 0.0 for span in spans}
    if len(spans) < 2:
        return scores
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [documents[s.document].text[s.start:s.end] for s in spans]
    try:
        matrix = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(texts)
    except ValueError:  # nothing but stop words: no basis for a ranking
        return scores
    by_code: dict[str, list[int]] = defaultdict(list)
    for i, span in enumerate(spans):
        by_code[span.code].append(i)
    for rows in by_code.values():
        if len(rows) < 2:
            continue
        block = matrix[rows]
        totals = np.asarray(block @ block.sum(axis=0).T).ravel()
        selves = np.asarray(block.multiply(block).sum(axis=1)).ravel()
        for i, total, own in zip(rows, totals, selves, strict=True):
            scores[spans[i].key] = float((total - own) / (len(rows) - 1))
    return scores


def _index_by_document(segments: Sequence[Segment]) -> dict[str, SpanIndex]:
    grouped: dict[str, list[Segment]] = defaultdict(list)
    for segment in segments:
        grouped[segment.document_id].append(segment)
    return {doc: SpanIndex(items) for doc, items in grouped.items()}


def _excerpt(
    span: MergedSpan,
    document: Document,
    theme: str,
    theme_name: str,
    code_name: str,
    *,
    template: str,
    fields: list[str],
    segments: SpanIndex | None,
    turns: SpanIndex | None,
    context: int,
    context_chars: int,
    max_chars: int | None,
    ellipses: bool,
    score: float,
    rank: int,
) -> Excerpt:
    text = document.text[span.start:span.end]
    segment = _best_segment(segments, span.start, span.end)
    values = _field_values(document, segment, code_name, theme_name, span.coders)
    before = after = ""
    low, high = _context_bounds(document.text, turns, span.start, span.end)
    if context or context_chars:
        if context:
            before, after = _sentence_context(document.text, low, high, span.start, span.end,
                                              context)
        else:
            before, after = _character_context(document.text, low, high, span.start,
                                               span.end, context_chars)
        if max_chars:
            before, after = trim_start(before, max_chars), trim_end(after, max_chars)
    quote = text.strip()
    if ellipses:
        quote = _mark_partial(quote, document.text, low, span.start, span.end,
                              before=not before, after=not after)
    if max_chars:
        quote = trim_end(quote, max_chars)
    return Excerpt(
        document=document.id, start=span.start, end=span.end, code=span.code, theme=theme,
        text=text, quote=quote,
        attribution=render_attribution(template, fields, values),
        speaker=segment.speaker if segment is not None else None,
        before=before, after=after, coders=span.coders,
        codings=tuple(sorted(c.id for c in span.codings if c.id is not None)),
        confidence=span.confidence, score=score, rank=rank,
    )


def _best_segment(index: SpanIndex | None, start: int, end: int) -> Segment | None:
    if index is None:
        return None
    hits = index.overlapping(start, end)
    if not hits:
        return None
    return max(hits, key=lambda s: (min(s.end, end) - max(s.start, start), -s.start))


# -- attribution ------------------------------------------------------------------------------
def _template_fields(template: str, attributes: Sequence[str], *,
                     strict: bool = True) -> list[str]:
    """The field names of ``template``, checked; a name nothing provides is an error
    (unless ``strict`` is False)."""
    if not isinstance(template, str):
        raise parameter_error("template", "excerpts()", "a string such as "
                              f"{DEFAULT_TEMPLATE!r}", template)
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ParameterError(
            f"The attribution template {template!r} is not valid ({exc}); write fields as "
            f"{{name}}, e.g. {DEFAULT_TEMPLATE!r}."
        ) from exc
    known = sorted({*FIELDS, *attributes})
    names = []
    for _, name, _, _ in parsed:
        if name is None:
            continue
        if not name.isidentifier():
            raise ParameterError(
                f"The attribution template {template!r} has the field {{{name}}}; fields are "
                f"plain names: {', '.join(known)}."
            )
        if strict and name not in known:
            raise ParameterError(
                f"The attribution template names {{{name}}}, which no document has. "
                f"Fields: {', '.join(known)}."
            )
        names.append(name)
    return names


def _field_values(document: Document, segment: Segment | None, code_name: str,
                  theme_name: str, coders: Sequence[str]) -> dict[str, str]:
    values = {
        "document": document.id,
        "speaker": (segment.speaker if segment else None) or "",
        "role": (segment.role if segment else None) or "",
        "start_time": _clock(segment.start_time if segment else None),
        "end_time": _clock(segment.end_time if segment else None),
        "code": code_name,
        "theme": theme_name,
        "coders": ", ".join(coders),
    }
    for name, value in document.attributes.items():
        if value is not None and str(value).strip() and str(value).lower() != "nan":
            values[name] = str(value).strip()
    return values


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    total = round(seconds)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


_SEPARATORS = ",;|/·–—-"
_SEP_RUN = re.compile(rf"\s*([{_SEPARATORS}])(?:\s*[{_SEPARATORS}])+\s*")
_EDGE = re.compile(rf"^[\s{_SEPARATORS}]+|[\s{_SEPARATORS}]+$")


def render_attribution(template: str, fields: Sequence[str], values: Mapping[str, str]) -> str:
    """Fill ``template`` from ``values``; an empty field drops its separator with it, and a
    part repeated in another (a setting already in the speaker label) is shown once."""
    out, empty = [], False
    for literal, name, spec, conversion in string.Formatter().parse(template):
        out.append(literal)
        if name is None:
            continue
        value = values.get(name, "")
        if conversion in ("r", "a"):
            value = repr(value)
        try:
            rendered = format(value, spec or "")
        except ValueError as exc:
            raise ParameterError(
                f"The attribution template {template!r} has a bad format for {{{name}}}: {exc}."
            ) from exc
        empty = empty or not value
        out.append(rendered)
    text = "".join(out)
    if empty:
        text = re.sub(r"\(\s*\)|\[\s*\]", "", text)
        text = _SEP_RUN.sub(lambda m: f"{m.group(1)} ", text)
        text = _EDGE.sub("", text)
    return _drop_repeated_parts(text.strip())


def _drop_repeated_parts(text: str) -> str:
    # "Sarah, Ash Grove, Ash Grove Academy" -> "Sarah, Ash Grove Academy": a part that
    # another part starts with (same words, case-insensitive) adds nothing.
    parts = [p.strip() for p in text.split(", ")]
    if len(parts) < 2:
        return text
    folded = [p.casefold() for p in parts]
    keep = []
    for i, part in enumerate(folded):
        covered = any(
            j != i and ((other == part and j < i) or (
                other != part and other.startswith(part) and other[len(part):][:1] in " -"))
            for j, other in enumerate(folded)
        )
        if part and not covered:
            keep.append(parts[i])
    return ", ".join(keep)


# -- context and trimming ---------------------------------------------------------------------
# Sentence ends of Latin, Arabic (؟ ۔) and CJK (。！？) script.
_SENTENCE_END = re.compile(r"[.!?…؟۔。！？]+[\"'”’)\]]*(?=\s)")


def _context_bounds(text: str, turns: SpanIndex | None, start: int, end: int) -> tuple[int, int]:
    # Context stays inside the speaker's turn; without turns, inside the paragraph.
    if turns is not None:
        hits = turns.overlapping(start, end)
        if hits:
            return min(hits[0].start, start), max(hits[-1].end, end)
    low = text.rfind("\n\n", 0, start)
    high = text.find("\n\n", end)
    return (0 if low < 0 else low + 2), (len(text) if high < 0 else high)


def _sentence_starts(text: str, low: int, high: int) -> list[int]:
    starts = [low]
    for match in _SENTENCE_END.finditer(text, low, high):
        nxt = match.end()
        while nxt < high and text[nxt].isspace():
            nxt += 1
        if nxt < high:
            starts.append(nxt)
    return starts


def _sentence_context(text: str, low: int, high: int, start: int, end: int,
                      n: int) -> tuple[str, str]:
    starts = _sentence_starts(text, low, high)
    before_starts = [s for s in starts if s <= start]
    begin = before_starts[max(0, len(before_starts) - 1 - n)]
    after_starts = [s for s in starts if s >= end] + [high]
    finish = after_starts[min(n, len(after_starts) - 1)]
    return text[begin:start].strip(), text[end:finish].strip()


def _character_context(text: str, low: int, high: int, start: int, end: int,
                       n: int) -> tuple[str, str]:
    begin = max(low, start - n)
    if begin > low and not text[begin - 1].isspace():
        space = re.search(r"\s", text[begin:start])
        begin = begin + space.end() if space else start
    finish = min(high, end + n)
    if finish < high and not text[finish].isspace():
        space = max((m.start() for m in re.finditer(r"\s", text[end:finish])), default=None)
        finish = end + space if space is not None else end
    before, after = text[begin:start].strip(), text[end:finish].strip()
    if before and begin > low:
        before = f"{ELLIPSIS}{before}"
    if after and finish < high:
        after = f"{after}{ELLIPSIS}"
    return before, after


_COMPLETE_END = re.compile(r"[.!?…؟۔。！？][\"'”’)\]]*$")


def _mark_partial(quote: str, text: str, low: int, start: int, end: int, *,
                  before: bool, after: bool) -> str:
    """Add "…" where the quote visibly starts or stops inside a sentence."""
    if not quote:
        return quote
    if before and not quote.startswith(ELLIPSIS):
        preceding = text[low:start].rstrip()
        first = next((ch for ch in quote if ch.isalpha()), "")
        if preceding and not _COMPLETE_END.search(preceding) and first.islower():
            quote = ELLIPSIS + quote
    if after and not quote.endswith(ELLIPSIS) and not _COMPLETE_END.search(quote):
        quote = quote.rstrip(",;:-–— ") + ELLIPSIS
    return quote


def trim_end(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, ending in "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = max((m.start() for m in re.finditer(r"\s", cut)), default=-1)
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" \t\n,;:-–—") + ELLIPSIS


def trim_start(text: str, limit: int) -> str:
    """``text`` cut from the left to at most ``limit`` characters, starting with "…"."""
    if len(text) <= limit:
        return text
    cut = text[len(text) - limit + 1:]
    space = re.search(r"\s", cut)
    if space and space.start() <= len(cut) // 2:
        cut = cut[space.end():]
    return ELLIPSIS + cut.lstrip(" \t\n,;:-–—")


# -- Markdown ---------------------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#&])")


_MD_LINE_START = re.compile(r"(?m)^(\s*)([-+=]|\d+(?=[.)]\s))")


def _md(text: str) -> str:
    """Text shown as itself in Markdown: no emphasis, links, HTML, lists or headings."""
    return _MD_LINE_START.sub(r"\1\\\2", _MD_SPECIAL.sub(r"\\\1", text))


def _count_phrase(count: CodeCount) -> str:
    excerpts_word = "excerpt" if count.excerpts == 1 else "excerpts"
    interviews_word = "interview" if count.interviews == 1 else "interviews"
    phrase = f"{count.excerpts} {excerpts_word} from {count.interviews} {interviews_word}"
    if count.shown < count.excerpts:
        phrase += f"; {count.shown} shown"
    return phrase


def _markdown(result: ExcerptSet) -> str:
    lines = [f"# Coded excerpts: {_md(result.title)}", ""]
    lines += [f"- **{label}:** {_md(value)}" for label, value in result.header_lines()]
    lines += ["", "| Theme | Code | Excerpts | Interviews | Shown |",
              "|---|---|---:|---:|---:|"]
    lines += [f"| {_md(c.theme_name)} | {_md(c.name)} | {c.excerpts} | {c.interviews} | "
              f"{c.shown} |" for c in result.counts]
    for _theme, theme_name, codes in result.groups():
        lines += ["", f"## {_md(theme_name)}"]
        for count, items in codes:
            lines += ["", f"### {_md(count.name)}", "", f"*{_count_phrase(count)}.*"]
            for excerpt in items:
                lines.append("")
                body = _md(excerpt.quote)
                if excerpt.before:
                    body = f"\\[*{_md(excerpt.before)}*\\] {body}"
                if excerpt.after:
                    body = f"{body} \\[*{_md(excerpt.after)}*\\]"
                paragraphs = [p for p in re.split(r"\n\s*\n", body) if p.strip()]
                for i, paragraph in enumerate(paragraphs):
                    if i:
                        lines.append(">")
                    # Indentation (tabs in transcripts) would make a code block in Markdown.
                    lines += [f"> {line.lstrip()}" for line in paragraph.split("\n")]
                if excerpt.attribution:
                    lines += [">", f"> — {_md(excerpt.attribution)}"]
    return "\n".join(lines) + "\n"


# -- HTML -------------------------------------------------------------------------------------
_CSS = """
body { font-family: Georgia, "Times New Roman", serif; line-height: 1.5; color: #222;
       max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; }
.qc-excerpts h2 { border-bottom: 3px solid var(--theme, #888); padding-bottom: .2rem;
                  margin-top: 2.2rem; }
.qc-excerpts h3 { margin-bottom: .2rem; }
.qc-excerpts .meta { color: #555; font-size: .9rem; }
.qc-excerpts .counts { color: #555; font-style: italic; margin-top: 0; }
.qc-excerpts blockquote { margin: .9rem 0; padding: .4rem 1rem;
                          border-inline-start: 4px solid var(--theme, #888);
                          background: #f7f7f5; }
.qc-excerpts blockquote p { margin: .3rem 0; }
.qc-excerpts .context { color: #6b6b6b; font-style: italic; }
.qc-excerpts footer { text-align: end; font-style: italic; color: #444; }
.qc-excerpts table { border-collapse: collapse; font-size: .9rem; }
.qc-excerpts th, .qc-excerpts td { padding: .15rem .6rem; border-bottom: 1px solid #ddd;
                                   text-align: start; }
.qc-excerpts td.n { text-align: right; }
"""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


_NOTEBOOK_EXCERPTS = 60  # excerpts a notebook cell shows


def _isolated(text: str) -> str:
    return isolated(_esc(text), text)


def _html_body(result: ExcerptSet, limit: int | None = None) -> str:
    # The page's own words are English, so it is left to right; each piece of user text
    # that reads the other way carries dir (blocks) or sits in a <bdi> (inside a sentence).
    out = ['<div class="qc-excerpts" dir="ltr">',
           f"<h1>Coded excerpts: {_isolated(result.title)}</h1>", '<ul class="meta">']
    for label, value in result.header_lines():
        if label == "Filters" and result.filters:  # isolate each value, not "name: value"
            value_html = "; ".join(f"{_esc(k)}: {_isolated(v)}" for k, v in result.filters.items())
        else:
            value_html = _isolated(value)
        out.append(f"<li><strong>{_esc(label)}:</strong> {value_html}</li>")
    out += ["</ul>", "<table>", "<thead><tr><th>Theme</th><th>Code</th><th>Excerpts</th>"
            "<th>Interviews</th><th>Shown</th></tr></thead>", "<tbody>"]
    out += [f"<tr><td{dir_attribute(c.theme_name)}>{_esc(c.theme_name)}</td>"
            f"<td{dir_attribute(c.name)}>{_esc(c.name)}</td>"
            f'<td class="n">{c.excerpts}</td><td class="n">{c.interviews}</td>'
            f'<td class="n">{c.shown}</td></tr>' for c in result.counts]
    out += ["</tbody>", "</table>"]
    shown = 0
    for theme, theme_name, codes in result.groups():
        if limit is not None and shown >= limit:
            break
        colour = result.colours.get(theme)  # validated #rrggbb: safe inside a style
        style = f' style="--theme: {colour}"' if colour else ""
        out += [f'<section class="theme"{style}>',
                f"<h2{dir_attribute(theme_name)}>{_esc(theme_name)}</h2>"]
        for count, items in codes:
            if limit is not None and shown >= limit:
                break
            out += ['<section class="code">',
                    f"<h3{dir_attribute(count.name)}>{_esc(count.name)}</h3>",
                    f'<p class="counts">{_esc(_count_phrase(count))}.</p>']
            for excerpt in items:
                shown += 1
                paragraphs = [p for p in re.split(r"\n\s*\n", excerpt.quote) if p.strip()]
                rendered = [_esc(p).replace("\n", "<br>") for p in paragraphs] or [""]
                # The quote sets the direction of the whole block (its border and
                # alignment follow); context and attribution keep their own.
                direction = "rtl" if text_direction(excerpt.quote) == "rtl" else "ltr"
                if excerpt.before:
                    rendered[0] = (f'<span class="context"'
                                   f'{dir_attribute(excerpt.before, direction)}>'
                                   f"[{_esc(excerpt.before)}]</span> {rendered[0]}")
                if excerpt.after:
                    rendered[-1] = (f'{rendered[-1]} <span class="context"'
                                    f'{dir_attribute(excerpt.after, direction)}>'
                                    f"[{_esc(excerpt.after)}]</span>")
                out.append(f"<blockquote{dir_attribute(excerpt.quote)}>")
                out += [f"<p>{p}</p>" for p in rendered]
                if excerpt.attribution:
                    out.append(f"<footer{dir_attribute(excerpt.attribution, direction)}>— "
                               f"{_esc(excerpt.attribution)}</footer>")
                out.append("</blockquote>")
            out.append("</section>")
        out.append("</section>")
    if limit is not None and shown < len(result.excerpts):  # say where the rest are
        out.append(f'<p class="counts">The first {shown:,} of {len(result.excerpts):,} '
                   "excerpts are shown here (whole codes); write() or to_frame() gives them "
                   "all.</p>")
    out.append("</div>")
    return "\n".join(out)


def _html(result: ExcerptSet, *, standalone: bool, limit: int | None = None) -> str:
    body = _html_body(result, limit)
    if not standalone:
        return f"<style>{_CSS}</style>\n{body}"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>Coded excerpts: {_esc(result.title)}</title>\n<style>{_CSS}</style>\n"
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


# -- LaTeX ------------------------------------------------------------------------------------
_LATEX_SPECIAL = {
    "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
    "…": r"\ldots{}", "‘": "`", "’": "'", "“": "``", "”": "''", "–": "--", "—": "---",
    "\u00a0": "~", "\u00ad": r"\-", "•": r"\textbullet{}", "€": r"\texteuro{}",
    "\t": " ",
}


def latex_escape(text: str, *, unicode: bool = False) -> str:
    """``text`` safe inside a LaTeX paragraph: the special characters escaped, straight
    quotes turned into LaTeX quotes, and (unless ``unicode=True``) characters pdflatex
    cannot set written as ``[their Unicode name]``."""
    out = []
    for i, ch in enumerate(text):
        previous = text[i - 1] if i else " "
        if ch in _LATEX_SPECIAL:
            out.append(_LATEX_SPECIAL[ch])
        elif ch in "\"'":
            opening = previous.isspace() or previous in "([{-—–/"
            if ch == '"':
                out.append("``" if opening else "''")
            else:
                out.append("`" if opening else "'")
        elif ch == "\n" or ch == "\r":
            out.append("\n")
        elif unicodedata.category(ch) in ("Cc", "Cs"):
            continue  # control characters never belong in a quote
        elif unicode or (ord(ch) < 0x17F and ch != "\u0149"):
            # Latin-1 and Latin Extended-A: pdflatex sets them (best with T1 fontenc).
            out.append(ch)
        elif unicodedata.category(ch) in ("Mn", "Me", "Cf") or ch in "\ufe0f\u200d":
            continue  # joiners and variation selectors of an emoji already named
        else:
            name = unicodedata.name(ch, f"U+{ord(ch):04X}").lower()
            out.append(f"[{name}]")
    text = "".join(out)
    # After \\ (a table row) or \item a "[" would open an optional argument.
    return "{}" + text if text.startswith("[") else text


def _latex_paragraphs(text: str, *, unicode: bool) -> str:
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    # A lone newline is a space to LaTeX; blank lines stay paragraph breaks.
    return "\n\n".join(latex_escape(p.strip(), unicode=unicode) for p in paragraphs)


def _latex(result: ExcerptSet, *, unicode: bool) -> str:
    def esc(value: str, *, isolate: bool = True) -> str:
        """A name or value inside a sentence: right-to-left ones in \\foreignlanguage."""
        escaped = latex_escape(value, unicode=unicode)
        if isolate and unicode and text_direction(value) == "rtl":
            return f"\\foreignlanguage{{{_rtl_language(value)}}}{{{escaped}}}"
        return escaped

    lines = [f"% Coded excerpts: {result.title}. Written by qualcode {_version()}; \\input it."]
    if unicode:
        lines.append("% Needs \\usepackage{booktabs} (table of counts).")
        lines += _latex_preamble_advice(result)
    else:
        lines += ["% Needs \\usepackage{booktabs} (table of counts); with pdflatex, "
                  "\\usepackage[T1]{fontenc} is advised.",
                  "% Characters pdflatex cannot set (emoji, most non-Latin scripts) are "
                  "written as [their Unicode name]."]
    lines.append("\\begin{itemize}")
    for label, value in result.header_lines():
        lines.append(f"  \\item \\textbf{{{esc(label)}:}} {esc(value)}")
    lines += ["\\end{itemize}", "", "\\begin{table}[htbp]", "\\centering",
              "\\caption{Excerpts per code.}", "\\begin{tabular}{llrrr}", "\\toprule",
              "Theme & Code & Excerpts & Interviews & Shown \\\\", "\\midrule"]
    previous = None
    for c in result.counts:
        theme = esc(c.theme_name) if c.theme != previous else ""
        if previous is not None and c.theme != previous:
            lines.append("\\addlinespace")
        previous = c.theme
        lines.append(f"{theme} & {esc(c.name)} & {c.excerpts} & {c.interviews} & "
                     f"{c.shown} \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
    for _theme, theme_name, codes in result.groups():
        lines += ["", f"\\subsection*{{{esc(theme_name)}}}"]
        for count, items in codes:
            lines += ["", f"\\subsubsection*{{{esc(count.name)}}}",
                      f"\\textit{{{esc(_count_phrase(count))}.}}"]
            for excerpt in items:
                body = _latex_paragraphs(excerpt.quote, unicode=unicode)
                rtl = unicode and text_direction(excerpt.quote) == "rtl"
                # inside a right-to-left quote its context is already in its language
                if excerpt.before:
                    body = f"[\\textit{{{esc(excerpt.before, isolate=not rtl)}}}] {body}"
                if excerpt.after:
                    body = f"{body} [\\textit{{{esc(excerpt.after, isolate=not rtl)}}}]"
                if rtl:  # babel and polyglossia both set the direction of otherlanguage
                    language = _rtl_language(excerpt.quote)
                    body = (f"\\begin{{otherlanguage}}{{{language}}}\n{body}\n"
                            "\\end{otherlanguage}")
                lines += ["\\begin{quote}", body]
                if excerpt.attribution:
                    lines.append(f"\\par\\hfill--- {esc(excerpt.attribution)}")
                lines.append("\\end{quote}")
    return "\n".join(lines) + "\n"


def _user_texts(result: ExcerptSet) -> Iterator[str]:
    yield result.title
    for _, value in result.header_lines():
        yield value
    for count in result.counts:
        yield count.name
        yield count.theme_name
    for excerpt in result.excerpts:
        yield from (excerpt.quote, excerpt.before, excerpt.after, excerpt.attribution)


def _scripts_pdflatex_cannot_set(result: ExcerptSet) -> list[str]:
    """Scripts ("Arabic", "Hebrew", "Greek", ...) of the letters pdflatex cannot set."""
    scripts: set[str] = set()
    for text in _user_texts(result):
        for ch in text:
            if ord(ch) >= 0x17F and unicodedata.category(ch).startswith("L"):
                word = unicodedata.name(ch, "OTHER").split()[0]
                scripts.add({"CJK": "CJK", "LATIN": "extended Latin"}.get(
                    word, word.capitalize()))
    return sorted(scripts)


def _rtl_languages(result: ExcerptSet) -> list[str]:
    """The babel/polyglossia languages of the right-to-left text in ``result``."""
    return sorted({_rtl_language(text) for text in _user_texts(result)
                   if text_direction(text) == "rtl"})


# Letters that tell the languages written in Arabic script apart (a guess; the .tex says so).
_URDU_LETTERS = set("ٹڈڑںے")
_PERSIAN_LETTERS = set("پچژگکی")
_ARABIC_LETTERS = set("ةيىك")
_RTL_FONTS = {"arabic": "Amiri", "persian": "Amiri", "urdu": "Noto Nastaliq Urdu",
              "hebrew": "Noto Serif Hebrew"}


def _rtl_language(text: str) -> str:
    """``"hebrew"``, ``"urdu"``, ``"persian"`` or ``"arabic"``: the language names babel and
    polyglossia share, guessed from the letters."""
    hebrew = sum(1 for ch in text if "\u0590" <= ch <= "\u05ff" or "\ufb1d" <= ch <= "\ufb4f")
    arabic_script = sum(1 for ch in text if "\u0600" <= ch <= "\u06ff"
                        or "\ufb50" <= ch <= "\ufeff")
    if hebrew >= arabic_script:
        return "hebrew"
    letters = set(text)
    if letters & _URDU_LETTERS:
        return "urdu"
    if letters & _PERSIAN_LETTERS and not letters & _ARABIC_LETTERS:
        return "persian"
    return "arabic"


def _latex_preamble_advice(result: ExcerptSet) -> list[str]:
    """Comment lines: the engine, and a preamble for babel (lualatex) and polyglossia
    (xelatex) that loads the right-to-left languages of the text with a font for each."""
    scripts = _scripts_pdflatex_cannot_set(result)
    languages = _rtl_languages(result)
    if not languages:
        if not scripts:
            return []
        return [f"% The excerpts hold {_and(scripts)} letters: compile with lualatex or xelatex "
                "(not pdflatex), with \\usepackage{fontspec} and a font that has them."]
    lines = [f"% The excerpts hold right-to-left text ({', '.join(languages)}): compile with "
             "lualatex or xelatex,",
             "% not pdflatex, with a font that has its letters. lualatex sets Latin words "
             "inside right-to-left",
             "% quotes best. A preamble for lualatex:",
             "%   \\usepackage[english,bidi=basic]{babel}"]
    lines += [f"%   \\babelprovide[import]{{{lang}}}\\babelfont[{lang}]{{rm}}"
              f"[Renderer=HarfBuzz]{{{_RTL_FONTS[lang]}}}" for lang in languages]
    lines += ["% or for xelatex:",
              "%   \\usepackage{polyglossia}\\setmainlanguage{english}"
              f"\\setotherlanguages{{{','.join(languages)}}}"]
    lines += [f"%   \\newfontfamily\\{lang}font[Script="
              f"{'Hebrew' if lang == 'hebrew' else 'Arabic'}]{{{_RTL_FONTS[lang]}}}"
              for lang in languages]
    lines += ["% Right-to-left quotes are in otherlanguage environments, names in "
              "\\foreignlanguage; the",
              "% language (arabic, persian, urdu or hebrew) is guessed from the letters: "
              "change it if it is wrong."]
    return lines


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


# -- DOCX -------------------------------------------------------------------------------------
def _docx(result: ExcerptSet, path: Path) -> None:
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    document = docx.Document()
    document.core_properties.title = f"Coded excerpts: {result.title}"
    document.core_properties.author = "qualcode"
    document.add_heading(f"Coded excerpts: {result.title}", level=0)
    for label, value in result.header_lines():
        paragraph = document.add_paragraph()
        paragraph.add_run(f"{label}: ").bold = True
        paragraph.add_run(_docx_text(value))
        paragraph.paragraph_format.space_after = Pt(0)
        _docx_direction(paragraph, label)  # our label leads: the paragraph stays ltr

    table = document.add_table(rows=1, cols=5)
    table.style = "Light List Accent 1"
    for cell, heading in zip(table.rows[0].cells,
                             ("Theme", "Code", "Excerpts", "Interviews", "Shown"), strict=True):
        cell.text = heading
    for c in result.counts:
        cells = table.add_row().cells
        for i, value in enumerate((c.theme_name, c.name, c.excerpts, c.interviews, c.shown)):
            cells[i].text = _docx_text(str(value))
            if i >= 2:
                cells[i].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
            else:
                _docx_direction(cells[i].paragraphs[0], str(value))

    grey = RGBColor(0x6B, 0x6B, 0x6B)
    for _theme, theme_name, codes in result.groups():
        _docx_direction(document.add_heading(_docx_text(theme_name), level=1), theme_name)
        for count, items in codes:
            _docx_direction(document.add_heading(_docx_text(count.name), level=2), count.name)
            document.add_paragraph().add_run(f"{_count_phrase(count)}.").italic = True
            for excerpt in items:
                quote = document.add_paragraph(style="Quote")
                if excerpt.before:
                    run = quote.add_run(f"[{_docx_text(excerpt.before)}] ")
                    run.italic, run.font.color.rgb = True, grey
                quote.add_run(_docx_text(excerpt.quote))
                if excerpt.after:
                    run = quote.add_run(f" [{_docx_text(excerpt.after)}]")
                    run.italic, run.font.color.rgb = True, grey
                if excerpt.attribution:
                    quote.add_run().add_break()
                    quote.add_run(f"— {_docx_text(excerpt.attribution)}")
                _docx_direction(quote, excerpt.quote)
    document.save(str(path))


def _docx_direction(paragraph: Any, text: str) -> None:
    """Mark ``paragraph`` right to left (``w:bidi``) when ``text``, what it chiefly holds,
    reads that way, and each run of right-to-left text ``w:rtl``.

    Word does not guess a paragraph's direction: without ``w:bidi`` an Arabic or Hebrew
    quote is set left-aligned with its full stop at the wrong end. ``w:rtl`` makes Word
    treat a run's numbers and punctuation as right to left and use its complex-script
    formatting (hence ``w:iCs`` for italic context).
    """
    from docx.oxml import OxmlElement

    if text_direction(text) == "rtl":
        properties = paragraph._p.get_or_add_pPr()
        if properties.find(_W_BIDI) is None:
            # w:bidi sits before these in the schema's sequence of paragraph properties
            properties.insert_element_before(OxmlElement("w:bidi"), *_AFTER_BIDI)
    for run in paragraph.runs:
        if text_direction(run.text) == "rtl":
            run.font.rtl = True
            if run.italic:
                run.font.cs_italic = True
            if run.bold:
                run.font.cs_bold = True


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_W_BIDI = f"{_W}bidi"
_AFTER_BIDI = ("w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind",
               "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
               "w:textDirection", "w:textAlignment", "w:textboxTightWrap",
               "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange")


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _docx_text(text: str) -> str:
    # Word's XML cannot hold control characters; a transcript should not have any anyway.
    return _XML_ILLEGAL.sub("", text)


# -- XLSX -------------------------------------------------------------------------------------
def _xlsx(result: ExcerptSet, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Excerpts"
    letters = frame_sheet(sheet, result.to_frame(), {
        "quote": 80, "text": 60, "attribution": 28, "before": 40, "after": 40,
        "code_name": 26, "theme_name": 18}, 12)
    for name in ("quote", "text", "before", "after"):
        for cell in sheet[letters[name]][1:] if name in letters else ():
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    save_workbook(workbook, path, counts=result.counts_frame(), about=result.header_lines())


def save_workbook(workbook: Any, path: Path, *, counts: Any,
                  about: Sequence[tuple[str, str]]) -> None:
    """Add the Counts (a DataFrame) and About (field, value) sheets, make every sheet's
    header bold and frozen, and save."""
    from openpyxl.styles import Font

    frame_sheet(workbook.create_sheet("Counts"), counts, {}, 14)
    write_sheet(workbook.create_sheet("About"), ["field", "value"], about)
    for sheet in workbook.worksheets:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
    workbook.save(str(path))


def frame_sheet(sheet: Any, frame: Any, widths: Mapping[str, float],
                default_width: float) -> dict[str, str]:
    """A DataFrame into an openpyxl sheet (see :func:`write_sheet`), each column as wide as
    ``widths`` says (else ``default_width``); returns each column's letter, for styling."""
    write_sheet(sheet, list(frame.columns), frame.itertuples(index=False))
    letters = {}
    for i, name in enumerate(frame.columns, start=1):
        letter = letters[name] = sheet.cell(row=1, column=i).column_letter
        sheet.column_dimensions[letter].width = widths.get(name, default_width)
    return letters


def write_sheet(sheet: Any, header: Sequence[str], rows: Any) -> None:
    """Rows into an openpyxl sheet; text always stays text (never a formula)."""
    sheet.append([str(h) for h in header])
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            if value is None or value != value:  # None or NaN: an empty cell
                continue
            cell = sheet.cell(row=r, column=c)
            if isinstance(value, str):
                # A quote starting with "=" must not become a formula Excel would run.
                cell.value = _XML_ILLEGAL.sub("", value)
                cell.data_type = "s"
            else:
                cell.value = value.item() if hasattr(value, "item") else value


def _version() -> str:
    from qualcode import __version__

    return __version__
