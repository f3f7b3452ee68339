"""Coding by hand from a notebook: a passage by its words or by its offsets, and memos.

A passage is found with the same tolerant matcher that imports codings tables
(:func:`qualcode.codings_table.locate_excerpt`): differences of whitespace, line breaks,
quote marks, dashes, letter case and accents are ignored, and ``...`` may stand for words
left out. A quote that is not there, or is there more than once, is an error that says
where it was looked for or lists every place it occurs, so the next call can name one.

>>> from qualcode.manual import code, memo                         # doctest: +SKIP
>>> code(project, "I'd go in the morning and not after four", "geographies_of_notoriety",
...      document="AP03_marcus", coder="alice")                     # doctest: +SKIP
>>> code(project, 7159, "intuition", document="AP03_marcus", end=7248, coder="alice")
...                                                                 # doctest: +SKIP
>>> memo(project, "Compare with Emma's account.", code="intuition", author="alice")
...                                                                 # doctest: +SKIP

The coder (a person's name) is given as ``coder=``, or once per session in the
``QUALCODE_CODER`` environment variable. Codings made here have method ``manual`` and
status ``accepted``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qualcode.errors import NotFoundError, ParameterError, parameter_error
from qualcode.model import Code, Coding

if TYPE_CHECKING:
    from qualcode.project import Project

__all__ = [
    "CODER_VARIABLE",
    "Occurrence",
    "code",
    "code_quote",
    "code_span",
    "find_quote",
    "memo",
    "person",
]

#: The environment variable that names the person coding when ``coder=`` is not given.
CODER_VARIABLE = "QUALCODE_CODER"
_LISTED = 8  # occurrences listed in an error message
_CONTEXT = 40  # characters of context shown on each side of an occurrence


def person(name: str | None, where: str, *, parameter: str = "coder",
           option: str = "--coder") -> str:
    """The name of the person coding: ``name``, else ``$QUALCODE_CODER``; an error if neither
    is set (``where`` names the function, ``parameter`` and ``option`` the argument and the
    command-line option that take the name, for the message)."""
    if name is None:
        name = os.environ.get(CODER_VARIABLE, "").strip() or None
    if name is None:
        raise ParameterError(
            f"{where} needs to know who is coding: pass {parameter}='your name' ({option} on "
            f"the command line), or set the {CODER_VARIABLE} environment variable once."
        )
    if not isinstance(name, str) or not name.strip():
        raise parameter_error(parameter, where, "a person's name", name)
    return name.strip()


@dataclass(frozen=True)
class Occurrence:
    """One place a quote occurs: document, offsets, the speaker of the turn it starts in,
    and the words around it."""

    document_id: str
    start: int
    end: int
    speaker: str | None
    before: str
    text: str
    after: str

    def __str__(self) -> str:
        speaker = f", {self.speaker}" if self.speaker else ""
        return (f"'{self.document_id}' characters {self.start}-{self.end}{speaker}: "
                f"…{self.before}[{self.text}]{self.after}…")


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)  # keeps one space at either end: words stay apart


def _clip(text: str, width: int, *, left: bool = False) -> str:
    text = _squash(text)
    if len(text) <= width:
        return text
    return text[-width:] if left else text[:width]


def _whole_words(text: str, start: int, end: int) -> bool:
    """True when ``[start, end)`` neither starts nor ends inside a word."""
    starts_clean = start == 0 or not (text[start - 1].isalnum() and text[start].isalnum())
    ends_clean = end == len(text) or not (text[end - 1].isalnum() and text[end].isalnum())
    return starts_clean and ends_clean


def find_quote(
    project: Project, quote: str, *, document: str | Sequence[str] | None = None
) -> list[Occurrence]:
    """Every place ``quote`` occurs in ``document`` (an id, several, or all documents when
    None), in project order then text order, matched tolerantly. Within a document,
    occurrences made of whole words are preferred: where there are any, matches that
    start or end inside a word are left out."""
    from qualcode.codings_table import locate_excerpt

    if not isinstance(quote, str):
        raise parameter_error("quote", "find_quote()", "a string of the passage's words",
                              type(quote).__name__)
    if not quote.strip():
        raise ParameterError("The quote to code is empty; give some of the passage's words.")
    if document is None:
        doc_ids = project.documents.ids
    else:
        doc_ids = [document] if isinstance(document, str) else list(document)
    found = []
    for doc_id in doc_ids:
        doc = project.documents[doc_id]  # NotFoundError with close matches
        spans = locate_excerpt(doc.text, quote)
        whole = [(a, b) for a, b in spans if _whole_words(doc.text, a, b)]
        spans = whole or spans  # "the" should not find "them" when "the" is there
        if not spans:
            continue
        segments = project.segments(document=doc_id)
        for start, end in spans:
            speaker = next((s.speaker for s in segments if s.start <= start < s.end), None)
            found.append(Occurrence(
                doc_id, start, end, speaker,
                _clip(doc.text[max(0, start - _CONTEXT * 2) : start], _CONTEXT, left=True),
                _clip(doc.text[start:end], 60),
                _clip(doc.text[end : end + _CONTEXT * 2], _CONTEXT),
            ))
    return found


def _closest(project: Project, quote: str, doc_ids: Sequence[str]) -> str:
    """Where the longest opening run of the quote's words occurs: a hint for a typo."""
    from qualcode.codings_table import locate_excerpt

    words = quote.split()
    best: tuple[int, str, int, int] | None = None
    for doc_id in doc_ids:
        text = project.documents[doc_id].text
        low, high, span = 0, len(words), None
        while low < high:  # the longest prefix of words that occurs (occurrence is monotone)
            mid = (low + high + 1) // 2
            spans = locate_excerpt(text, " ".join(words[:mid]))
            if spans:
                low, span = mid, spans[0]
            else:
                high = mid - 1
        if span is not None and (best is None or low > best[0]):
            best = (low, doc_id, *span)
    if best is None or best[0] < min(3, len(words)):
        return " Not even its first words occur there; check the spelling or the document."
    n, doc_id, start, end = best
    text = project.documents[doc_id].text
    return (f" Its first {n} of {len(words)} words occur in '{doc_id}' at characters "
            f"{start}-{end}, where the transcript goes on "
            f"'{_clip(text[end : end + 50], 50)}' and the quote goes on "
            f"'{' '.join(words[n : n + 8])}'.")


