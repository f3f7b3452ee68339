"""What the paper exports share: choosing codings by filters, writing files safely, and
the writing direction of a text.

:func:`select` turns the filters every export takes (codes, themes, case attributes,
status, coder, documents) into the codings, documents and code order to report;
:func:`atomic_write` and :func:`check_targets` make sure an export never replaces a file
unless asked and never leaves half a file behind; :func:`text_direction` says whether a
quote in Arabic, Hebrew, Persian or Urdu should be set right to left.
"""

from __future__ import annotations

import difflib
import os
import secrets
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from qualcode.errors import NotFoundError, ParameterError
from qualcode.model import CODING_STATUSES, Codebook, Coding, Document
from qualcode.project import Project

PathArg = str | PathLike[str]
Values = str | Sequence[str] | None

#: Theme label for codings whose code is not in the project's codebook.
UNKNOWN_THEME = "(not in the codebook)"


# -- opening ----------------------------------------------------------------------------------
@contextmanager
def opened(project: Project | PathArg) -> Iterator[Project]:
    """A project from a Project (left open) or a path (opened, then closed)."""
    if isinstance(project, Project):
        yield project
        return
    opened_project = Project.open(project)
    try:
        yield opened_project
    finally:
        opened_project.close()


# -- selection --------------------------------------------------------------------------------
@dataclass
class Selection:
    """The codings an export reports, with what it needs to group and describe them."""

    project: str
    codebook: Codebook | None
    documents: dict[str, Document]  # in scope, in project order
    codings: list[Coding]
    codes: list[str]  # codes in scope, codebook order (codes missing from it last)
    filters: dict[str, str] = field(default_factory=dict)  # for headers: name -> description

    def theme_of(self, code_id: str) -> str:
        book = self.codebook
        if book is not None and code_id in book:
            return book.theme_of(code_id)
        return UNKNOWN_THEME

    def name_of(self, code_id: str) -> str:
        book = self.codebook
        if book is not None and code_id in book:
            return book.get(code_id).name
        return code_id

    def colour_of(self, code_id: str) -> str | None:
        """The code's colour, else its theme's, as ``#rrggbb`` (None when unknown or unsafe)."""
        book = self.codebook
        if book is None or code_id not in book:
            return None
        for candidate in (code_id, book.theme_of(code_id)):
            colour = safe_colour(book.get(candidate).color)
            if colour:
                return colour
        return None

    def themes(self) -> list[str]:
        """Themes of the codes in scope, in codebook order (unknown codes last)."""
        return list(dict.fromkeys(self.theme_of(c) for c in self.codes))

    def codes_of_theme(self, theme: str) -> list[str]:
        return [c for c in self.codes if self.theme_of(c) == theme]


def safe_colour(value: str | None) -> str | None:
    """``#rgb``/``#rrggbb`` colours only: a codebook's colour goes into CSS and figures."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    digits = text[1:]
    if text.startswith("#") and len(digits) in (3, 6) and all(
        ch in "0123456789abcdefABCDEF" for ch in digits
    ):
        if len(digits) == 3:
            digits = "".join(ch * 2 for ch in digits)
        return f"#{digits.lower()}"
    return None


# -- writing direction ------------------------------------------------------------------------
#: A text is set right to left when more than this share of its words start with a
#: right-to-left letter. Less than half, because Arabic or Hebrew speech carries Latin names,
#: brands and loanwords ("Zoom", "WhatsApp", "EHCP"); Google Closure's bidi estimate uses
#: the same 40%. A browser's ``dir="auto"`` looks at the first letter only, so a quote
#: opening with "Zoom" would be laid out left to right.
RTL_SHARE = 0.4
_RTL_CLASSES = ("R", "AL")


def text_direction(text: str) -> str | None:
    """``"rtl"``, ``"ltr"``, or None for text without letters (numbers, punctuation).

    Each word counts by its first letter; URLs and e-mail addresses, Latin whatever the
    language, do not count. Right to left wins above :data:`RTL_SHARE` of the words.

    >>> text_direction("Zoom ساعدنا كثيرًا في الإغلاق"), text_direction("We said شكرا twice")
    ('rtl', 'ltr')
    """
    rtl = ltr = 0
    for word in text.split():
        if "://" in word or "@" in word:
            continue
        for ch in word:
            kind = unicodedata.bidirectional(ch)
            if kind == "L":
                ltr += 1
                break
            if kind in _RTL_CLASSES:
                rtl += 1
                break
    if rtl + ltr == 0:
        return None
    return "rtl" if rtl > RTL_SHARE * (rtl + ltr) else "ltr"


def dir_attribute(text: str, within: str = "ltr") -> str:
    """`` dir="rtl"`` (or ``"ltr"``) for an HTML element that holds ``text``, when its
    direction differs from the ``within`` direction of the element around it; else "".

    Our pages and displays are left to right (their labels are English), so text without a
    right-to-left letter needs nothing there.
    """
    direction = text_direction(text)
    return f' dir="{direction}"' if direction is not None and direction != within else ""


def isolated(markup: str, text: str, within: str = "ltr") -> str:
    """``markup`` (the escaped ``text``) in a ``<bdi>`` with its direction, when that differs
    from the text around it, so a Hebrew name inside an English sentence neither takes the
    sentence's punctuation nor reorders it."""
    direction = dir_attribute(text, within)
    return f"<bdi{direction}>{markup}</bdi>" if direction else markup


