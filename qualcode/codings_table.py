"""Codings made elsewhere: read a codings table, find each row in its transcript, store it.

A second coder's spreadsheet, an export from Taguette, NVivo or QualCoder, or qualcode's
own ``export codings`` output: one row per coded passage. Each row is located in the
project's text and becomes a :class:`~qualcode.model.Coding`; every row that cannot be
placed is reported with its row number and the reason, never dropped silently.

>>> report = import_codings(project, "codings.csv", coder="alice")  # doctest: +SKIP
>>> print(report.summary())                                         # doctest: +SKIP
1930 rows: 1930 located (38 of them ambiguous), 0 unmatched; 1930 codings stored.
>>> report.to_frame(problems_only=True)                             # doctest: +SKIP

The table (CSV, TSV, XLSX, a pandas DataFrame, or a folder of such files) needs, with
column names matched case-insensitively:

- a document column (``document``, ``doc``, ``file``, ``source``, ...): a document id, or
  the name of the file it was read from, with or without its suffix
  (``P2_GMT20211119.odt`` finds the document ``P2_GMT20211119``);
- a code column (``code``, ``tag``, ``node``, ...): a code id, a code name in any case, the
  slug of a name (``poor_attendance``), or a ``Theme/Code`` path;
- ``start`` and ``end`` character offsets, or the coded words in a text column (``text``,
  ``excerpt``, ``content``, ``quote``, ...), or both (offsets are checked against the words);
- optionally ``coder`` (when no coder name is given) and ``memo``.

Excerpts are found tolerantly: differences of whitespace and line breaks, curly versus
straight quotes, dashes, letter case and accents are ignored, and an ellipsis in an
excerpt (``...``, ``…``, ``[...]``) may stand for omitted words. An excerpt that occurs
more than once is placed at its first occurrence at or after the previous excerpt of the
same document and coder (table order), else at its first occurrence; such rows are
*ambiguous*: imported, and listed so a person can check them.

Row numbers are those a spreadsheet shows (the header is row 1, the first data row is
row 2, a blank line is a row); for a DataFrame they are its index labels. Every sheet of a
workbook that has a document and a code column is read.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualcode.codebook import slugify
from qualcode.errors import ParameterError, TableError, parameter_error
from qualcode.model import CODING_STATUSES, Code, Codebook, Coding, Corpus, Document

if TYPE_CHECKING:
    import pandas as pd

    from qualcode.project import Project

__all__ = [
    "EXPORT_COLUMNS",
    "ImportReport",
    "RowOutcome",
    "codings_frame",
    "export_codings",
    "import_codings",
    "locate_excerpt",
    "read_codings_table",
]

EXPORT_COLUMNS = ("document", "start", "end", "speaker", "code", "theme", "confidence",
                  "status", "coder", "method", "text")
TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".xlsx")

# Accepted header names, most specific first; headers are compared after _header().
_COLUMNS: dict[str, tuple[str, ...]] = {
    "document": ("document", "document id", "doc", "file", "file name", "filename", "source",
                 "transcript", "document name", "interview"),
    "code": ("code", "code id", "code name", "tag", "node", "codes", "tags", "label"),
    "text": ("text", "excerpt", "content", "quote", "quotation", "coded text", "segment",
             "highlight", "selection", "passage"),
    "start": ("start", "start offset", "begin", "start position", "startposition"),
    "end": ("end", "end offset", "stop", "end position", "endposition"),
    "coder": ("coder", "user", "author", "coded by", "annotator", "rater"),
    "memo": ("memo", "comment", "note", "notes"),
    "status": ("status",),  # as qualcode's own export writes it
}

# -- tolerant text matching ---------------------------------------------------------------
_CHAR_MAP = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u0060\u00b4\u02bc", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d", "-"),
    **dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff", ""),  # invisible: drop
}
_FOLDED: dict[str, str] = {}
_ELLIPSIS = re.compile(r"\s*\[?\s*\.(?:\s*\.){2,}\s*\]?\s*")
_MAX_LISTED = 5


def _fold_char(ch: str) -> str:
    """One character as the matcher compares it (quotes, dashes, case, accents folded)."""
    out = _FOLDED.get(ch)
    if out is None:
        mapped = _CHAR_MAP.get(ch)
        if mapped is None:
            # NFKD splits accents off and turns "…" into "...", ligatures into letters.
            decomposed = unicodedata.normalize("NFKD", ch)
            mapped = "".join(
                _CHAR_MAP.get(c, c) for c in decomposed if not unicodedata.combining(c)
            ).casefold()
        out = _FOLDED[ch] = mapped
    return out


@dataclass(frozen=True)
class _View:
    """A folded copy of a text and, for each of its characters, the original offset."""

    text: str
    origin: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.origin[start], self.origin[end - 1] + 1


def _fold(text: str, *, spaces: str) -> _View:
    """Fold ``text``; ``spaces`` is ``"collapse"`` (runs become one space) or ``"drop"``."""
    out: list[str] = []
    origin: list[int] = []
    pending_space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            pending_space = spaces == "collapse" and bool(out)
            continue
        folded = _fold_char(ch)
        if not folded:
            continue
        if pending_space:
            out.append(" ")
            origin.append(i - 1)
            pending_space = False
        for c in folded:
            if c.isspace():  # NFKD of a few characters holds a space
                if spaces == "collapse" and out and out[-1] != " ":
                    out.append(" ")
                    origin.append(i)
                continue
            out.append(c)
            origin.append(i)
    return _View("".join(out), tuple(origin))


def _fold_needle(text: str, *, spaces: str) -> str:
    return _fold(text, spaces=spaces).text.strip()


def _find_all(haystack: str, needle: str) -> list[int]:
    starts, at = [], haystack.find(needle)
    while at != -1:
        starts.append(at)
        at = haystack.find(needle, at + 1)
    return starts


class _Locator:
    """Finds excerpts in one document, from the strictest comparison to the most tolerant."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._views: dict[str, _View] = {}

    def view(self, spaces: str) -> _View:
        if spaces not in self._views:
            self._views[spaces] = _fold(self.text, spaces=spaces)
        return self._views[spaces]

    def find(self, excerpt: str) -> tuple[str, list[tuple[int, int]]]:
        """``(how, spans)``: every occurrence at the strictest level that finds any."""
        excerpt = excerpt.strip()
        if not excerpt:
            return "", []
        exact = _find_all(self.text, excerpt)
        if exact:
            return "exact", [(s, s + len(excerpt)) for s in exact]
        for spaces, how in (("collapse", "normalised"), ("drop", "ignoring whitespace")):
            needle = _fold_needle(excerpt, spaces=spaces)
            if not needle:
                continue
            view = self.view(spaces)
            found = _find_all(view.text, needle)
            if found:
                return how, [view.span(s, s + len(needle)) for s in found]
        pieces = [p for p in _ELLIPSIS.split(_fold_needle(excerpt, spaces="collapse"))
                  if p.strip()]
        if len(pieces) >= 1 and _ELLIPSIS.search(_fold_needle(excerpt, spaces="collapse")):
            for spaces in ("collapse", "drop"):
                spans = self._find_pieces(pieces, spaces, len(excerpt))
                if spans:
                    return "with omission (ellipsis)", spans
        return "", []

    def _find_pieces(self, pieces: list[str], spaces: str, length: int
                     ) -> list[tuple[int, int]]:
        # The words between pieces were left out by whoever copied the excerpt; allow a
        # gap of a few excerpt lengths, so a common word cannot pull in half a transcript.
        view = self.view(spaces)
        if spaces == "drop":
            pieces = [re.sub(r"\s+", "", p) for p in pieces]
        pieces = [p.strip() for p in pieces if p.strip()]
        max_gap = 4 * length + 400
        spans = []
        for first in _find_all(view.text, pieces[0]):
            end = first + len(pieces[0])
            for piece in pieces[1:]:
                at = view.text.find(piece, end, end + max_gap + len(piece))
                if at == -1:
                    break
                end = at + len(piece)
            else:
                spans.append(view.span(first, end))
        return list(dict.fromkeys(spans))

    def diagnose(self, excerpt: str) -> str:
        """Why an excerpt was not found: how much of its opening is in the text."""
        needle = _fold_needle(excerpt, spaces="collapse")
        view = self.view("collapse")
        low, high = 0, len(needle)  # longest prefix that occurs (occurrence is monotone)
        while low < high:
            mid = (low + high + 1) // 2
            if view.text.find(needle[:mid]) != -1:
                low = mid
            else:
                high = mid - 1
        if low < min(12, len(needle)):
            return "not even its first words are in the transcript"
        at = view.text.find(needle[:low])
        start, end = view.span(at, at + low)
        wanted = needle[low : low + 30]
        found = view.text[at + low : at + low + 30]
        return (f"its first {low} of {len(needle)} characters match at characters "
                f"{start}-{end}, then the excerpt reads {wanted!r} where the transcript "
                f"reads {found!r}")