def _resolve_code(project: Project, code: str, *, new_code: bool, where: str) -> str:
    """The code id ``code`` names (an id, a name, any case); with ``new_code`` a missing code
    is added to the codebook (a new version)."""
    if not isinstance(code, str) or not code.strip():
        raise parameter_error("code", where, "a code id or name", code)
    book = project.codebook
    if book is None:
        if not new_code:
            raise ParameterError(
                f"{project.path} has no codebook, so code '{code}' is unknown. Set one "
                "first, or pass new_code=True to start a codebook with this code."
            )
    else:
        try:
            return book.resolve(code).id
        except NotFoundError:
            if not new_code:
                raise
    from qualcode.codebook import slugify
    from qualcode.model import Codebook

    name = " ".join(code.split())
    base = book or Codebook("codebook", version=0)
    new_id, n = slugify(name), 2
    while new_id in base:  # never replace an existing code
        new_id, n = f"{slugify(name)}_{n}", n + 1
    new = Code(new_id, name=name)
    project.set_codebook(base.with_code(new), note=f"code '{new.id}' added while coding by hand")
    return new.id


def code_span(
    project: Project,
    document: str,
    start: int,
    end: int,
    code: str,
    *,
    coder: str | None = None,
    memo: str = "",
    new_code: bool = False,
) -> Coding:
    """Apply ``code`` (an id or name) to characters ``[start, end)`` of ``document``.

    Stored as ``coder``'s accepted, manual coding (if that coder already has this very
    coding it is accepted again, not stored twice). Returns the stored :class:`Coding`
    with its id.
    """
    who = person(coder, "code_span()")
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise parameter_error(name, "code_span()", "a whole number (a character offset)",
                                  value)
    doc = project.documents[document]
    if not 0 <= start < end <= len(doc.text):
        raise ParameterError(
            f"The passage {start}-{end} must lie inside document '{doc.id}' (0-"
            f"{len(doc.text)}) and hold at least one character."
        )
    code_id = _resolve_code(project, code, new_code=new_code, where="code_span()")
    coding = Coding(doc.id, start, end, code_id, coder=who, method="manual",
                    status="accepted", memo=memo)
    new_ids = project.add_codings([coding])
    if new_ids:
        return project.coding(new_ids[0])
    existing = next(c for c in project.codings(document=doc.id, code=code_id, coder=who)
                    if (c.start, c.end) == (start, end))
    if existing.status != "accepted" and existing.id is not None:
        project.accept(existing.id, by=who)
    return project.coding(existing.id)  # type: ignore[arg-type]