def as_list(value: Values) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def select(
    project: Project,
    *,
    codes: Values = None,
    themes: Values = None,
    attributes: Mapping[str, str | Sequence[str]] | None = None,
    status: Values = "accepted",
    coder: Values = None,
    documents: Values = None,
    where: str,
) -> Selection:
    """Apply the export filters to a project (``where`` names the caller, for errors)."""
    book = project.codebook
    all_documents = list(project.documents)
    filters: dict[str, str] = {}

    # documents: by id, then by case attributes
    in_scope = all_documents
    wanted_documents = as_list(documents)
    if wanted_documents is not None:
        known = {d.id for d in all_documents}
        missing = [d for d in wanted_documents if d not in known]
        if missing:
            project.documents[missing[0]]  # raises the store's "did you mean" error
        in_scope = [d for d in in_scope if d.id in set(wanted_documents)]
        filters["documents"] = ", ".join(wanted_documents)
    for name, value in (attributes or {}).items():
        wanted = as_list(value) or []
        in_scope = [d for d in in_scope if _attribute_matches(d, name, wanted)]
        _check_attribute(all_documents, name, wanted, where)
        filters[name] = " or ".join(wanted)

    # statuses and coders
    statuses = as_list(status)
    if statuses is None or statuses == ["all"]:
        statuses = list(CODING_STATUSES)
    else:
        bad = [s for s in statuses if s not in CODING_STATUSES]
        if bad:
            raise ParameterError(
                f"The 'status' parameter of {where} must be one of "
                f"{', '.join(CODING_STATUSES)} or 'all'. Got {bad[0]!r} instead."
            )
    filters["status"] = " or ".join(statuses)
    coders = as_list(coder)
    if coders is not None:
        found = {c.coder for c in project.codings()}
        unknown = [c for c in coders if c not in found]
        if unknown:
            raise NotFoundError(
                f"No codings by coder {unknown[0]!r} in this project. Coders: "
                f"{', '.join(sorted(found)) or 'none'}."
            )
        filters["coder"] = " or ".join(coders)

    document_ids = {d.id for d in in_scope}
    codings = [
        c for c in project.codings(status=statuses, coder=coders)
        if c.document_id in document_ids and c.end > c.start
    ]

    # codes: the codebook's order; codes only the codings know come last, sorted. A theme
    # or parent code is listed only when something is coded with it directly.
    used = {c.code_id for c in codings}
    leaves = {c.id for c in book.leaves()} if book is not None else set()
    ordered = [c.id for c in book if c.id in leaves or c.id in used] if book else []
    extra = sorted({c.code_id for c in codings} - set(ordered))
    scope = _code_scope(book, as_list(codes), as_list(themes), where)
    if scope is None:
        code_list = ordered + extra
    else:
        code_list = [c for c in ordered if c in scope]
        if codes is not None:
            filters["codes"] = ", ".join(as_list(codes) or [])
        if themes is not None:
            filters["themes"] = ", ".join(as_list(themes) or [])
    allowed = set(code_list)
    codings = [c for c in codings if c.code_id in allowed]
    return Selection(
        project=str(project.path),
        codebook=book,
        documents={d.id: d for d in in_scope},
        codings=codings,
        codes=code_list,
        filters=filters,
    )


def _code_scope(
    book: Codebook | None, codes: list[str] | None, themes: list[str] | None, where: str
) -> set[str] | None:
    # Union of the codes named and every code under the themes (or parent codes) named.
    if codes is None and themes is None:
        return None
    if book is None:
        raise ParameterError(
            f"{where} can filter by code or theme only when the project has a codebook."
        )
    scope: set[str] = set()
    for kind, names in (("code", codes or []), ("theme", themes or [])):
        for name in names:
            code = book.resolve(name)
            if kind == "theme" and code.parent is not None:
                raise ParameterError(
                    f"The 'themes' parameter of {where} takes top-level codes; "
                    f"{code.id!r} is under {book.theme_of(code.id)!r}. Pass it in 'codes'."
                )
            scope |= _descendants(book, code.id)
    return scope


def _descendants(book: Codebook, code_id: str) -> set[str]:
    out = {code_id}
    for child in book.children(code_id):
        out |= _descendants(book, child.id)
    return out


def _fold(text: object) -> str:
    return str(text).strip().casefold()


def _attribute_matches(document: Document, name: str, wanted: list[str]) -> bool:
    value = document.attributes.get(name)
    return value is not None and _fold(value) in {_fold(w) for w in wanted}