def locate_excerpt(text: str, excerpt: str) -> list[tuple[int, int]]:
    """Every ``(start, end)`` where ``excerpt`` occurs in ``text``, matched tolerantly.

    The comparison is exact if possible, else ignores differences of whitespace, quote
    marks, dashes, case and accents, and lets an ellipsis stand for omitted words. Offsets
    are into ``text``. An empty list means the excerpt is not there.

    >>> locate_excerpt("He said \u201cno\u201d.\\nThen left.", 'said "No". Then')
    [(3, 18)]
    """
    return _Locator(text).find(excerpt)[1]


# -- reading the table ---------------------------------------------------------------------
@dataclass(frozen=True)
class _Row:
    file: str | None
    row: Hashable
    values: dict[str, str]


def _header(name: object) -> str:
    return re.sub(r"[\s_\-]+", " ", str(name).strip().casefold())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer():
            return str(int(value))
    return str(value).strip()


def _read_frames(path: Path, coder: str | None) -> list[tuple[str, str, pd.DataFrame]]:
    """``(where, label, frame)`` for each table in a file: the file itself, or each sheet of
    a workbook with several sheets of codings (one per coder, say), when each says whose its
    rows are (a coder column, and no ``coder`` given to override it)."""
    import pandas as pd

    if path.suffix.lower() != ".xlsx":
        return [(str(path), path.name, _read_frame(path))]
    _check_workbook(path)
    try:
        sheets = pd.read_excel(path, dtype=str, sheet_name=None)
    except (ValueError, OSError) as exc:
        raise TableError(f"Cannot read this table: {str(exc).rstrip('.')}.", path=path) from None
    # Every sheet with a document and a code column is read, not only the first; a sheet
    # without them (notes, a codebook) holds no codings.
    codings = [(name, frame.fillna("")) for name, frame in sheets.items()
               if {"document", "code"} <= set(_roles(frame.columns))]
    if len(codings) > 1:
        # One sheet per coder is common: given to the one coder named on import (or to
        # nobody, for a sheet without a coder column), two people's codings would become one
        # person's. Only rows that say whose they are can be read from several sheets.
        uncredited = [name for name, frame in codings if "coder" not in _roles(frame.columns)]
        if coder is not None or uncredited:
            names = ", ".join(str(name) for name, _ in codings)
            why = (f"a coder name was given ({coder}), which would credit every sheet to "
                   "that one coder" if coder is not None else
                   f"{'sheet' if len(uncredited) == 1 else 'sheets'} "
                   f"{', '.join(map(str, uncredited))} "
                   f"{'has' if len(uncredited) == 1 else 'have'} no coder column")
            raise TableError(
                f"This workbook holds codings on {len(codings)} sheets ({names}), and {why}: "
                "qualcode cannot tell whose codings they are. Save each coder's sheet as its "
                "own file and import it with --coder NAME, or give every sheet a coder column "
                "and import the workbook without --coder.", path=path)
        return [(f"{path} (sheet {name})", f"{path.name} (sheet {name})", frame)
                for name, frame in codings]
    frame = codings[0][1] if codings else next(iter(sheets.values())).fillna("")
    return [(str(path), path.name, frame)]


