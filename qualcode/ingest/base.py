"""The reader registry and what a reader returns.

A reader is a function ``reader(path, *, document_id, encoding, **options)`` returning a
list of :class:`ParsedSource` (one for a transcript; one per row for a survey table),
registered for its suffixes with :func:`register_reader`. :func:`read_documents` finds the
reader for a path, checks the path and options, and calls it. A table reader may also
register a ``columns`` function that gives the same rows as one :class:`ParsedTable`,
which ingest stores without making an object per row.

>>> from qualcode.ingest.encoding import read_text_file          # doctest: +SKIP
>>> from qualcode.ingest.text import source_from_text             # doctest: +SKIP
>>> @register_reader(".trs", options=("unlabelled",))              # doctest: +SKIP
... def read_trs(path, *, document_id, encoding=None, unlabelled="auto"):
...     text, used = read_text_file(path, encoding=encoding)
...     return [source_from_text(document_id, text, path, "trs", encoding=used,
...                              unlabelled=unlabelled)]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from qualcode.errors import ParameterError, ReaderError
from qualcode.model import (
    Document,
    DocumentColumns,
    Segment,
    check_document_id,
    content_hash,
)

__all__ = [
    "COMMON_OPTIONS",
    "ParsedSource",
    "ParsedTable",
    "ReaderInfo",
    "Turn",
    "read_bytes",
    "read_document",
    "read_documents",
    "reader_for",
    "register_reader",
    "supported_suffixes",
]

ROLES = ("interviewer", "participant")

#: Options every reader understands (besides ``document_id`` and ``encoding``).
COMMON_OPTIONS = frozenset({"interviewers"})


class Turn(NamedTuple):
    """One speaker turn: ``[start, end)`` is its content (after the speaker label).

    ``speaker`` is the name as labelled (``"Sarah"`` for ``Sarah, Ash Grove:``), or None
    for unlabelled text; ``role`` is ``"interviewer"``, ``"participant"`` or None;
    ``start_time``/``end_time`` are seconds from the start of the recording, where known.
    An immutable named tuple (cheap: a long transcript has thousands).
    """

    start: int
    end: int
    speaker: str | None = None
    role: str | None = None
    start_time: float | None = None
    end_time: float | None = None


@dataclass(frozen=True)
class ParsedSource:
    """What a reader found in one document.

    ``text`` is normalised (see :mod:`qualcode.ingest`); ``turns`` are ordered,
    non-overlapping spans of it; ``attributes`` are case attributes found in the file
    itself (a title, survey columns); ``notes`` are things a researcher should know about
    how the file was read.
    """

    id: str
    text: str
    turns: tuple[Turn, ...]
    attributes: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None
    format: str = ""
    encoding: str | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "turns", tuple(self.turns))
        object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))
        object.__setattr__(self, "notes", tuple(self.notes))
        previous_end = 0
        length = len(self.text)
        roles = (None, *ROLES)
        for turn in self.turns:
            if not previous_end <= turn.start <= turn.end <= length:
                raise ParameterError(
                    f"Turns of '{self.id}' must be ordered, non-overlapping spans of its "
                    f"text. Got {turn.start}-{turn.end} after one ending at {previous_end} "
                    f"(text length {length})."
                )
            if turn.role not in roles:
                raise ParameterError(
                    f"The 'role' of a turn must be 'interviewer', 'participant' or None. "
                    f"Got {turn.role!r} instead."
                )
            previous_end = turn.end

    @classmethod
    def from_checked(cls, row: Sequence[Any]) -> ParsedSource:
        """A parsed source from values already checked (every field, in declaration order):
        ``turns`` a tuple of ordered, non-overlapping spans of the text with known roles,
        ``attributes`` a read-only mapping (``MappingProxyType``) of a dict no one else
        holds, ``notes`` a tuple.

        Skips ``__post_init__``'s checks and copies, as
        :meth:`Segment.from_checked <qualcode.model.Segment.from_checked>` does: a survey
        table makes one source per row, 100,000s of them.
        """
        source = object.__new__(cls)
        source.__dict__.update(zip(_PARSED_SOURCE_FIELDS, row))  # noqa: B905 (rows are full width)
        return source

    def to_document(self, **attributes: str) -> Document:
        """The :class:`~qualcode.model.Document`, with extra ``attributes`` on top of the file's."""
        if attributes:
            return Document(self.id, self.text, {**self.attributes, **attributes}, self.source)
        # the attributes are a read-only view of a dict only this source holds: the
        # document may share it instead of copying it (a corpus can have 100,000s)
        check_document_id(self.id)
        return Document.from_checked(
            (self.id, self.text, self.attributes, self.source, content_hash(self.text)))

    def segments(self, unit: str = "turns", document: Document | None = None) -> list[Segment]:
        """Segments of this source (``turns``, ``paragraphs`` or ``sentences``)."""
        from qualcode.ingest.segment import segment_turns

        return segment_turns(document or self.to_document(), self.turns, unit)

    @property
    def speakers(self) -> tuple[str, ...]:
        """Distinct speaker names, in order of first appearance."""
        return tuple(dict.fromkeys(t.speaker for t in self.turns if t.speaker is not None))


