"""Text search over a project, shown as keyword in context, and coding every hit.

What NVivo calls a Text Search Query, ATLAS.ti a Text Search and MAXQDA a Lexical Search:
find a word, a phrase or a pattern in every segment of a project, see each hit with the
words around it, count hits by document, speaker, code or case attribute, and code the hits
(autocoding from a search).

Three ways to match (``match=``):

- ``"words"`` (default): words compared on their lemmas, as the rules coder matches a
  codebook's keywords (:mod:`qualcode.nlp`), so ``visit`` finds "visits", "visited" and
  "visiting" but not "visitor". Several words are a phrase, matched across punctuation
  and line breaks (``home visit`` finds "home-visit" and "home visits").
- ``"exact"``: the text as written, ignoring case, as whole words at its edges (``tea``
  does not find "team"); spaces match any run of spaces or line breaks, and straight and
  curly apostrophes match each other.
- ``"regex"``: a Python regular expression, case ignored as in a codebook's patterns
  (``(?-i:...)`` to heed it), matched in each segment on its own: ``^`` and ``$`` are the
  start and end of a segment (``(?m)`` for each of its lines).

In ``words`` and ``exact`` queries an upper-case ``OR`` between words separates
alternatives: ``home visit OR doorstep``. Alternatives that overlap are each a hit
("home visit OR visit day" finds both in "home visit day"); one that lies inside a longer
hit is not ("visit" in "home visit").

Only segments are searched (the speaker labels between turns are not), and, as the coders
do, the interviewer's turns are left out unless ``interviewer=True`` or the interviewer is
named in ``speakers``; the result says how many hits that left out.

>>> import qualcode as qc
>>> hits = qc.search(project, "home visit OR doorstep",
...                  attributes={"setting": "Oakview"})          # doctest: +SKIP
>>> hits                          # keyword in context, in Jupyter  # doctest: +SKIP
>>> hits.counts("document")                                      # doctest: +SKIP
>>> hits.code(project, "doorstep_wait", by="anna", status="suggested")  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualcode._text import counted
from qualcode.errors import ParameterError, parameter_error
from qualcode.export._common import (
    SpanIndex,
    Values,
    as_list,
    atomic_write,
    check_targets,
    opened,
    select,
)
from qualcode.model import Codebook, Coding, Segment

if TYPE_CHECKING:
    from qualcode.project import Project

__all__ = ["MATCHES", "Hit", "SearchCoding", "SearchResult", "check_output", "search"]

PathArg = str | PathLike[str]

#: The ways a query can match, for ``match=``.
MATCHES: tuple[str, ...] = ("words", "exact", "regex")
#: What the codings of :meth:`SearchResult.code` cover: each hit, or each segment with one.
UNITS: tuple[str, ...] = ("hit", "segment")
#: The statuses :meth:`SearchResult.code` stores.
CODE_STATUSES: tuple[str, ...] = ("accepted", "suggested")
#: Rows a notebook display shows before saying how many more there are.
MAX_ROWS = 50
#: How long a regular expression may run on one segment before the search stops.
REGEX_SECONDS = 10.0

# An upper-case OR standing alone ("a OR OR b" has an empty alternative between the two)
_OR = re.compile(r"(?<!\S)OR(?!\S)")
_SPACE = re.compile(r"\s+")
_APOSTROPHE = re.compile("['’]")
_APOSTROPHES = "['’]"
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})  # as the rules coder
_BATCH = 2000  # segments lemmatised together (as the rules coder does)
_FORMATS = {".csv": "csv", ".xlsx": "xlsx"}


@dataclass(frozen=True)
class Hit:
    """One place the query matched: ``text`` is ``document.text[start:end]``.

    ``segment`` is the index of the segment (turn) it is in, within its document;
    ``left`` and ``right`` are up to ``context`` characters of that segment around the hit
    (spaces and line breaks squashed, no word cut in half); ``term`` is the alternative of
    the query that matched (the query itself for a regular expression); ``codes`` the
    codes present in the segment (any coding of them overlapping it, among the codings the
    search's ``status`` and ``coder`` select).
    """

    document: str
    segment: int
    speaker: str | None
    start: int
    end: int
    text: str
    left: str
    right: str
    term: str
    segment_start: int
    segment_end: int
    codes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"document": self.document, "segment": self.segment, "speaker": self.speaker,
                "start": self.start, "end": self.end, "left": self.left, "text": self.text,
                "right": self.right, "term": self.term, "codes": list(self.codes)}


@dataclass(frozen=True)
class SearchCoding:
    """What :meth:`SearchResult.code` stored: ``added`` new codings (their ``ids``), and
    ``existing`` that the coder already had (the same code on the same words or on words
    around them, in any status: a person's earlier decision is kept)."""

    code: str
    coder: str
    status: str
    unit: str
    added: int
    existing: int
    ids: tuple[int, ...] = ()

    def __str__(self) -> str:
        there = f"; {counted(self.existing, 'was', 'were')} there already" if self.existing \
            else ""
        return (f"Coded {counted(self.added + self.existing, self.unit)} as '{self.code}' "
                f"(by {self.coder}, {self.status}): {self.added:,} added{there}.")

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "coder": self.coder, "status": self.status,
                "unit": self.unit, "added": self.added, "existing": self.existing,
                "ids": list(self.ids)}


@dataclass(frozen=True)
class SearchResult:
    """The hits of :func:`search`, in document then text order.

    ``len(result)`` and iteration give the :class:`Hit` values; :meth:`to_frame` one row
    per hit; :meth:`counts` hits per document, speaker, term, code or case attribute;
    :meth:`write` a CSV or XLSX file; :meth:`code` codes every hit. In Jupyter the result
    shows as a keyword-in-context table.
    """

    query: str
    match: str
    hits: tuple[Hit, ...]
    terms: tuple[str, ...]
    project: str
    context: int
    documents: tuple[str, ...]  # the documents searched, in project order
    segments_searched: int
    interviewer_hits: int  # hits in interviewer turns that were left out
    filters: Mapping[str, str] = field(default_factory=dict)
    codebook: Codebook | None = field(default=None, repr=False, compare=False)
    attributes: Mapping[str, Mapping[str, str]] = field(
        default_factory=dict, repr=False, compare=False)  # document -> case attributes

    def __len__(self) -> int:
        return len(self.hits)

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def __repr__(self) -> str:
        return (f"<SearchResult {self.query!r} ({self.match}): "
                f"{counted(len(self.hits), 'hit')} in "
                f"{counted(len({h.document for h in self.hits}), 'document')}>")

    def __str__(self) -> str:
        return self.to_text()

    # -- summaries ---------------------------------------------------------------------------
    def summary(self) -> str:
        """One line: how many hits, in how many segments and documents, and what was left
        out (``"12 hits in 10 segments of 4 documents (of 23 searched)."``)."""
        segments = len({(h.document, h.segment) for h in self.hits})
        documents = len({h.document for h in self.hits})
        line = (f"{counted(len(self.hits), 'hit')} in {counted(segments, 'segment')} of "
                f"{counted(documents, 'document')} ({len(self.documents):,} searched).")
        if self.interviewer_hits:
            line += (f" {counted(self.interviewer_hits, 'more hit')} in the interviewer's "
                     "turns, left out (interviewer=True, --interviewer, to include them).")
        return line

    def describe(self) -> str:
        """What was searched: the query, how it matched, and the filters."""
        how = {"words": "words, on lemmas", "exact": "exact text, case ignored",
               "regex": "regular expression, case ignored"}[self.match]
        filters = "; ".join(f"{k}: {v}" for k, v in self.filters.items())
        return f"{self.query!r} ({how})" + (f"; {filters}" if filters else "")

    # -- tables ------------------------------------------------------------------------------
    def to_frame(self):  # -> pandas.DataFrame
        """One row per hit: document, segment, speaker, start, end, left, text, right,
        term and codes (the codes present in the segment, comma-separated)."""
        import pandas as pd

        columns = ["document", "segment", "speaker", "start", "end", "left", "text", "right",
                   "term", "codes"]
        return pd.DataFrame(
            [(h.document, h.segment, h.speaker, h.start, h.end, h.left, h.text, h.right,
              h.term, ", ".join(h.codes)) for h in self.hits],
            columns=columns,
        )

    def counts(self, by: str = "document"):  # -> pandas.DataFrame
        """Hits, segments with a hit and documents with a hit per ``by``: ``"document"``
        (every document searched, with none too), ``"speaker"``, ``"term"`` (each
        alternative of the query), ``"code"`` (the codes present in the hits' segments; a
        hit counts for each of them) or a case attribute (``"setting"``)."""
        import pandas as pd

        keys = self._keys(by)
        hits: dict[Any, int] = dict.fromkeys(self.documents, 0) if by == "document" else {}
        segments: dict[Any, set[tuple[str, int]]] = {}
        documents: dict[Any, set[str]] = {}
        for hit in self.hits:
            for key in keys(hit):
                hits[key] = hits.get(key, 0) + 1
                segments.setdefault(key, set()).add((hit.document, hit.segment))
                documents.setdefault(key, set()).add(hit.document)
        order = list(hits)
        if by == "code":
            position = {c.id: i for i, c in enumerate(self.codebook or ())}
            order.sort(key=lambda c: (position.get(c, len(position)), c))
        rows = [(key, hits[key], len(segments.get(key, ())), len(documents.get(key, ())))
                for key in order]
        frame = pd.DataFrame(rows, columns=[by, "hits", "segments", "documents"])
        if by == "code":
            book = self.codebook
            frame.insert(1, "name", [book.get(c).name if book is not None and c in book
                                     else c for c in frame["code"]])
        if by == "document":
            frame = frame.drop(columns="documents")
        return frame

    def _keys(self, by: str):
        if not isinstance(by, str):
            raise parameter_error("by", "SearchResult.counts()",
                                  "'document', 'speaker', 'term', 'code' or a case attribute",
                                  by)
        if by in ("document", "speaker", "term"):
            return lambda hit: (getattr(hit, by) or "",)
        if by == "code":
            return lambda hit: hit.codes
        names = sorted({k for attrs in self.attributes.values() for k in attrs})
        if by not in names:
            raise ParameterError(
                f"The 'by' parameter of SearchResult.counts() must be 'document', 'speaker', "
                f"'term', 'code' or a case attribute ({', '.join(names) or 'none'}). Got "
                f"{by!r} instead.")
        return lambda hit: (str(self.attributes.get(hit.document, {}).get(by, "")),)

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain values (what ``qualcode search --json`` prints)."""
        return {
            "query": self.query,
            "match": self.match,
            "project": self.project,
            "filters": dict(self.filters),
            "count": len(self.hits),
            "segments": len({(h.document, h.segment) for h in self.hits}),
            "documents": len({h.document for h in self.hits}),
            "documents_searched": len(self.documents),
            "segments_searched": self.segments_searched,
            "interviewer_hits_left_out": self.interviewer_hits,
            "hits": [h.to_dict() for h in self.hits],
        }

    # -- displays ----------------------------------------------------------------------------
    def to_text(self, max_rows: int | None = 20, width: int = 100) -> str:
        """Plain text: the summary, then one line per hit with the hit in [brackets]."""
        shown = self.hits if max_rows is None else self.hits[:max_rows]
        lines = [f"Search {self.describe()}: {self.summary()}"]
        side = max(10, (width - 30) // 2)
        for hit in shown:
            lines.append(f"{hit.document} {hit.speaker or '-'}: {_tail(hit.left, side):>{side}}"
                         f"[{_squash(hit.text)}]{_head(hit.right, side)}")
        if len(shown) < len(self.hits):
            lines.append(f"... and {len(self.hits) - len(shown):,} more")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_html(self, max_rows: int | None = MAX_ROWS, *, style: bool = True) -> str:
        """The keyword-in-context table for a notebook: hits aligned on the keyword,
        highlighted; at most ``max_rows`` rows (None: all), then how many more."""
        from qualcode.display import STYLE, _bdi, _e

        if max_rows is not None and (not isinstance(max_rows, int) or max_rows < 0):
            raise parameter_error("max_rows", "SearchResult.to_html()",
                                  "a whole number >= 0 or None", max_rows)
        shown = self.hits if max_rows is None else self.hits[:max_rows]
        out = [STYLE + _KWIC_STYLE if style else "", '<div class="qc qc-kwic" dir="ltr">',
               f'<div class="qc-head"><b>Search</b> {_e(self.describe())}</div>',
               f'<div class="qc-meta">{_e(self.summary())}</div>']
        if shown:
            out.append('<div class="qc-scroll"><table class="qc-table"><thead><tr>'
                       '<th scope="col">#</th><th scope="col">document</th>'
                       '<th scope="col" class="qc-left">before</th><th scope="col">hit</th>'
                       '<th scope="col">after</th></tr></thead><tbody>')
            for n, hit in enumerate(shown, 1):
                speaker = (f'<br><span class="qc-meta">{_bdi(hit.speaker)}</span>'
                           if hit.speaker else "")
                out.append(
                    f'<tr data-document="{_e(hit.document)}" data-start="{hit.start}">'
                    f'<td class="qc-n">{n}</td>'
                    f'<td class="qc-document">{_bdi(hit.document)}{speaker}</td>'
                    f'<td class="qc-left qc-context">{_e(hit.left)}</td>'
                    f'<td class="qc-keyword"><mark class="qc-hit" title="characters '
                    f'{hit.start}-{hit.end}">{_e(_squash(hit.text))}</mark></td>'
                    f'<td class="qc-right qc-context">{_e(hit.right)}</td></tr>')
            out.append("</tbody></table></div>")
        if len(shown) < len(self.hits):
            out.append(f'<div class="qc-more">… and {len(self.hits) - len(shown):,} more '
                       "(result.to_frame() has every hit)</div>")
        out.append("</div>")
        return "".join(out)

    # -- files -------------------------------------------------------------------------------
    def write(self, path: PathArg, *, format: str | None = None,
              overwrite: bool = False) -> Path:
        """Write one row per hit to ``path`` (.csv, or .xlsx with sheets of hits, counts per
        document and what was searched); ``format`` (``"csv"``/``"xlsx"``) defaults to the
        suffix. An existing file is an error unless ``overwrite=True``."""
        path = Path(path)
        kind = check_output(path, format=format, overwrite=overwrite)
        if kind == "csv":
            return atomic_write(path, lambda tmp: self.to_frame().to_csv(
                tmp, index=False, encoding="utf-8", lineterminator="\n"))
        return atomic_write(path, self._xlsx)

    def _xlsx(self, path: Path) -> None:
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font

        from qualcode.export.excerpts import frame_sheet, save_workbook

        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "Hits"
        letters = frame_sheet(sheet, self.to_frame(), {
            "document": 16, "left": 50, "text": 24, "right": 50, "term": 18, "codes": 30,
            "speaker": 14}, 9)
        for cell in sheet[letters["left"]][1:]:  # hits aligned on the keyword, as on screen
            cell.alignment = Alignment(horizontal="right")
        for cell in sheet[letters["text"]][1:]:
            cell.font = Font(bold=True)
        save_workbook(workbook, path, counts=self.counts("document"), about=self._about())

    def _about(self) -> list[tuple[str, str]]:
        from qualcode import __version__
        from qualcode.model import now_iso

        return [("project", self.project), ("query", self.query), ("match", self.match),
                *((f"filter: {k}", v) for k, v in self.filters.items()),
                ("context", f"{self.context} characters"), ("summary", self.summary()),
                ("written", now_iso()), ("qualcode", __version__)]

    # -- coding ------------------------------------------------------------------------------
    def code(self, project: Project | PathArg, code: str, *, by: str | None = None,
             status: str = "accepted", unit: str = "hit") -> SearchCoding:
        """Code every hit (``unit="hit"``) or every segment holding one (``"segment"``)
        with ``code`` (an id or name in the project's codebook), as ``by``'s codings
        (default ``$QUALCODE_CODER``) with ``status`` ``"accepted"`` or ``"suggested"``
        (to review later), method ``search`` and a reason naming the query.

        One transaction. A hit (or segment) ``by`` has already coded with ``code``, on
        those words or on words around them, in any status, is not coded again: a rerun
        adds nothing, a rejection stands, and a hit inside a passage the coder coded (or a
        segment coded before with ``unit="segment"``) is not a second coding of it.
        Returns a :class:`SearchCoding` saying how many were added and how many were there
        already.
        """
        from qualcode.manual import _resolve_code, person

        where = "SearchResult.code()"
        who = person(by, where, parameter="by", option="--by")
        if status not in CODE_STATUSES:
            raise parameter_error("status", where, "'accepted' or 'suggested'", status)
        if unit not in UNITS:
            raise parameter_error("unit", where, "'hit' or 'segment'", unit)
        with opened(project) as store:
            code_id = _resolve_code(store, code, new_code=False, where=where)
            self._check_texts(store)
            spans: dict[tuple[str, int, int], list[Hit]] = {}
            for hit in self.hits:
                key = ((hit.document, hit.start, hit.end) if unit == "hit"
                       else (hit.document, hit.segment_start, hit.segment_end))
                spans.setdefault(key, []).append(hit)
            held = _held(store, code_id, who, {doc for doc, _, _ in spans})
            codings = [Coding(doc, start, end, code_id, coder=who, method="search",
                              status=status, reason=self._reason(hits))
                       for (doc, start, end), hits in spans.items()
                       if not (doc in held and any(
                           c.start <= start and end <= c.end
                           for c in held[doc].overlapping(start, end)))]
            new_ids = store.add_codings(codings) if codings else []
        return SearchCoding(code_id, who, status, unit, added=len(new_ids),
                            existing=len(spans) - len(new_ids), ids=tuple(new_ids))

    def _reason(self, hits: Sequence[Hit]) -> str:
        words = list(dict.fromkeys(_squash(h.text) for h in hits))
        quoted = "; ".join(f'"{w}"' for w in words[:5]) + ("; …" if len(words) > 5 else "")
        return f"matched {quoted} (text search, {self.match}: {self.query})"

    def _check_texts(self, store: Project) -> None:
        """Refuse hits found in another project, or before the text changed."""
        texts: dict[str, str] = {}
        for hit in self.hits:
            if hit.document not in texts:
                texts[hit.document] = store.documents[hit.document].text  # unknown: NotFound
            if texts[hit.document][hit.start : hit.end] != hit.text:
                raise ParameterError(
                    f"The hit '{_squash(hit.text)}' at characters {hit.start}-{hit.end} of "
                    f"'{hit.document}' is not in {store.path}'s text of that document: the "
                    "hits come from another project or an earlier version. Search this "
                    "project again, then code the hits.")


_KWIC_STYLE = """<style>
.qc-kwic .qc-scroll{overflow-x:auto}
.qc-kwic td.qc-left,.qc-kwic th.qc-left{text-align:end}
.qc-kwic td.qc-left,.qc-kwic td.qc-keyword,.qc-kwic td.qc-right{white-space:pre;
font-family:Georgia,"Times New Roman",serif;font-size:14px}
.qc-kwic td.qc-left{padding-right:0}
.qc-kwic td.qc-keyword{padding-left:0;padding-right:0}
.qc-kwic td.qc-right{padding-left:0}
.qc-kwic mark.qc-hit{background:#fff3b0;color:inherit;font-weight:600;border-radius:2px}
</style>"""


def check_output(path: PathArg, *, format: str | None = None, overwrite: bool = False) -> str:
    """The format (``"csv"`` or ``"xlsx"``) :meth:`SearchResult.write` would write ``path``
    in; an error, before any work, for another suffix or a file that exists (unless
    ``overwrite``)."""
    path = Path(path)
    kind = format if format is not None else _FORMATS.get(path.suffix.lower())
    if kind not in _FORMATS.values():
        if format is not None:
            raise parameter_error("format", "SearchResult.write()", "'csv' or 'xlsx'", format)
        hint = (" (--json prints every hit as JSON: redirect it to the file)"
                if path.suffix.lower() == ".json" else "")
        raise ParameterError(f"Cannot tell the format of {path.name}: search hits are "
                             f"written as .csv or .xlsx{hint}.")
    check_targets([path], overwrite=overwrite, where="Writing search hits")
    return kind


# -- the search -------------------------------------------------------------------------------
def search(
    project: Project | PathArg,
    query: str,
    *,
    match: str = "words",
    documents: Values = None,
    speakers: Values = None,
    attributes: Mapping[str, str | Sequence[str]] | None = None,
    codes: Values = None,
    coder: Values = None,
    status: Values = "accepted",
    context: int = 60,
    interviewer: bool = False,
) -> SearchResult:
    """Every place ``query`` occurs in the project's segments (see the module docstring for
    ``match``: ``"words"``, ``"exact"`` or ``"regex"``).

    Filters, each optional: ``documents`` (ids), ``speakers`` (names as in the
    transcripts, any case), ``attributes`` (case attributes, ``{"setting": "Oakview"}``, a
    value or a list of values, as the exports take them), ``codes`` (ids or names; a theme
    brings its codes: only segments where one of them is present) with ``coder`` and
    ``status`` choosing which codings count (``status`` defaults to ``"accepted"``; a
    ``coder`` alone keeps the segments that coder coded). ``context``: characters of the
    segment shown on each side of a hit. ``interviewer``: search the interviewer's turns
    too.

    Returns a :class:`SearchResult`.

    >>> qc.search(project, "visit", speakers="Emma").to_frame()     # doctest: +SKIP
    """
    where = "search()"
    if not isinstance(query, str) or not query.strip():
        raise parameter_error("query", where, "a non-empty string of words or a pattern",
                              query)
    if match not in MATCHES:
        raise parameter_error("match", where, "'words', 'exact' or 'regex'", match)
    if not isinstance(context, int) or isinstance(context, bool) or context < 0:
        raise parameter_error("context", where, "a whole number of characters >= 0", context)
    if not isinstance(interviewer, bool):
        raise parameter_error("interviewer", where, "True or False", interviewer)
    matcher = _matcher(query, match)  # a bad pattern is refused before any reading

    with opened(project) as store:
        chosen = select(store, codes=codes, attributes=attributes, status=status, coder=coder,
                        documents=documents, where=where)
        doc_ids = list(chosen.documents)
        segments = list(store.segments(document=doc_ids)) if doc_ids else []
        filters = dict(chosen.filters)
        if codes is None and coder is None:
            filters.pop("status", None)  # no coding filter: the status says nothing
        named = _speakers(segments, speakers)
        if named is not None:
            segments = [s for s in segments if _fold(s.speaker) in named]
            filters["speakers"] = ", ".join(as_list(speakers) or [])
        labels = _labels(segments, chosen.codings)
        if codes is not None or coder is not None:
            kept = [i for i, found in enumerate(labels) if found]
            segments, labels = [segments[i] for i in kept], [labels[i] for i in kept]
        left_out = [not interviewer and named is None and s.role == "interviewer"
                    for s in segments]
        context_filters = {"interviewer": "included"} if interviewer else {}
        order = {c: i for i, c in enumerate(chosen.codes)}
        hits, interviewer_hits = [], 0
        for i, start, end, term in matcher.find([s.text for s in segments]):
            if left_out[i]:
                interviewer_hits += 1
                continue
            segment = segments[i]
            text = segment.text
            hits.append(Hit(
                segment.document_id, segment.index, segment.speaker, segment.start + start,
                segment.start + end, text[start:end], _left(text, start, context),
                _right(text, end, context), term, segment.start, segment.end,
                tuple(sorted(labels[i], key=lambda c: (order.get(c, len(order)), c)))))
        return SearchResult(
            query=query, match=match, hits=tuple(hits), terms=matcher.terms,
            project=str(store.path), context=context, documents=tuple(doc_ids),
            segments_searched=sum(1 for out in left_out if not out),
            interviewer_hits=interviewer_hits, filters={**filters, **context_filters},
            codebook=chosen.codebook,
            attributes={d.id: dict(d.attributes) for d in chosen.documents.values()},
        )


def _fold(value: object) -> str:
    return "" if value is None else str(value).strip().casefold()


def _speakers(segments: Sequence[Segment], speakers: Values) -> set[str] | None:
    """The folded speaker names asked for (None: every speaker); a name no turn in the
    documents searched has is an error naming the close ones."""
    import difflib

    wanted = as_list(speakers)
    if wanted is None:
        return None
    names = sorted({s.speaker for s in segments if s.speaker})
    folded = {_fold(n) for n in names}
    for name in wanted:
        if _fold(name) not in folded:
            close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            listed = ", ".join(names[:12]) + (f" and {len(names) - 12} more"
                                              if len(names) > 12 else "")
            raise ParameterError(
                f"No turn of speaker {name!r} in the documents searched.{hint} Speakers: "
                f"{listed or 'none'}.")
    return {_fold(n) for n in wanted}


def _held(store: Project, code_id: str, coder: str,
          documents: set[str]) -> dict[str, SpanIndex]:
    """The codings ``coder`` has of ``code_id`` (any status) in each of ``documents``."""
    if not documents:
        return {}
    by_document: dict[str, list[Coding]] = {}
    for coding in store.codings(document=sorted(documents), code=code_id, coder=coder):
        by_document.setdefault(coding.document_id, []).append(coding)
    return {doc: SpanIndex(items) for doc, items in by_document.items()}


def _labels(segments: Sequence[Segment], codings: Sequence[Coding]) -> list[frozenset[str]]:
    """The codes present in each segment: any coding of them shares a character with it
    (the rule of agreement and :func:`~qualcode.coders.base.segment_labels`)."""
    by_document: dict[str, list[Coding]] = {}
    for coding in codings:
        by_document.setdefault(coding.document_id, []).append(coding)
    index = {doc: SpanIndex(items) for doc, items in by_document.items()}
    empty: frozenset[str] = frozenset()
    return [frozenset(c.code_id for c in index[s.document_id].overlapping(s.start, s.end))
            if s.document_id in index else empty for s in segments]


# -- matching ---------------------------------------------------------------------------------
class _Matcher:
    """Finds a query in texts: ``find(texts)`` yields ``(text, start, end, term)`` in text
    order; ``terms`` are the query's alternatives."""

    terms: tuple[str, ...]

    def find(self, texts: Sequence[str]) -> Iterator[tuple[int, int, int, str]]:
        raise NotImplementedError


class _Lemmas(_Matcher):
    """Phrases on lemmas, with the rules coder's regular expression over a
    :class:`~qualcode.nlp.LemmaBatch` (so a search and a keyword always agree)."""

    def __init__(self, query: str, alternatives: list[str]) -> None:
        from qualcode.coders.rules import _batch_regex, _overlap_words
        from qualcode.nlp import english

        nlp = english()
        self.term_of: dict[str, str] = {}  # lemma phrase -> the alternative as written
        for alternative in alternatives:
            phrase = nlp.lemma_string(alternative.translate(_QUOTES))
            if not phrase:
                raise ParameterError(
                    f"The search {query!r} has no words to match in {alternative!r}: "
                    "match='words' finds words; use match='exact' or 'regex' for other "
                    "characters.")
            self.term_of.setdefault(phrase, alternative)
        self.terms = tuple(alternatives)
        self.regex = _batch_regex(self.term_of)
        self.overlaps = _overlap_words(self.term_of)

    def find(self, texts: Sequence[str]) -> Iterator[tuple[int, int, int, str]]:
        from qualcode.coders.rules import _batch_matches
        from qualcode.nlp import english

        nlp = english()
        for first in range(0, len(texts), _BATCH):
            # Curly quotes straightened as the rules coder does (one character for one).
            chunk = [t if t.isascii() else t.translate(_QUOTES)
                     for t in texts[first : first + _BATCH]]
            batch = nlp.lemma_batch(chunk)
            # found as the rules coder finds keywords: with the phrases that overlap one
            for found in _batch_matches(self.regex, batch.string, self.overlaps):
                i, start, end, phrase = batch.locate(found)
                yield first + i, start, end, self.term_of[phrase]


class _Pattern(_Matcher):
    """A regular expression (``regex`` mode), compiled by the regex package."""

    def __init__(self, compiled: Any, terms: tuple[str, ...], *, timeout: float) -> None:
        self.compiled = compiled
        self.terms = terms
        self.timeout = timeout

    def find(self, texts: Sequence[str]) -> Iterator[tuple[int, int, int, str]]:
        term = self.terms[0]
        for i, text in enumerate(texts):
            try:
                found_all = list(self.compiled.finditer(text, timeout=self.timeout))
            except TimeoutError:
                raise ParameterError(
                    f"The regular expression {self.terms[0]!r} took more than "
                    f"{self.timeout:g} s on one segment ({len(text):,} characters) and was "
                    "stopped. Simplify it: a repeat inside a repeat, as in (a+)+, is the "
                    "usual cause.") from None
            for found in found_all:
                if found.end() == found.start():
                    continue  # an empty match ("x*" between words) is no hit
                yield i, found.start(), found.end(), term


class _Exact(_Matcher):
    """Each alternative as written (:func:`_literal`), searched for on its own so that
    alternatives that overlap are each found; a hit inside a longer one is dropped."""

    def __init__(self, terms: tuple[str, ...]) -> None:
        self.terms = terms
        self.written = list(dict.fromkeys(terms))
        self.patterns = [re.compile(_literal(term), re.IGNORECASE) for term in self.written]

    def find(self, texts: Sequence[str]) -> Iterator[tuple[int, int, int, str]]:
        for i, text in enumerate(texts):
            # by start, the longest first, then in the order the query names them
            found = sorted((m.start(), -m.end(), k) for k, pattern in enumerate(self.patterns)
                           for m in pattern.finditer(text))
            reach = -1  # the end of the furthest hit so far
            for start, minus_end, k in found:
                if -minus_end > reach:
                    reach = -minus_end
                    yield i, start, reach, self.written[k]


def _matcher(query: str, match: str) -> _Matcher:
    if match == "regex":
        # The regex package, in its re-compatible mode: it does not get lost in nested
        # repeats as re does ("(\w+\s*)*$" on a 30-word turn ran past 20 s, and Ctrl-C cannot
        # stop re), and a search that still runs too long can be stopped with an error.
        import regex

        try:
            compiled = regex.compile(query, regex.IGNORECASE | regex.V0)
        except regex.error as exc:
            at = f" at position {exc.pos}" if exc.pos is not None else ""
            raise ParameterError(
                f"The regular expression {query!r} is not valid: {exc.msg}{at}. Fix it, or "
                "search with match='exact' (--match exact) for the text as written."
            ) from exc
        return _Pattern(compiled, (query,), timeout=REGEX_SECONDS)
    written = [a.strip() for a in _OR.split(query.strip())]
    if not all(written):
        raise ParameterError(
            f"The search {query!r} has an OR without words on both sides; write "
            "alternatives as 'home visit OR doorstep'.")
    alternatives = [_unquote(a) for a in written]
    if not all(alternatives):
        raise ParameterError(
            f"The search {query!r} has nothing between its quotes; write a phrase in "
            "them, as '\"home visit\" OR doorstep'.")
    if match == "words":
        return _Lemmas(query, alternatives)
    return _Exact(tuple(alternatives))


def _unquote(alternative: str) -> str:
    """``"home visit"`` in double quotes is the phrase home visit (as other tools write it)."""
    if len(alternative) >= 2 and alternative[0] == alternative[-1] == '"':
        return alternative[1:-1].strip()
    return alternative


def _literal(text: str) -> str:
    """A pattern for ``text`` as written: any whitespace for a space, either apostrophe, and
    whole words at its edges when it starts or ends with a letter or digit."""
    words = [_APOSTROPHE.sub(_APOSTROPHES, re.escape(w)) for w in text.split()]
    body = r"\s+".join(words)
    before = r"(?<!\w)" if re.match(r"\w", text) else ""
    after = r"(?!\w)" if re.search(r"\w$", text) else ""
    return f"{before}{body}{after}"


# -- context ----------------------------------------------------------------------------------
def _squash(text: str) -> str:
    return _SPACE.sub(" ", text)


def _in_word(character: str) -> bool:
    return character.isalnum() or character in "'’"  # "don't" is one word


def _left(text: str, at: int, width: int) -> str:
    """Up to ``width`` characters before ``text[at]``, whitespace squashed, no word cut."""
    if width <= 0:
        return ""
    piece = _squash(text[max(0, at - 3 * width - 20) : at])
    if len(piece) <= width:
        return piece.lstrip() if at - 3 * width - 20 <= 0 else piece
    kept = piece[-width:]
    if _in_word(piece[-width - 1]) and _in_word(kept[0]) and " " in kept:
        kept = kept[kept.index(" ") + 1 :]
    return kept.lstrip()


def _right(text: str, at: int, width: int) -> str:
    """Up to ``width`` characters after ``text[at - 1]``, whitespace squashed, no word cut."""
    if width <= 0:
        return ""
    piece = _squash(text[at : at + 3 * width + 20])
    if len(piece) <= width:
        return piece.rstrip() if at + 3 * width + 20 >= len(text) else piece
    kept = piece[:width]
    if _in_word(piece[width]) and _in_word(kept[-1]) and " " in kept:
        kept = kept[: kept.rindex(" ")]
    return kept.rstrip()


def _tail(text: str, width: int) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1):]


def _head(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