def _check_workbook(path: Path) -> None:
    """Refuse a file named .xlsx that is not a workbook (one is a zip archive), saying what
    it looks like: pandas only says it cannot tell the format."""
    try:
        with path.open("rb") as file:
            head = file.read(512)
    except OSError as exc:
        raise TableError(f"Cannot read this table: {exc.strerror}.", path=path) from None
    if head.startswith(b"PK\x03\x04"):
        return
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        looks = ("it is an older Excel workbook (.xls): save it as .xlsx (Excel Workbook) or "
                 "as CSV UTF-8")
    elif b"\x00" not in head:
        looks = "it looks like text, perhaps a CSV renamed: give it the name .csv"
    else:
        looks = "save it again from Excel as .xlsx, or as CSV UTF-8"
    raise TableError(f"This file is named .xlsx but is not an Excel workbook; {looks}.",
                     path=path)


def _roles(columns: Iterable[object]) -> dict[str, object]:
    """``{role: column}`` for the columns whose headers name a role."""
    by_header = {_header(c): c for c in columns}
    found: dict[str, object] = {}
    for role, names in _COLUMNS.items():
        column = next((by_header[n] for n in names if n in by_header), None)
        if column is not None:
            found[role] = column
    return found


def _read_frame(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "cp1252"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - cp1252 decodes almost anything
            raise TableError("Cannot decode the table; save it as UTF-8.", path=path)
        first_line = text.split("\n", 1)[0]
        if path.suffix.lower() in (".tsv", ".tab"):
            sep = "\t"
        else:  # Excel in many European locales writes ';'
            sep = ";" if first_line.count(";") > first_line.count(",") else ","
        from io import StringIO

        # Blank lines are rows too, as a spreadsheet shows them: skipping them would shift
        # the row number reported for every row after one.
        return pd.read_csv(StringIO(text.rstrip("\r\n")), dtype=str, keep_default_na=False,
                           sep=sep, skip_blank_lines=False)
    except TableError:
        raise
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise TableError(f"Cannot read this table: {str(exc).rstrip('.')}.", path=path) from None


def _table_rows(table: Any, coder: str | None) -> tuple[str, list[_Row], dict[str, str]]:
    """``(source label, rows, {role: column})`` from a path, folder or DataFrame."""
    import pandas as pd

    if isinstance(table, pd.DataFrame):
        frames = [(None, None, table, False)]
        source = "DataFrame"
    else:
        if not isinstance(table, (str, PathLike)):
            raise parameter_error("table", "import_codings()",
                                  "a path to a CSV/XLSX file or folder, or a DataFrame",
                                  type(table).__name__)
        path = Path(table)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in TABLE_SUFFIXES)
            if not files:
                raise TableError("The folder holds no codings tables (.csv, .tsv, .xlsx).",
                                 path=path)
        elif path.is_file():
            files = [path]
        else:
            raise TableError("No such file or folder.", path=path)
        frames = [(*entry, True) for p in files for entry in _read_frames(p, coder)]
        source = str(path)
    rows: list[_Row] = []
    roles: dict[str, str] = {}
    for where, name, frame, from_file in frames:
        found = _roles(frame.columns)
        _check_columns(found, list(frame.columns), where)
        roles = roles or {k: str(v) for k, v in found.items()}
        for position, (label, record) in enumerate(zip(frame.index, frame.to_dict("records"),
                                                       strict=True)):
            values = {role: _cell(record[column]) for role, column in found.items()}
            rows.append(_Row(name, position + 2 if from_file else label, values))
    if not rows:  # a header alone: nothing would be imported, and nothing said
        raise TableError("The table has a header but no rows of codings below it.",
                         path=None if source == "DataFrame" else source)
    return source, rows, roles