_PARSED_SOURCE_FIELDS = tuple(f.name for f in fields(ParsedSource))


@dataclass(frozen=True)
class ParsedTable:
    """What a table reader found, as columns: one document per row (``documents``, checked
    when made), each with the ``format`` and ``notes`` its :class:`ParsedSource` would carry.

    :meth:`sources` gives the rows as the sources a reader returns.
    """

    documents: DocumentColumns
    format: str = ""
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.documents)

    def sources(self) -> list[ParsedSource]:
        """One :class:`ParsedSource` per row: the answer as text and as its one turn."""
        columns = self.documents
        # made from the checked columns: turns inside their text with a known role, and
        # attributes that only this source sees
        return [ParsedSource.from_checked((
            document_id, text, (Turn(start, end, None, "participant"),),
            MappingProxyType(attributes), columns.source, self.format, None, self.notes))
            for document_id, text, start, end, attributes in zip(
                columns.ids, columns.texts, columns.starts, columns.ends,
                columns.own_attributes(), strict=True)]


ReaderFunction = Callable[..., Sequence[ParsedSource]]


@dataclass(frozen=True)
class ReaderInfo:
    """A registered reader: its function, suffixes and the options it accepts, and for a
    table, the function that reads it as a :class:`ParsedTable` (if there is one)."""

    function: ReaderFunction
    suffixes: tuple[str, ...]
    options: frozenset[str]
    is_table: bool = False
    columns: Callable[..., ParsedTable] | None = None

    @property
    def name(self) -> str:
        return self.function.__name__


_READERS: dict[str, ReaderInfo] = {}


def register_reader(
    *suffixes: str, options: Iterable[str] = (), table: bool = False,
    columns: Callable[..., ParsedTable] | None = None,
) -> Callable[[ReaderFunction], ReaderFunction]:
    """Register the decorated function as the reader of files with these suffixes.

    ``options`` names the keyword options it accepts besides ``document_id``, ``encoding``
    and the common ones; ``table=True`` marks a reader that makes one document per row
    (a folder's tables are only read when the caller names a text column); ``columns``
    is a function taking the same arguments that gives those rows as one
    :class:`ParsedTable`. A later registration for a suffix replaces the earlier one.
    """
    if not suffixes:
        raise ParameterError("register_reader() needs at least one suffix, e.g. '.txt'.")
    normalised = []
    for suffix in suffixes:
        if not isinstance(suffix, str) or not suffix.startswith(".") or len(suffix) < 2:
            raise ParameterError(
                f"A reader suffix must start with '.', like '.txt'. Got {suffix!r} instead."
            )
        normalised.append(suffix.lower())

    def decorate(function: ReaderFunction) -> ReaderFunction:
        info = ReaderInfo(function, tuple(normalised), frozenset(options) | COMMON_OPTIONS,
                          table, columns)
        for suffix in normalised:
            _READERS[suffix] = info
        return function

    return decorate


def supported_suffixes() -> tuple[str, ...]:
    """Every suffix a reader is registered for, sorted (``('.csv', '.docx', ...)``)."""
    _load_builtin_readers()
    return tuple(sorted(_READERS))


def reader_for(path: str | PathLike[str]) -> ReaderInfo | None:
    """The reader registered for this path's suffix (case-insensitive), or None."""
    _load_builtin_readers()
    return _READERS.get(_as_path(path).suffix.lower())


def _as_path(path: str | PathLike[str]) -> Path:
    # Path(path) parses a Path over again: a cost that shows over thousands of files
    return path if isinstance(path, Path) else Path(path)


def known_options() -> frozenset[str]:
    """Every option some registered reader accepts."""
    _load_builtin_readers()
    out: set[str] = set(COMMON_OPTIONS)
    for info in _READERS.values():
        out |= info.options
    return frozenset(out)


