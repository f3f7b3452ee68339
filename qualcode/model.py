"""The values qualcode works with: documents, segments, codes, codebooks, codings.

All are frozen; an edit returns a copy (``dataclasses.replace`` or the ``with_*`` methods).

Offsets
-------
Every span (a :class:`Segment`, a :class:`Coding`) is a pair of character offsets
``[start, end)`` into :attr:`Document.text`, counted in Python ``str`` characters (Unicode
code points). The stored text is the *normalised* text of the source: a byte-order mark is
removed and every line end (``\\r\\n``, ``\\r``) becomes ``\\n`` before any offset is taken,
so an offset never depends on the platform that wrote the file. Text of a span is always
derived from the document (``document.text[start:end]``), never stored a second time.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from functools import cached_property
from types import MappingProxyType
from typing import Any, Literal

from qualcode.errors import CodebookError, NotFoundError, ParameterError

__all__ = [
    "CODING_STATUSES",
    "SEGMENT_KINDS",
    "Code",
    "Codebook",
    "Coding",
    "Corpus",
    "Document",
    "DocumentColumns",
    "Memo",
    "Segment",
    "content_hash",
    "normalise_text",
]

SegmentKind = Literal["turn", "paragraph", "sentence"]
SEGMENT_KINDS: tuple[str, ...] = ("turn", "paragraph", "sentence")
CodingStatus = Literal["suggested", "accepted", "rejected"]
CODING_STATUSES: tuple[str, ...] = ("suggested", "accepted", "rejected")

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def normalise_text(text: str, *, line_ends: bool = True) -> str:
    """Apply the offset rule: drop a leading BOM, turn ``\\r\\n`` and ``\\r`` into ``\\n``.

    ``line_ends=False`` only drops the BOM, for a reader that normalises what it reads of
    the text line by line (the CSV reader: a cell of several lines).
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    if not line_ends or "\r" not in text:  # "\r" is one quick scan; "\r\n" a slow one
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def content_hash(text: str) -> str:
    """SHA-256 of the UTF-8 text: identifies a document's content (and cache entries)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _frozen_mapping(mapping: Mapping[str, object] | None) -> Mapping[str, object]:
    return MappingProxyType(dict(mapping or {}))


def check_span(document_id: str, text_length: int, start: int, end: int, what: str) -> None:
    """Raise if ``[start, end)`` does not lie inside a text of ``text_length`` characters."""
    if not (isinstance(start, int) and isinstance(end, int)):
        raise ParameterError(f"The offsets of a {what} must be integers. Got {start!r}, {end!r}.")
    if not 0 <= start <= end <= text_length:
        raise ParameterError(
            f"A {what} in document '{document_id}' must satisfy 0 <= start <= end <= "
            f"{text_length} (the document's length). Got start={start}, end={end} instead."
        )


def check_document_id(document_id: object) -> None:
    """Raise unless ``document_id`` is a non-empty string (not only whitespace)."""
    if not isinstance(document_id, str) or not document_id.strip():
        raise ParameterError(
            f"A document id must be a non-empty string. Got {document_id!r}.")


def check_role(role: object, what: str) -> None:
    """Raise unless ``role`` is a speaker role: ``interviewer``, ``participant`` or None."""
    if role not in (None, "interviewer", "participant"):
        raise ParameterError(
            f"The 'role' of a {what} must be 'interviewer', 'participant' or None. "
            f"Got {role!r} instead."
        )


@dataclass(frozen=True)
class Document:
    """One source text (an interview, a focus group, a survey response).

    ``text`` is normalised (see the module docstring); ``attributes`` are case attributes
    (setting, role, date, ...) as strings; ``source`` is the path it was read from.
    """

    id: str
    text: str = field(repr=False)  # a whole transcript is no repr
    attributes: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None
    content_hash: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        check_document_id(self.id)
        object.__setattr__(self, "attributes", _frozen_mapping(self.attributes))
        expected = content_hash(self.text)
        if self.content_hash and self.content_hash != expected:
            raise ParameterError(
                f"Document '{self.id}': content_hash does not match its text; pass no hash "
                "and it is computed."
            )
        object.__setattr__(self, "content_hash", expected)

    def __hash__(self) -> int:
        return hash((self.id, self.content_hash))

    @classmethod
    def from_checked(cls, row: Sequence[Any]) -> Document:
        """A document from values already checked (every field, in declaration order): an
        id that passes :func:`check_document_id`, ``attributes`` a read-only mapping
        (``MappingProxyType``) that no one changes, and ``content_hash`` the hash of ``text``.

        Skips ``__post_init__``'s checks and its copy of the attributes, as
        :meth:`Segment.from_checked` does: a survey table makes one document per row.
        """
        document = object.__new__(cls)
        document.__dict__.update(zip(_DOCUMENT_FIELDS, row))  # noqa: B905 (rows are full width)
        return document

    def span(self, start: int, end: int) -> str:
        """The text between two offsets, after checking them."""
        check_span(self.id, len(self.text), start, end, "span")
        return self.text[start:end]

    def _repr_html_(self) -> str:
        from qualcode.display import document_html

        return document_html(self)

    def with_attributes(self, **attributes: str) -> Document:
        """A copy with these attributes added or replaced."""
        return replace(self, attributes={**self.attributes, **attributes}, content_hash="")

    @property
    def word_count(self) -> int:
        return len(self.text.split())


_DOCUMENT_FIELDS = tuple(f.name for f in fields(Document))


@dataclass(frozen=True)
class Segment:
    """A unit of analysis: a view on ``[start, end)`` of one document.

    Build one with :meth:`Segment.of`, which checks the offsets and derives ``text`` from
    the document; ``text`` is never stored on disk.
    """

    document_id: str
    start: int
    end: int
    text: str = field(repr=False)
    kind: str = "turn"
    index: int = 0
    speaker: str | None = None
    role: str | None = None
    start_time: float | None = None
    end_time: float | None = None

    def __post_init__(self) -> None:
        check_role(self.role, "segment")
        if self.kind not in SEGMENT_KINDS:
            raise ParameterError(
                f"The 'kind' of a segment must be one of {', '.join(SEGMENT_KINDS)}. "
                f"Got {self.kind!r} instead."
            )
        if len(self.text) != self.end - self.start:
            raise ParameterError(
                f"Segment text of document '{self.document_id}' does not match its offsets "
                f"{self.start}-{self.end}; build segments with Segment.of(document, ...)."
            )

    @classmethod
    def of(
        cls,
        document: Document,
        start: int,
        end: int,
        *,
        kind: str = "turn",
        index: int = 0,
        speaker: str | None = None,
        role: str | None = None,
        start_time: float | None = None,
        end_time: float | None = None,
    ) -> Segment:
        """A segment of ``document``; its text is ``document.text[start:end]``."""
        text = document.span(start, end)
        return cls(
            document.id, start, end, text, kind, index, speaker, role, start_time, end_time
        )

    @classmethod
    def from_checked(cls, row: Sequence[Any]) -> Segment:
        """A segment from values already checked (every field, in declaration order): the
        role, a valid kind, and text that is the document's text between the offsets.

        Skips ``__post_init__``'s checks: nearly twice as fast, which matters when ingest
        cuts hundreds of thousands of segments (it checks each turn once instead).
        """
        segment = object.__new__(cls)
        segment.__dict__.update(zip(_SEGMENT_FIELDS, row))  # noqa: B905 (rows are full width)
        return segment

    @property
    def key(self) -> tuple[str, int, int]:
        """(document id, start, end): identifies a segment within a project."""
        return (self.document_id, self.start, self.end)


_SEGMENT_FIELDS = tuple(f.name for f in fields(Segment))


@dataclass(frozen=True)
class Corpus:
    """Documents and their segments, as ingest produces them (before any project)."""

    documents: tuple[Document, ...]
    segments: tuple[Segment, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "documents", tuple(self.documents))
        object.__setattr__(self, "segments", tuple(self.segments))
        check_unique_ids([d.id for d in self.documents])

    def __len__(self) -> int:
        return len(self.documents)

    def __iter__(self) -> Iterator[Document]:
        return iter(self.documents)

    def document(self, document_id: str) -> Document:
        for doc in self.documents:
            if doc.id == document_id:
                return doc
        raise NotFoundError(f"No document '{document_id}' in this corpus.")

    def segments_of(self, document_id: str) -> tuple[Segment, ...]:
        return tuple(s for s in self.segments if s.document_id == document_id)


def check_unique_ids(ids: Sequence[str]) -> None:
    """Raise unless the document ids of a corpus are unique."""
    if len(set(ids)) == len(ids):
        return
    duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
    raise ParameterError(
        f"Document ids must be unique in a corpus. Got duplicates: {', '.join(duplicates)}."
    )


@dataclass(frozen=True, repr=False)
class DocumentColumns:
    """Documents of one segment each (a survey table's answers), as columns: what a project
    stores (:meth:`Project.add_corpus <qualcode.project.Project.add_corpus>`) without making
    a :class:`Document` and a :class:`Segment` per answer, of which a survey has 100,000s.

    Document ``ids[i]`` has the text ``texts[i]``, read from ``source``; its one segment is
    a participant's turn ``[starts[i], ends[i])`` (no speaker, no times). Its attributes
    are ``attribute_names[j]: attribute_values[j][i]`` for each value that is not empty, in
    that order, and then ``extra_attributes[ids[i]]`` (a cases table's) on top.

    Checked when made, column by column, as :class:`Document`, :class:`Segment` and
    :class:`Corpus` check theirs: ids are non-empty and unique, segments lie inside their
    text.
    """

    ids: Sequence[str]
    texts: Sequence[str]
    starts: Sequence[int]
    ends: Sequence[int]
    source: str | None = None
    attribute_names: Sequence[str] = ()
    attribute_values: Sequence[Sequence[str]] = ()
    extra_attributes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("ids", "texts", "starts", "ends", "attribute_names"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "attribute_values", tuple(map(tuple, self.attribute_values)))
        object.__setattr__(self, "extra_attributes", MappingProxyType(
            {k: _frozen_mapping(v) for k, v in self.extra_attributes.items()}))
        count = len(self.ids)
        if len(self.attribute_values) != len(self.attribute_names) or any(
                len(column) != count for column in
                (self.texts, self.starts, self.ends, *self.attribute_values)):
            raise ParameterError(
                "The columns of DocumentColumns must hold one value per id, and "
                "attribute_values one column per attribute name. Got "
                f"{count} ids, {len(self.texts)} texts, {len(self.starts)} starts, "
                f"{len(self.ends)} ends and {len(self.attribute_values)} attribute columns "
                f"for {len(self.attribute_names)} names."
            )
        if len(set(self.attribute_names)) < len(self.attribute_names):
            raise ParameterError(
                "The attribute names of DocumentColumns must be unique. Got "
                f"{', '.join(self.attribute_names)}."
            )
        # whole columns at once; the checks one value at a time only name the first wrong one
        # (str.strip and int.__le__ refuse anything but a str and an int, as they do)
        try:
            ids_fit = all(map(str.strip, self.ids))
        except TypeError:
            ids_fit = False
        if not ids_fit:
            for document_id in self.ids:
                check_document_id(document_id)
        check_unique_ids(self.ids)
        lengths = self.lengths
        try:
            spans_fit = (all(map(int.__le__, self.ends, lengths))
                         and all(map(int.__le__, self.starts, self.ends))
                         and min(self.starts, default=0) >= 0)
        except TypeError:
            spans_fit = False
        if not spans_fit:
            for document_id, length, start, end in zip(
                    self.ids, lengths, self.starts, self.ends, strict=True):
                check_span(document_id, length, start, end, "turn")

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:  # the columns themselves are no repr
        return f"DocumentColumns({len(self.ids)} documents from {self.source!r})"

    @cached_property
    def lengths(self) -> tuple[int, ...]:
        """The length of each text (checked against the segments, and stored)."""
        return tuple(map(len, self.texts))

    @cached_property
    def content_hashes(self) -> tuple[str, ...]:
        """The :func:`content_hash` of each text (worked out when first asked for)."""
        sha256 = hashlib.sha256  # content_hash() inlined: 100,000s of calls
        return tuple([sha256(text.encode("utf-8")).hexdigest() for text in self.texts])

    def own_attributes(self) -> Iterator[dict[str, str]]:
        """Each document's attributes from its row (``extra_attributes`` not included)."""
        names = self.attribute_names
        rows = zip(*self.attribute_values, strict=True) if names else ((),) * len(self.ids)
        return ({name: value for name, value in zip(names, row, strict=True) if value}
                for row in rows)


@dataclass(frozen=True)
class Code:
    """A code or theme of a codebook. Themes are codes at the top (``parent is None``).

    ``examples`` and ``keywords`` feed the coders; ``patterns`` are regular expressions.
    """

    id: str
    name: str = ""
    parent: str | None = None
    definition: str = ""
    include: str = ""
    exclude: str = ""
    examples: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    color: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID.match(self.id):
            raise ParameterError(
                "A code id must start with a letter or digit and hold only letters, digits, "
                f"'_', '-' and '.'. Got {self.id!r} instead."
            )
        if not self.name:
            object.__setattr__(self, "name", self.id)
        for name in ("examples", "keywords", "patterns"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


@dataclass(frozen=True)
class Codebook:
    """A version of a codebook: codes in order, nested by ``parent``.

    Edits return a new :class:`Codebook` whose ``version`` is one higher.
    """

    name: str = "codebook"
    codes: tuple[Code, ...] = ()
    version: int = 1
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "codes", tuple(self.codes))
        validate_codes(self.codes)

    # -- display ----------------------------------------------------------------
    def _repr_html_(self) -> str:
        from qualcode.display import codebook_html

        return codebook_html(self)

    def _repr_pretty_(self, printer, cycle: bool) -> None:  # IPython's plain-text display
        from qualcode.display import codebook_text

        printer.text(codebook_text(self))

    # -- lookup -----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.codes)

    def __iter__(self) -> Iterator[Code]:
        return iter(self.codes)

    def __contains__(self, code_id: object) -> bool:
        return any(c.id == code_id for c in self.codes)

    def get(self, code_id: str) -> Code:
        """The code with this id, or :class:`NotFoundError` naming the close matches."""
        for code in self.codes:
            if code.id == code_id:
                return code
        raise NotFoundError(_unknown_code_message(code_id, [c.id for c in self.codes]))

    def children(self, code_id: str | None) -> tuple[Code, ...]:
        return tuple(c for c in self.codes if c.parent == code_id)

    @property
    def themes(self) -> tuple[Code, ...]:
        """Top-level codes."""
        return self.children(None)

    def leaves(self) -> tuple[Code, ...]:
        """Codes without children: what segments are coded with."""
        parents = {c.parent for c in self.codes}
        return tuple(c for c in self.codes if c.id not in parents)

    def theme_of(self, code_id: str) -> str:
        """The id of the top-level ancestor of a code (itself for a theme)."""
        code = self.get(code_id)
        while code.parent is not None:
            code = self.get(code.parent)
        return code.id

    def ancestors(self, code_id: str) -> tuple[str, ...]:
        out = []
        code = self.get(code_id)
        while code.parent is not None:
            out.append(code.parent)
            code = self.get(code.parent)
        return tuple(out)

    def path(self, code_id: str) -> str:
        """``theme/…/code`` ids."""
        return "/".join((*reversed(self.ancestors(code_id)), code_id))

    def resolve(self, name_or_id: str) -> Code:
        """A code by id, else by exact name, else by case-insensitive name or id."""
        for code in self.codes:
            if code.id == name_or_id:
                return code
        for code in self.codes:
            if code.name == name_or_id:
                return code
        folded = name_or_id.strip().casefold()
        for code in self.codes:
            if code.id.casefold() == folded or code.name.strip().casefold() == folded:
                return code
        raise NotFoundError(_unknown_code_message(name_or_id, [c.id for c in self.codes]))

    # -- edits: each returns the next version -----------------------------------
    def with_code(self, code: Code) -> Codebook:
        """Add a code, or replace the one with the same id (keeping its position)."""
        if code.id in self:
            codes = tuple(code if c.id == code.id else c for c in self.codes)
        else:
            codes = (*self.codes, code)
        return replace(self, codes=codes, version=self.version + 1)

    def without_code(self, code_id: str) -> Codebook:
        """Remove a code; its children move up to its parent."""
        removed = self.get(code_id)
        codes = tuple(
            replace(c, parent=removed.parent) if c.parent == code_id else c
            for c in self.codes
            if c.id != code_id
        )
        return replace(self, codes=codes, version=self.version + 1)

    def renamed(self, code_id: str, name: str) -> Codebook:
        return self.with_code(replace(self.get(code_id), name=name))

    def to_frame(self):  # -> pandas.DataFrame
        """One row per code: id, name, parent, theme, definition, criteria, counts."""
        import pandas as pd

        rows = [
            {
                "id": c.id,
                "name": c.name,
                "parent": c.parent,
                "theme": self.theme_of(c.id),
                "definition": c.definition,
                "include": c.include,
                "exclude": c.exclude,
                "examples": len(c.examples),
                "keywords": ", ".join(c.keywords),
                "color": c.color,
            }
            for c in self.codes
        ]
        return pd.DataFrame(rows, columns=[
            "id", "name", "parent", "theme", "definition", "include", "exclude",
            "examples", "keywords", "color",
        ])


def _unknown_code_message(code_id: str, known: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(str(code_id), list(known), n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return f"No code '{code_id}' in the codebook.{hint}"


def validate_codes(codes: Iterable[Code]) -> None:
    """Unique ids, parents that exist, no cycles. Raises :class:`CodebookError`."""
    problems = code_problems(codes)
    if problems:
        _, field_name, message = problems[0]
        raise CodebookError(message, field=field_name)


def code_problems(codes: Iterable[Code]) -> list[tuple[str, str, str]]:
    """Every id used twice, parent that does not exist and cycle, as (code id, field,
    message) in code order: what :func:`validate_codes` raises the first of, for a loader
    that lists them all with their lines."""
    codes = list(codes)
    problems: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for code in codes:
        if code.id in seen:
            problems.append(
                (code.id, "id", f"Code id '{code.id}' is used twice; ids must be unique."))
        seen.add(code.id)
    parent_of = {c.id: c.parent for c in codes}
    cycles: set[frozenset[str]] = set()
    for code in codes:
        if code.parent is not None and code.parent not in parent_of:
            problems.append((code.id, "parent", f"Code '{code.id}' names parent "
                             f"'{code.parent}', which is not in the codebook; add it or fix the "
                             "parent."))
            continue
        chain, node = [code.id], code.parent
        while node is not None and node in parent_of:
            if node in chain:
                members = chain[chain.index(node):]
                if frozenset(members) not in cycles:  # one problem per cycle, not per member
                    cycles.add(frozenset(members))
                    cycle = " -> ".join([*members, node])
                    problems.append((code.id, "parent", f"Codes form a cycle: {cycle}; give "
                                     "one of them another parent (or none)."))
                break
            chain.append(node)
            node = parent_of[node]
    return problems


def now_iso() -> str:
    """The current UTC time as an ISO 8601 string (seconds): stamps codings and memos."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Coding:
    """A code applied to ``[start, end)`` of a document, with its provenance.

    ``coder`` is a person's name or a machine coder's name; ``method`` says how
    (``manual``, ``import``, ``rules``, ``semantic``, ``supervised``, ...); ``status`` is
    ``suggested`` until a person accepts or rejects it. ``reason`` is the machine's
    explanation a person can read. ``id`` is assigned by the project store.
    """

    document_id: str
    start: int
    end: int
    code_id: str
    coder: str
    method: str = "manual"
    confidence: float | None = None
    status: str = "accepted"
    reason: str = ""
    memo: str = ""
    created: str = field(default_factory=now_iso)
    id: int | None = None

    def __post_init__(self) -> None:
        if self.status not in CODING_STATUSES:
            raise ParameterError(
                f"The 'status' of a coding must be one of {', '.join(CODING_STATUSES)}. "
                f"Got {self.status!r} instead."
            )
        if not (isinstance(self.start, int) and isinstance(self.end, int)) or not (
            0 <= self.start <= self.end
        ):
            raise ParameterError(
                f"A coding must satisfy 0 <= start <= end. Got start={self.start!r}, "
                f"end={self.end!r} instead (document '{self.document_id}')."
            )
        if self.confidence is not None and not 0.0 <= float(self.confidence) <= 1.0:
            raise ParameterError(
                f"The 'confidence' of a coding must be in [0, 1]. Got {self.confidence!r} instead."
            )
        if not self.coder:
            raise ParameterError("A coding needs a coder name (a person or a machine coder).")

    @classmethod
    def from_store(cls, row: Sequence[Any]) -> Coding:
        """A coding from a project store row (every field, in declaration order).

        Every row was checked when it was stored, so this skips ``__post_init__``'s
        checks: twice as fast, which matters for queries returning many rows.
        """
        coding = object.__new__(cls)
        values = coding.__dict__  # the fields in declaration order (a test checks)
        (values["document_id"], values["start"], values["end"], values["code_id"],
         values["coder"], values["method"], values["confidence"], values["status"],
         values["reason"], values["memo"], values["created"], values["id"]) = row
        return coding

    def overlaps(self, start: int, end: int) -> bool:
        """True when this coding shares at least one character with ``[start, end)``."""
        return self.start < end and start < self.end

    @property
    def key(self) -> tuple[str, int, int, str]:
        return (self.document_id, self.start, self.end, self.code_id)


@dataclass(frozen=True)
class Memo:
    """A researcher's note, attached to a document, a code, a coding, or the project."""

    text: str
    document_id: str | None = None
    code_id: str | None = None
    coding_id: int | None = None
    author: str | None = None
    created: str = field(default_factory=now_iso)
    id: int | None = None