def _check_columns(found: dict[str, object], columns: list[object], path: str | None
                   ) -> None:
    missing = []
    if "document" not in found:
        missing.append("a document column (" + ", ".join(_COLUMNS["document"][:4]) + ", ...)")
    if "code" not in found:
        missing.append("a code column (" + ", ".join(_COLUMNS["code"][:4]) + ", ...)")
    if "text" not in found and not ("start" in found and "end" in found):
        missing.append("start and end columns or an excerpt column ("
                       + ", ".join(_COLUMNS["text"][:4]) + ", ...)")
    if missing:
        raise TableError(
            f"A codings table needs {'; '.join(missing)}. Its columns are: "
            f"{', '.join(map(str, columns)) or 'none'}.", path=path, line=1,
        )


# -- matching documents and codes ----------------------------------------------------------
class _DocumentIndex:
    """Document ids by id, file name, or file name without its suffix (any case)."""

    def __init__(self, documents: Sequence[Document]) -> None:
        self.ids = [d.id for d in documents]
        self.texts = {d.id: d.text for d in documents}
        self._keys: dict[str, set[str]] = {}
        for doc in documents:
            keys = {doc.id, doc.id.casefold()}
            if doc.source:
                name = Path(doc.source.replace("\\", "/")).name
                keys |= {name.casefold(), Path(name).stem.casefold()}
            for key in keys:
                self._keys.setdefault(key, set()).add(doc.id)

    def match(self, value: str) -> tuple[str | None, str]:
        value = value.strip()
        if value in self.texts:
            return value, ""
        name = Path(value.replace("\\", "/")).name
        for key in (value.casefold(), name.casefold(), Path(name).stem.casefold()):
            hits = self._keys.get(key)
            if hits and len(hits) == 1:
                return next(iter(hits)), ""
            if hits:
                return None, (f"document {value!r} could be any of "
                              f"{', '.join(sorted(hits))}; use the document id")
        close = difflib.get_close_matches(Path(name).stem, self.ids, n=2, cutoff=0.5)
        if close:
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)"
        else:
            more = ", ..." if len(self.ids) > 5 else ""
            hint = f" (its documents: {', '.join(self.ids[:5])}{more})"
        return None, f"no document {value!r} in the project{hint}"


class _CodeIndex:
    """Codes by id, name (any case), slug of the name, or ``Theme/Code`` path."""

    def __init__(self, codebook: Codebook | None) -> None:
        self.codebook = codebook
        # From the strictest key to the loosest: an exact id wins over another code's slug.
        self._levels: list[dict[str, set[str]]] = [{}, {}, {}, {}]
        for code in codebook or ():
            keys = (code.id, code.id.casefold(), " ".join(code.name.split()).casefold(),
                    slugify(code.name))
            for level, key in zip(self._levels, keys, strict=True):
                level.setdefault(key, set()).add(code.id)
            self._levels[3].setdefault(slugify(code.id), set()).add(code.id)

    def _candidates(self, value: str) -> set[str]:
        keys = (value, value.casefold(), " ".join(value.split()).casefold(), slugify(value))
        for level, key in zip(self._levels, keys, strict=True):
            if key in level:
                return level[key]
        return set()

    def match(self, value: str) -> tuple[str | None, str]:
        value = value.strip()
        hits = self._candidates(value)
        parts = [p.strip() for p in re.split(r"[/\\>]|::", value) if p.strip()]
        if not hits and len(parts) > 1 and self.codebook is not None:
            hits = self._candidates(parts[-1])
            # Keep the codes whose ancestors match the path's earlier parts.
            hits = {h for h in hits if all(
                self._candidates(p) & {*self.codebook.ancestors(h)} for p in parts[:-1])}
        if len(hits) == 1:
            return next(iter(hits)), ""
        if hits:
            return None, (f"code {value!r} could be any of {', '.join(sorted(hits))}; "
                          "use the code id or a Theme/Code path")
        known = [c.id for c in self.codebook or ()] + [c.name for c in self.codebook or ()]
        close = difflib.get_close_matches(value, known, n=2)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        return None, f"no code {value!r} in the codebook{hint}"