def check_options(options: Mapping[str, Any], where: str) -> None:
    """Raise :class:`ParameterError` for an option no reader accepts (a typo)."""
    if not options:
        return
    unknown = sorted(set(options) - known_options())
    if unknown:
        import difflib

        name = unknown[0]
        close = difflib.get_close_matches(name, sorted(known_options()), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ParameterError(
            f"{where} got an unknown reader option '{name}'.{hint} Reader options are: "
            f"{', '.join(sorted(known_options()))}."
        )


def _load_builtin_readers() -> None:
    # Importing the modules registers their readers; each is light (heavy libraries load
    # inside the reader functions).
    from qualcode.ingest import office, subtitles, tables, text  # noqa: F401


def read_bytes(path: str | PathLike[str], *, limit: int | None = None) -> bytes:
    """The bytes of a file, or a :class:`ReaderError` that says what is wrong with the path."""
    file = _as_path(path)
    try:
        with file.open("rb") as handle:
            data = handle.read() if limit is None else handle.read(limit)
    except FileNotFoundError:
        raise ReaderError(
            "The file does not exist. Check the path and the current folder "
            f"({os.getcwd()}).", path=file,
        ) from None
    except IsADirectoryError:
        raise ReaderError("This is a folder, not a file; give load_corpus() a folder.",
                          path=file) from None
    except PermissionError:
        raise ReaderError("Permission denied: qualcode may not read this file.",
                          path=file) from None
    except OSError as exc:
        raise ReaderError(f"The file cannot be read: {exc.strerror or exc}.", path=file) from None
    return data


def check_file(path: Path) -> None:
    """Raise :class:`ReaderError` unless ``path`` is an existing regular file."""
    if not path.exists():
        raise ReaderError(
            "The file does not exist. Check the path and the current folder "
            f"({os.getcwd()}).", path=path,
        )
    if path.is_dir():
        raise ReaderError(
            "This is a folder, not a file; pass it to load_corpus() to read every "
            "transcript in it.", path=path,
        )


def unsupported_message(path: Path) -> str:
    suffix = path.suffix.lower() or "(no suffix)"
    return (
        f"qualcode has no reader for '{suffix}' files. It reads "
        f"{', '.join(supported_suffixes())}; save the transcript in one of these formats."
    )


def read_documents(
    path: str | PathLike[str],
    *,
    document_id: str | None = None,
    encoding: str | None = None,
    **options: Any,
) -> list[ParsedSource]:
    """Read one file into its documents (one for a transcript, one per row for a table).

    ``document_id`` replaces the file stem as the id (for tables: the prefix of the row
    ids); ``encoding`` forces a text codec instead of detection. ``options`` go to the
    reader: ``interviewers=["Anna Smith"]`` (names whose turns are the interviewer's, for
    every format), ``unlabelled="auto"|"continue"|"participant"`` (transcripts),
    ``text_column=``, ``id_column=``, ``attribute_columns=``, ``sheet=`` (survey tables).
    Options a reader does not use are ignored; an option no reader knows is an error.
    """
    file, info, call, interviewers = _reader_call(path, document_id, options)
    return _read_sources(info, file, encoding, call, interviewers)


def read_parsed(
    path: str | PathLike[str],
    *,
    document_id: str | None = None,
    encoding: str | None = None,
    **options: Any,
) -> list[ParsedSource] | ParsedTable:
    """As :func:`read_documents`, but a table whose reader has a ``columns`` function comes
    as one :class:`ParsedTable` (unless interviewers are named: they are marked turn by
    turn, so on the sources)."""
    file, info, call, interviewers = _reader_call(path, document_id, options)
    if info.columns is not None and not interviewers:
        return info.columns(file, encoding=encoding, **call)
    return _read_sources(info, file, encoding, call, interviewers)


def _reader_call(
    path: str | PathLike[str], document_id: str | None, options: Mapping[str, Any]
) -> tuple[Path, ReaderInfo, dict[str, Any], Any]:
    """The file, its reader, the reader's ``document_id`` and options, and the
    interviewers to mark, after checking them."""
    file = _as_path(path)
    check_options(options, "read_document()")
    check_file(file)
    info = reader_for(file)
    if info is None:
        raise ReaderError(unsupported_message(file), path=file)
    doc_id = document_id if document_id is not None else file.stem
    if not isinstance(doc_id, str) or not doc_id.strip():
        raise ParameterError(
            f"The 'document_id' parameter of read_document() must be a non-empty string. "
            f"Got {doc_id!r} instead."
        )
    own = {k: v for k, v in options.items() if k in info.options}
    interviewers = own.pop("interviewers", None)
    return file, info, {"document_id": doc_id, **own}, interviewers


def _read_sources(info: ReaderInfo, file: Path, encoding: str | None, call: dict[str, Any],
                  interviewers: Any) -> list[ParsedSource]:
    """The reader's sources, the interviewers' turns marked."""
    sources = list(info.function(file, encoding=encoding, **call))
    if interviewers:
        sources = [_mark_interviewers(s, interviewers) for s in sources]
    return sources


def read_document(
    path: str | PathLike[str],
    *,
    document_id: str | None = None,
    encoding: str | None = None,
    **options: Any,
) -> ParsedSource:
    """Read one transcript file into a :class:`ParsedSource` (text, turns, attributes).

    >>> source = read_document("AP01_sarah.txt")                     # doctest: +SKIP
    >>> source.turns[0].speaker, source.turns[0].role                 # doctest: +SKIP
    ('INTERVIEWER', 'interviewer')

    Options as for :func:`read_documents`. A survey table that holds several answers is an
    error here: read it with :func:`read_documents` or :func:`~qualcode.ingest.load_corpus`.
    """
    sources = read_documents(path, document_id=document_id, encoding=encoding, **options)
    if len(sources) != 1:
        raise ReaderError(
            f"The file holds {len(sources)} documents (one per row); read it with "
            "read_documents() or load_corpus().",
            path=Path(path),
        )
    return sources[0]


def _mark_interviewers(source: ParsedSource, names: Iterable[str] | str) -> ParsedSource:
    if isinstance(names, str):
        names = [names]
    folded = {n.strip().casefold() for n in names}
    turns = tuple(
        t._replace(role="interviewer")
        if t.speaker is not None and t.speaker.casefold() in folded else t
        for t in source.turns
    )
    return replace(source, turns=turns)