def _check_attribute(documents: list[Document], name: str, wanted: list[str], where: str) -> None:
    # A typo in a filter would silently export nothing: name what exists instead.
    names = sorted({k for d in documents for k in d.attributes})
    if name not in names:
        raise ParameterError(
            f"No document has the attribute {name!r} (filter of {where})."
            f"{_did_you_mean(name, names)} Attributes: {', '.join(names) or 'none'}."
        )
    values = sorted({str(d.attributes[name]) for d in documents if name in d.attributes})
    folded = {_fold(v) for v in values}
    missing = [w for w in wanted if _fold(w) not in folded]
    if missing:
        raise ParameterError(
            f"No document has {name} = {missing[0]!r} (filter of {where})."
            f"{_did_you_mean(missing[0], values)} Values: {', '.join(values)}."
        )


def _did_you_mean(typed: str, known: Sequence[str]) -> str:
    """`` Did you mean 'Oakview'?`` for a close match of ``typed`` (case ignored), or ''."""
    by_fold = {_fold(k): k for k in known}
    close = difflib.get_close_matches(_fold(typed), list(by_fold), n=1, cutoff=0.6)
    return f" Did you mean {by_fold[close[0]]!r}?" if close else ""


def attribute_names(documents: Sequence[Document]) -> list[str]:
    return sorted({k for d in documents for k in d.attributes})


# -- spans ------------------------------------------------------------------------------------
class SpanIndex:
    """Find which of a document's spans (segments, codings) overlap a range, quickly.

    ``items`` are objects with ``start`` and ``end`` offsets.
    """

    def __init__(self, items: Sequence[Any]) -> None:
        import bisect

        self._bisect = bisect.bisect_left
        self.items = sorted(items, key=lambda item: (item.start, item.end))
        self._starts = [item.start for item in self.items]
        # Running maximum of ends: stops the backward scan correctly even if spans overlap.
        self._reach, top = [], -1
        for item in self.items:
            top = max(top, item.end)
            self._reach.append(top)

    def overlapping(self, start: int, end: int) -> list[Any]:
        """The items sharing at least one character with ``[start, end)``, in text order."""
        hits = []
        i = self._bisect(self._starts, end) - 1
        while i >= 0 and self._reach[i] > start:
            if self.items[i].end > start:
                hits.append(self.items[i])
            i -= 1
        return hits[::-1]


@dataclass
class MergedSpan:
    """Codings of one code in one document merged where they overlap or touch."""

    document: str
    code: str
    start: int
    end: int
    codings: list[Coding]

    @property
    def key(self) -> tuple[str, str, int, int]:
        return (self.document, self.code, self.start, self.end)

    @property
    def coders(self) -> tuple[str, ...]:
        return tuple(sorted({c.coder for c in self.codings}))

    @property
    def confidence(self) -> float | None:
        values = [c.confidence for c in self.codings if c.confidence is not None]
        return max(values) if values else None


def merge_codings(codings: Sequence[Coding]) -> list[MergedSpan]:
    """Merge codings of the same code in the same document that overlap or touch."""
    groups: dict[tuple[str, str], list[Coding]] = defaultdict(list)
    for coding in codings:
        groups[(coding.document_id, coding.code_id)].append(coding)
    spans: list[MergedSpan] = []
    for (document, code), items in groups.items():
        items.sort(key=lambda c: (c.start, c.end))
        current: MergedSpan | None = None
        for coding in items:
            if current is not None and coding.start <= current.end:
                current.end = max(current.end, coding.end)
                current.codings.append(coding)
            else:
                current = MergedSpan(document, code, coding.start, coding.end, [coding])
                spans.append(current)
    return spans


# -- files ------------------------------------------------------------------------------------
def check_targets(paths: Sequence[Path], *, overwrite: bool, where: str) -> None:
    """Refuse (before writing anything) when an output file exists and ``overwrite`` is False."""
    existing = [p for p in paths if p.exists()]
    if existing and not overwrite:
        listed = ", ".join(str(p) for p in existing[:5])
        more = f" and {len(existing) - 5} more" if len(existing) > 5 else ""
        raise ParameterError(
            f"{listed}{more} already exist{'s' if len(existing) == 1 else ''}. {where} never "
            "replaces a file unless asked: pass overwrite=True (--force), or choose another "
            "path."
        )
    for path in paths:
        if path.is_dir():
            raise ParameterError(f"{path} is a folder; give a file name to write.")
        if not path.parent.is_dir():
            raise ParameterError(
                f"Cannot write {path}: the folder {path.parent} does not exist."
            )


def report_files(out_dir: Path, names: Sequence[str], *, overwrite: bool) -> dict[str, Path]:
    """The files a report writes into ``out_dir``, {file name: path}; refuses (before any
    work) a folder that is a file, or one holding any of them unless ``overwrite``."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ParameterError(f"The report folder {out_dir} is a file; give a folder.")
    paths = {name: out_dir / name for name in names}
    existing = [name for name, path in paths.items() if path.exists()]
    if existing and not overwrite:
        raise ParameterError(
            f"{out_dir} already holds {', '.join(existing)}; pass overwrite=True "
            "(--overwrite) to replace them, or choose another folder.")
    return paths


def atomic_write(path: Path, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    A reader never sees half a file, and a failure leaves any existing file untouched.
    """
    # A fresh name the writer creates itself, so the file gets the usual permissions
    # (mkstemp would leave it readable by its owner only).
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        if not tmp.exists():
            break
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