def code_quote(
    project: Project,
    quote: str,
    code: str,
    *,
    document: str | None = None,
    coder: str | None = None,
    occurrence: int | None = None,
    memo: str = "",
    new_code: bool = False,
) -> Coding:
    """Apply ``code`` to the passage whose words are ``quote``.

    ``document`` narrows the search (all documents when None). A quote found in several
    places is an error listing them, unless ``occurrence`` (1 for the first, in document
    then text order) says which. Returns the stored :class:`Coding`.
    """
    who = person(coder, "code_quote()")
    hits = find_quote(project, quote, document=document)
    n_docs = len(project.documents)
    scope = f"document '{document}'" if document is not None else (
        f"the project's {n_docs} document{'' if n_docs == 1 else 's'}")
    if not hits:
        doc_ids = [document] if document is not None else project.documents.ids
        raise NotFoundError(
            f"The quote '{_clip(quote, 70)}' is not in {scope} (case, spacing, quote marks "
            "and dashes are ignored; '...' may stand for left-out words)."
            + _closest(project, quote, doc_ids)
        )
    if occurrence is not None:
        if not isinstance(occurrence, int) or isinstance(occurrence, bool) or not (
            1 <= occurrence <= len(hits)
        ):
            raise parameter_error("occurrence", "code_quote()",
                                  f"a whole number from 1 to {len(hits)} (the quote occurs "
                                  f"{len(hits)} time{'s' if len(hits) > 1 else ''})",
                                  occurrence)
        chosen = hits[occurrence - 1]
    elif len(hits) > 1:
        listed = "; ".join(f"{i}. {h}" for i, h in enumerate(hits[:_LISTED], 1))
        more = f"; and {len(hits) - _LISTED} more" if len(hits) > _LISTED else ""
        raise ParameterError(
            f"The quote '{_clip(quote, 70)}' occurs {len(hits)} times in {scope}: "
            f"{listed}{more}. Say which with occurrence=1..{len(hits)} (--occurrence), give "
            "document= (--document), or quote more words."
        )
    else:
        chosen = hits[0]
    return code_span(project, chosen.document_id, chosen.start, chosen.end, code, coder=who,
                     memo=memo, new_code=new_code)


def code(
    project: Project,
    quote_or_start: str | int,
    code: str,
    *,
    document: str | None = None,
    end: int | None = None,
    coder: str | None = None,
    occurrence: int | None = None,
    memo: str = "",
    new_code: bool = False,
) -> Coding:
    """Code a passage given by its words (``quote_or_start`` a string) or by its offsets
    (``quote_or_start`` the start, with ``end=`` and ``document=``). What
    ``Project.code`` does; see :func:`code_quote` and :func:`code_span`."""
    coder = person(coder, "code()")  # named here, so a missing coder names the call made
    if isinstance(quote_or_start, str):
        if end is not None:
            raise ParameterError(
                "code() got a quote and end=; give either the passage's words, or its start "
                "and end offsets."
            )
        return code_quote(project, quote_or_start, code, document=document, coder=coder,
                          occurrence=occurrence, memo=memo, new_code=new_code)
    if isinstance(quote_or_start, int) and not isinstance(quote_or_start, bool):
        if document is None or end is None:
            raise ParameterError(
                "Coding by offsets needs document= and end= as well as the start offset."
            )
        if occurrence is not None:
            raise ParameterError("occurrence= only applies when coding by a quote.")
        return code_span(project, document, quote_or_start, end, code, coder=coder,
                         memo=memo, new_code=new_code)
    raise parameter_error("quote_or_start", "code()",
                          "the passage's words (a string) or its start offset (an integer)",
                          quote_or_start)


def memo(
    project: Project,
    text: str,
    *,
    document: str | None = None,
    code: str | None = None,
    coding: int | Coding | None = None,
    author: str | None = None,
) -> int:
    """Write a memo about a document, a code (an id or name), a coding (its id, or the
    :class:`Coding` that :func:`code` returned), or the project; returns its id. ``author``
    defaults to ``$QUALCODE_CODER`` when that is set."""
    if isinstance(coding, Coding):
        if coding.id is None:
            raise ParameterError("This coding is not stored in a project: code it first "
                                 "(project.code), then write a memo on what that returns.")
        coding = coding.id
    if author is None:
        author = os.environ.get(CODER_VARIABLE, "").strip() or None
    code_id = None
    if code is not None:
        book = project.codebook
        code_id = book.resolve(code).id if book is not None else code
    return project.add_memo(text, document=document, code=code_id, coding=coding,
                            author=author)