# -- the report ----------------------------------------------------------------------------
@dataclass(frozen=True)
class RowOutcome:
    """What became of one row of the table.

    ``status`` is ``located`` (found once, or placed by its offsets), ``ambiguous`` (found
    several times; one occurrence was taken and the row imported) or ``unmatched`` (not
    imported; ``problem`` names the kind and ``reason`` says why). A located row can have a
    ``problem`` too: ``duplicate``, or ``bad offsets`` when it was placed by its text instead
    of its offsets. ``document`` and ``code`` are as the table wrote them; ``document_id``
    and ``code_id`` what they matched.
    """

    row: Hashable
    status: str
    document: str
    code: str
    document_id: str | None = None
    code_id: str | None = None
    start: int | None = None
    end: int | None = None
    match: str = ""
    problem: str = ""
    reason: str = ""
    file: str | None = None

    @property
    def where(self) -> str:
        return f"{self.file} row {self.row}" if self.file else f"row {self.row}"


@dataclass(frozen=True)
class ImportReport:
    """The result of reading (and importing) a codings table.

    ``codings`` are the codings the located rows became (duplicates once); ``outcomes`` say
    what became of each row. ``located`` counts rows placed in a text (ambiguous rows
    included), ``ambiguous`` those placed at one of several occurrences, ``unmatched``
    those not imported. ``stored`` is how many codings were new to the project (None when
    the table was only read); ``created_codes`` the codes added to the codebook; ``status``
    the status given for every row (None: each row's own, else accepted).
    """

    source: str
    coder: str | None
    status: str | None
    outcomes: tuple[RowOutcome, ...]
    codings: tuple[Coding, ...] = field(repr=False)
    columns: dict[str, str] = field(default_factory=dict)
    created_codes: tuple[Code, ...] = ()
    stored: int | None = None

    @property
    def rows(self) -> int:
        return len(self.outcomes)

    @property
    def located(self) -> int:
        return sum(o.status != "unmatched" for o in self.outcomes)

    @property
    def ambiguous(self) -> int:
        return sum(o.status == "ambiguous" for o in self.outcomes)

    @property
    def unmatched(self) -> int:
        return sum(o.status == "unmatched" for o in self.outcomes)

    @property
    def duplicates(self) -> int:
        """Located rows that repeat an earlier row's document, span, code and coder."""
        return sum(o.problem == "duplicate" for o in self.outcomes)

    @property
    def unknown_documents(self) -> dict[str, int]:
        """Document names the project does not have, with how many rows name each."""
        return self._count("unknown document", "document")

    @property
    def unknown_codes(self) -> dict[str, int]:
        """Code names the codebook does not have, with how many rows use each."""
        return self._count("unknown code", "code")

    def _count(self, problem: str, attribute: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.outcomes:
            if o.problem == problem:
                key = getattr(o, attribute)
                out[key] = out.get(key, 0) + 1
        return out

    def problems(self) -> tuple[RowOutcome, ...]:
        """Rows that were ambiguous, unmatched, duplicates or placed by their text instead of
        their offsets, in table order."""
        return tuple(o for o in self.outcomes if o.status != "located" or o.problem)

    def summary(self) -> str:
        """One paragraph: rows, located, ambiguous, unmatched, stored, unknown names."""
        share = f" ({self.located / self.rows:.1%})" if self.rows else ""
        text = (f"{self.rows:,} rows: {self.located:,} located{share}"
                f" ({self.ambiguous:,} of them ambiguous), {self.unmatched:,} unmatched")
        if self.duplicates:
            text += f", {self.duplicates:,} duplicate rows"
        if self.stored is not None:
            text += f"; {self.stored:,} new codings stored"
        text += "."
        if self.created_codes:
            text += (" Codes added to the codebook: "
                     f"{', '.join(c.id for c in self.created_codes)}.")
        if self.unknown_documents:
            text += f" Unknown documents: {', '.join(self.unknown_documents)}."
        if self.unknown_codes:
            text += f" Unknown codes: {', '.join(self.unknown_codes)}."
        return text

    def to_frame(self, *, problems_only: bool = False) -> pd.DataFrame:
        """One row per table row: file, row, status, document, code, document_id, code_id,
        start, end, match, problem, reason."""
        import pandas as pd

        columns = ["file", "row", "status", "document", "code", "document_id", "code_id",
                   "start", "end", "match", "problem", "reason"]
        chosen = self.problems() if problems_only else self.outcomes
        frame = pd.DataFrame([{c: getattr(o, c) for c in columns} for o in chosen],
                             columns=columns)
        return frame.astype({"start": "Int64", "end": "Int64"})

    def to_dict(self) -> dict[str, Any]:
        """Counts, the columns used, unknown names, and every problem row."""
        return {
            "source": self.source,
            "coder": self.coder,
            "status": self.status,
            "columns": dict(self.columns),
            "rows": self.rows,
            "located": self.located,
            "ambiguous": self.ambiguous,
            "unmatched": self.unmatched,
            "duplicates": self.duplicates,
            "codings": len(self.codings),
            "stored": self.stored,
            "created_codes": [{"id": c.id, "name": c.name} for c in self.created_codes],
            "unknown_documents": self.unknown_documents,
            "unknown_codes": self.unknown_codes,
            "problems": [
                {"file": o.file, "row": o.row if isinstance(o.row, (int, str)) else str(o.row),
                 "status": o.status, "document": o.document, "code": o.code,
                 "start": o.start, "end": o.end, "problem": o.problem, "reason": o.reason}
                for o in self.problems()
            ],
        }

    def _repr_html_(self) -> str:
        from html import escape

        rows = "".join(
            f"<tr><td>{escape(o.where)}</td><td>{o.status}</td><td>{escape(o.document)}</td>"
            f"<td>{escape(o.code)}</td><td>{escape(o.reason)}</td></tr>"
            for o in self.problems()[:50]
        )
        more = len(self.problems()) - 50
        tail = f"<p>... and {more} more (see <code>to_frame()</code>).</p>" if more > 0 else ""
        table = ("<table><tr><th>row</th><th>status</th><th>document</th><th>code</th>"
                 f"<th>reason</th></tr>{rows}</table>{tail}") if rows else ""
        return f"<p><b>Import of {escape(self.source)}</b>: {escape(self.summary())}</p>{table}"

    def __str__(self) -> str:
        return self.summary()


# -- reading and importing -----------------------------------------------------------------
def _documents_of(documents: Any) -> list[Document]:
    from qualcode.project import Project

    if isinstance(documents, Project):
        return list(documents.documents)
    if isinstance(documents, Corpus):
        return list(documents.documents)
    if isinstance(documents, Document):
        return [documents]
    out = list(documents)
    if not all(isinstance(d, Document) for d in out):
        raise parameter_error("documents", "read_codings_table()",
                              "a Project, a Corpus or Documents", type(documents).__name__)
    return out


def read_codings_table(
    table: str | PathLike[str] | pd.DataFrame,
    documents: Project | Corpus | Iterable[Document],
    codebook: Codebook | None = None,
    *,
    coder: str | None = None,
    status: str | None = None,
    create_codes: bool = False,
) -> ImportReport:
    """Locate every row of a codings table in ``documents``; store nothing.

    Returns an :class:`ImportReport` whose ``codings`` are ready for
    :meth:`Project.add_codings <qualcode.project.Project.add_codings>` and whose
    ``outcomes`` say what became of each row. Codes are matched against ``codebook``
    (the project's when ``documents`` is a project and no codebook is given); unknown codes
    are unmatched rows unless ``create_codes=True``, which makes a code for each (its id the
    slug of its name, listed in ``created_codes``). ``coder`` names whose codings these are;
    without it the table needs a coder column. ``status`` is the status every row gets;
    without it a row takes its status column's (as :func:`export_codings` writes it), else
    ``accepted``.
    """
    from qualcode.project import Project

    if status is not None and status not in CODING_STATUSES:
        raise parameter_error("status", "import_codings()",
                              f"one of {', '.join(CODING_STATUSES)}", status)
    if coder is not None and (not isinstance(coder, str) or not coder.strip()):
        raise parameter_error("coder", "import_codings()", "a non-empty name", coder)
    if codebook is None and isinstance(documents, Project):
        codebook = documents.codebook
    if codebook is None and not create_codes:
        raise ParameterError(
            "There is no codebook to match the table's codes against. Set the project's "
            "codebook first (`qualcode codebook set`), or create codes from the table with "
            "create_codes=True (--create-codes)."
        )
    docs = _documents_of(documents)
    source, rows, columns = _table_rows(table, coder)
    if coder is None and "coder" not in columns:
        raise ParameterError(
            f"Whose codings are these? Give a coder name (--coder NAME); the table {source} "
            "has no coder column."
        )
    return _Reader(docs, codebook, coder, status, create_codes).read(source, rows, columns)


class _Reader:
    def __init__(self, documents: list[Document], codebook: Codebook | None, coder: str | None,
                 status: str | None, create_codes: bool) -> None:
        self.documents = _DocumentIndex(documents)
        self.codes = _CodeIndex(codebook)
        self.codebook = codebook
        self.coder = coder
        self.status = status
        self.create_codes = create_codes
        self.locators: dict[str, _Locator] = {}
        self.new_codes: dict[str, Code] = {}
        self.previous: dict[tuple[str, str], tuple[int, Hashable]] = {}
        self.taken: dict[tuple[str, int, int, str, str], RowOutcome] = {}

    def locator(self, document_id: str) -> _Locator:
        if document_id not in self.locators:
            self.locators[document_id] = _Locator(self.documents.texts[document_id])
        return self.locators[document_id]

    def read(self, source: str, rows: list[_Row], columns: dict[str, str]) -> ImportReport:
        outcomes, codings = [], []
        for row in rows:
            outcome, coding = self.row(row)
            outcomes.append(outcome)
            if coding is not None:
                codings.append(coding)
        return ImportReport(source, self.coder, self.status, tuple(outcomes), tuple(codings),
                            columns, tuple(self.new_codes.values()))

    def code_id(self, name: str) -> tuple[str | None, str]:
        code_id, why = self.codes.match(name)
        if code_id is not None or not self.create_codes or "could be any of" in why:
            return code_id, why
        key = " ".join(name.split()).casefold()
        for code in self.new_codes.values():
            if code.name.casefold() == key:
                return code.id, ""
        base = slugify(name)
        new_id, n = base, 2
        while new_id in self.new_codes or (self.codebook is not None and new_id in self.codebook):
            new_id, n = f"{base}_{n}", n + 1
        self.new_codes[new_id] = Code(new_id, name=" ".join(name.split()))
        return new_id, ""

    def row(self, row: _Row) -> tuple[RowOutcome, Coding | None]:
        v = row.values
        document, code = v.get("document", ""), v.get("code", "")
        base = RowOutcome(row.row, "unmatched", document, code, file=row.file)

        def fail(problem: str, reason: str, **extra: Any) -> tuple[RowOutcome, None]:
            return replace(base, problem=problem, reason=reason, **extra), None

        if not any(v.values()):
            return fail("empty", "the row is empty")
        coder = self.coder or v.get("coder", "")
        if not coder:
            return fail("no coder", "the coder cell is empty")
        # A table exported with machine suggestions must not come back as a person's codings.
        status = self.status or v.get("status", "").lower() or "accepted"
        if status not in CODING_STATUSES:
            return fail("bad status", f"the status {v.get('status')!r} is not one of "
                        f"{', '.join(CODING_STATUSES)}")
        if not document:
            return fail("unknown document", "the document cell is empty")
        document_id, why = self.documents.match(document)
        if document_id is None:
            return fail("unknown document", why)
        if not code:
            return fail("unknown code", "the code cell is empty", document_id=document_id)
        code_id, why = self.code_id(code)
        if code_id is None:
            return fail("unknown code", why, document_id=document_id)
        base = replace(base, document_id=document_id, code_id=code_id)
        spans, how, note = self.spans(document_id, v)
        if not spans:
            return fail(how, note, document_id=document_id, code_id=code_id)
        start, end, found, reason = self.choose(document_id, code_id, coder, spans, row, how)
        if note:
            reason = f"{note}; {reason}" if reason else note
        outcome = replace(base, status=found, start=start, end=end, match=how, reason=reason,
                          # offsets set aside for the text: listed with the problems
                          problem="bad offsets" if note else "")
        key = (document_id, start, end, code_id, coder)
        if key in self.taken:
            first = self.taken[key]
            return replace(outcome, problem="duplicate",
                           reason=f"same passage, code and coder as {first.where}; stored once"
                           ), None
        self.taken[key] = outcome
        self.previous[(document_id, coder)] = (start, row.row)
        return outcome, Coding(document_id, start, end, code_id, coder=coder, method="import",
                               status=status, memo=v.get("memo", ""))

    def spans(self, document_id: str, v: dict[str, str]
              ) -> tuple[list[tuple[int, int]], str, str]:
        """``(spans, how, note)``; on failure ``spans`` is empty, ``how`` the problem and
        ``note`` the reason."""
        text = self.documents.texts[document_id]
        excerpt = v.get("text", "")
        note = ""
        if v.get("start") or v.get("end"):
            try:
                start, end = int(float(v.get("start", ""))), int(float(v.get("end", "")))
            except ValueError:
                start = end = -1
                note = (f"the offsets {v.get('start')!r}-{v.get('end')!r} are not whole "
                        "numbers")
            if not note and not 0 <= start < end <= len(text):
                note = (f"the offsets {start}-{end} do not lie inside the document "
                        f"(0-{len(text)})")
            if not note:
                if not excerpt or _same_words(text[start:end], excerpt):
                    return [(start, end)], "offsets", ""
                note = f"the offsets {start}-{end} hold {_clip(text[start:end])}, not the excerpt"
            if not excerpt:
                return [], "bad offsets", note
        if not excerpt:
            return [], "empty", "the excerpt cell is empty"
        how, spans = self.locator(document_id).find(excerpt)
        if spans:
            return spans, how, (f"{note}; located by its text instead" if note else "")
        reason = f"excerpt {_clip(excerpt)} is not in document '{document_id}'"
        elsewhere = [d for d in self.documents.ids
                     if d != document_id and self.locator(d).find(excerpt)[1]]
        if elsewhere:
            reason += f", but it is in {', '.join(repr(d) for d in elsewhere[:3])}"
        else:
            reason += f": {self.locator(document_id).diagnose(excerpt)}"
        if note:
            reason = f"{note}; {reason}"
        return [], "not found", reason

    def choose(self, document_id: str, code_id: str, coder: str,
               spans: list[tuple[int, int]], row: _Row, how: str
               ) -> tuple[int, int, str, str]:
        if len(spans) == 1:
            return spans[0][0], spans[0][1], "located", ""
        free = [s for s in spans if (document_id, *s, code_id, coder) not in self.taken]
        previous = self.previous.get((document_id, coder))
        after = [s for s in free if previous is None or s[0] >= previous[0]]
        if previous is not None and after:
            chosen, rule = after[0], (f"the first at or after the previous excerpt "
                                      f"(row {previous[1]})")
        else:
            chosen = (free or spans)[0]
            rule = "the first" + ("" if previous is None else
                                  " (none lies after the previous excerpt)")
        listed = ", ".join(f"{s}-{e}" for s, e in spans[:_MAX_LISTED])
        more = f" and {len(spans) - _MAX_LISTED} more" if len(spans) > _MAX_LISTED else ""
        reason = (f"occurs {len(spans)} times (characters {listed}{more}); took "
                  f"{chosen[0]}-{chosen[1]}, {rule}")
        return chosen[0], chosen[1], "ambiguous", reason


def _same_words(a: str, b: str) -> bool:
    return _fold_needle(a, spaces="drop") == _fold_needle(b, spaces="drop")


def _clip(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= width else text[: width - 3] + "...")


def import_codings(
    project: Project,
    table: str | PathLike[str] | pd.DataFrame,
    coder: str | None = None,
    *,
    status: str | None = None,
    create_codes: bool = False,
) -> ImportReport:
    """Read a codings table, locate each row in the project's documents, store the codings.

    ``coder`` is whose codings they are (a person's name; without it the table's coder
    column); they are stored with method ``import`` and ``status`` (without it, each row's
    status column, as :func:`export_codings` writes it, else ``accepted``).
    ``create_codes=True`` first adds the table's unknown codes to the codebook (a new
    version) instead of reporting their rows as unmatched. Codings already in the project
    are not stored twice. Returns the :class:`ImportReport`.

    >>> report = import_codings(project, "codings.csv", coder="alice")  # doctest: +SKIP
    >>> report.located, report.rows, report.stored                      # doctest: +SKIP
    (1930, 1930, 1930)
    """
    report = read_codings_table(table, project, coder=coder, status=status,
                                create_codes=create_codes)
    if report.created_codes:
        codebook = project.codebook or Codebook("imported codes", version=0)
        for code in report.created_codes:
            codebook = codebook.with_code(code)
        project.set_codebook(codebook, note=f"codes created by importing {report.source}")
    new_ids = project.add_codings(report.codings)
    return replace(report, stored=len(new_ids))


# -- export ------------------------------------------------------------------------------
def codings_frame(
    project: Project,
    *,
    coder: str | Sequence[str] | None = None,
    status: str | Sequence[str] | None = None,
    document: str | Sequence[str] | None = None,
    code: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """The project's codings as a table: document, start, end, speaker, code, theme,
    confidence, status, coder, method, text (one row per coding, in document order).

    ``speaker`` is the speaker of the segment where the coding starts (or, for a coding
    that starts between segments, on a speaker label say, of the first segment it
    reaches). The table can be read back with :func:`import_codings`.
    """
    import bisect

    import pandas as pd

    codings = project.codings(document=document, code=code, coder=coder, status=status)
    frame = codings.to_frame()
    speakers: dict[str, tuple[list[int], list[int], list[str | None]]] = {}
    for segment in project.segments(document=sorted({c.document_id for c in codings})
                                    or None):
        starts, ends, names = speakers.setdefault(segment.document_id, ([], [], []))
        starts.append(segment.start)
        ends.append(segment.end)
        names.append(segment.speaker)

    def speaker_at(document_id: str, start: int, end: int) -> str | None:
        starts, ends, names = speakers.get(document_id, ([], [], []))
        i = bisect.bisect_right(starts, start) - 1
        if i >= 0 and ends[i] > start:
            return names[i]
        # Not inside a segment (e.g. on "MODERATOR:" before the turn): the previous
        # turn's speaker would be the wrong person; take the turn the coding runs into.
        if i + 1 < len(starts) and starts[i + 1] < end:
            return names[i + 1]
        return None

    frame["speaker"] = [speaker_at(d, s, e) for d, s, e in zip(
        frame["document"], frame["start"], frame["end"], strict=True)]
    order = {doc_id: i for i, doc_id in enumerate(project.documents.ids)}
    frame = frame.assign(_order=frame["document"].map(order)).sort_values(
        ["_order", "start", "end", "code", "coder"], kind="stable")
    return pd.DataFrame(frame[list(EXPORT_COLUMNS)]).reset_index(drop=True)


def export_codings(
    project: Project,
    out: str | PathLike[str] | None = None,
    *,
    format: str = "csv",
    **filters: Any,
) -> str | Path:
    """Write the project's codings as CSV or JSON (columns of :data:`EXPORT_COLUMNS`).

    With ``out`` the file is written (atomically) and its path returned; without it the
    text is returned. ``filters`` go to :func:`codings_frame` (coder, status, document,
    code).
    """
    if format not in ("csv", "json"):
        raise parameter_error("format", "export_codings()", "'csv' or 'json'", format)
    frame = codings_frame(project, **filters)
    if format == "csv":
        text = frame.to_csv(index=False)
    else:
        records = [
            {k: (None if _missing(v) else v) for k, v in row.items()}
            for row in frame.to_dict("records")
        ]
        text = json.dumps(records, ensure_ascii=False, indent=2,
                          default=lambda v: v.item() if hasattr(v, "item") else str(v)) + "\n"
    if out is None:
        return text
    path = Path(out)
    if not path.parent.is_dir():
        raise ParameterError(f"Cannot write {path}: folder {path.parent} does not exist.")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    tmp.replace(path)
    return path


def _missing(value: Any) -> bool:
    try:
        return value is None or value != value
    except (TypeError, ValueError):
        return False
