"""Read files and folders into a :class:`~qualcode.model.Corpus`, with case attributes."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain, repeat
from os import PathLike
from pathlib import Path
from typing import Any, NamedTuple

from qualcode._bulk import collector_paused
from qualcode.errors import ParameterError, ReaderError, parameter_error
from qualcode.ingest.base import (
    ParsedSource,
    ParsedTable,
    check_options,
    read_parsed,
    reader_for,
    supported_suffixes,
    unsupported_message,
)
from qualcode.ingest.cases import read_cases
from qualcode.ingest.segment import normalise_unit, segment_turns
from qualcode.model import Corpus, Document, DocumentColumns, Segment

__all__ = ["IngestReport", "LoadedCorpus", "SkippedFile", "SourcesRead", "load_corpus",
           "read_sources"]

PathArg = str | PathLike[str]


class SkippedFile(NamedTuple):
    """A file found in a folder but not read, and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path} ({self.reason})"


@dataclass(frozen=True)
class IngestReport:
    """What :func:`load_corpus` did: files read, files skipped, documents without a case row
    (and, with ``unknown_cases="report"``, case rows without a document).

    ``notes`` are remarks from the readers (``file: note``, or ``note (files...)`` when
    it applies to several), e.g. that only the interviewer was labelled or that empty
    survey answers were skipped.
    """

    files_read: tuple[Path, ...] = ()
    skipped: tuple[SkippedFile, ...] = ()
    documents_without_cases: tuple[str, ...] = ()
    cases_without_documents: tuple[str, ...] = ()
    cases_file: Path | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "files_read": [str(p) for p in self.files_read],
            "skipped": [{"path": str(s.path), "reason": s.reason} for s in self.skipped],
            "documents_without_cases": list(self.documents_without_cases),
            "cases_without_documents": list(self.cases_without_documents),
            "cases_file": None if self.cases_file is None else str(self.cases_file),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class LoadedCorpus(Corpus):
    """A :class:`~qualcode.model.Corpus` (use it as one) that also carries its
    :class:`IngestReport` as ``.report``.

    ``.corpus`` is the same documents and segments as a plain :class:`Corpus`.
    """

    report: IngestReport = field(default_factory=IngestReport, compare=False)

    @property
    def corpus(self) -> Corpus:
        return Corpus(self.documents, self.segments)


def _note(note: str, files: list[str]) -> str:
    """``file: note``, or for a note about several files ``note (a, b, c and 4 more)``."""
    if len(files) == 1:
        return f"{files[0]}: {note}"
    shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    return f"{note} ({shown})"


def _natural_key(path: str) -> list[Any]:
    # "AP2" before "AP10"
    return [int(part) if part.isdigit() else part.casefold()
            for part in re.split(r"(\d+)", path)]


def _hidden(name: str) -> bool:
    return name.startswith((".", "~$"))  # dotfiles, Office lock files


def _walk(folder: Path, recursive: bool) -> list[Path]:
    """Files under ``folder``, hidden ones and hidden folders left out, in natural order."""
    found = []
    for root, folders, files in os.walk(folder):
        # pruning in place keeps os.walk out of .git and the like (and of every subfolder
        # when not recursive); symbolic links to folders are not followed
        folders[:] = [] if not recursive else [f for f in folders if not _hidden(f)]
        found.extend(os.path.join(root, name) for name in files if not _hidden(name))
    # paths as strings until sorted (Path objects are slow to make by the thousand);
    # os.walk's paths all start with the folder's, so cutting it off gives the relative path
    folder_prefix = len(os.path.join(folder, ""))
    found.sort(key=lambda path: _natural_key(path[folder_prefix:]))
    return [Path(path) for path in found]


def _same_file(a: Path, b: Path | None) -> bool:
    if b is None:
        return False
    try:
        # different inodes settle it without resolving every path of a large folder
        return os.path.samestat(a.stat(), b.stat()) and a.resolve() == b.resolve()
    except OSError:
        return False


@collector_paused()  # it makes 100,000s of values and frees hardly any
def load_corpus(
    paths: PathArg | Sequence[PathArg],
    *,
    cases: PathArg | None = None,
    segment: str = "turns",
    recursive: bool = True,
    encoding: str | None = None,
    case_id_column: str | None = None,
    unknown_cases: str = "error",
    progress: Callable[[Path, int, int], None] | None = None,
    **reader_options: Any,
) -> LoadedCorpus:
    """Read transcripts (files and folders) into a corpus, segmented, with case attributes.

    ``paths``: a file or folder, or a list of them. Folders are searched (``recursive``
    into subfolders) for every supported suffix; hidden files and folders and Office lock
    files (``~$...``) are ignored; other suffixes are skipped and listed in the report. A
    folder's survey tables (``.csv``/``.xlsx``) are read only when ``text_column`` is
    given (a folder often holds other tables). A file named explicitly must be readable.

    ``cases``: a CSV/XLSX table with one row per document (see
    :mod:`qualcode.ingest.cases`; ``case_id_column`` names its id column). A row naming
    no document read is a :class:`~qualcode.errors.TableError`; documents without a row
    are listed in the report. With ``unknown_cases="report"`` rows naming no document are
    listed in the report instead (for ingesting a study in batches against its full
    table). Attributes from the table override those found in files.

    ``segment``: ``"turns"``, ``"paragraphs"`` or ``"sentences"``. ``encoding`` forces
    one text encoding for every file (default: detected per file). ``reader_options`` go
    to the readers (see :func:`~qualcode.ingest.read_documents`). ``progress`` is called
    as ``progress(path, i, n)`` before each file is read.

    Returns a :class:`LoadedCorpus`: a :class:`~qualcode.model.Corpus` with ``.report``
    (an :class:`IngestReport`; ``.corpus`` gives the plain corpus)::

        result = load_corpus("transcripts/", cases="cases.csv")
        project.add_corpus(result)
        result.report.documents_without_cases
    """
    return read_sources(
        paths, cases=cases, segment=segment, recursive=recursive, encoding=encoding,
        case_id_column=case_id_column, unknown_cases=unknown_cases, progress=progress,
        **reader_options,
    ).corpus()


@dataclass(frozen=True)
class SourcesRead:
    """What :func:`read_sources` read, checked, before documents are made: each file's
    sources (a survey table's as one :class:`~qualcode.ingest.base.ParsedTable`), the
    attributes a cases table gives each document, the segment kind, and the report."""

    parts: tuple[tuple[ParsedSource, ...] | ParsedTable, ...]
    case_attributes: Mapping[str, Mapping[str, str]]
    kind: str
    report: IngestReport

    @collector_paused()
    def corpus(self) -> LoadedCorpus:
        """The documents and segments, as :func:`load_corpus` returns them."""
        documents: list[Document] = []
        segments: list[Segment] = []
        for part in self.parts:
            self._add(part.sources() if isinstance(part, ParsedTable) else part,
                      documents, segments)
        return LoadedCorpus(tuple(documents), tuple(segments), self.report)

    @collector_paused()
    def to_store(self) -> list[Corpus | DocumentColumns]:
        """The documents and segments as :meth:`Project.add_corpus
        <qualcode.project.Project.add_corpus>` takes them: a survey table's answers as
        :class:`~qualcode.model.DocumentColumns` (when segmented by turn: one segment
        each), with their case attributes; other documents in a :class:`Corpus`."""
        store: list[Corpus | DocumentColumns] = []
        for part in self.parts:
            if isinstance(part, ParsedTable) and self.kind == "turn":
                columns = part.documents
                if self.case_attributes:
                    extra = {i: self.case_attributes[i] for i in columns.ids
                             if i in self.case_attributes}
                    columns = replace(columns, extra_attributes=extra)
                store.append(columns)
                continue
            documents: list[Document] = []
            segments: list[Segment] = []
            self._add(part.sources() if isinstance(part, ParsedTable) else part,
                      documents, segments)
            store.append(Corpus(documents, segments))
        return store

    def _add(self, sources: Iterable[ParsedSource], documents: list[Document],
             segments: list[Segment]) -> None:
        for source in sources:
            document = source.to_document(**self.case_attributes.get(source.id, {}))
            documents.append(document)
            segments.extend(segment_turns(document, source.turns, self.kind))


@collector_paused()  # it makes 100,000s of values and frees hardly any
def read_sources(
    paths: PathArg | Sequence[PathArg],
    *,
    cases: PathArg | None = None,
    segment: str = "turns",
    recursive: bool = True,
    encoding: str | None = None,
    case_id_column: str | None = None,
    unknown_cases: str = "error",
    progress: Callable[[Path, int, int], None] | None = None,
    **reader_options: Any,
) -> SourcesRead:
    """Read and check what :func:`load_corpus` reads (same arguments, same errors), before
    any document is made: ``.corpus()`` makes them, ``.to_store()`` gives them to a
    project with a survey table's answers as columns, ``.report`` says what was done."""
    kind = normalise_unit(segment)
    if unknown_cases not in ("error", "report"):
        raise parameter_error("unknown_cases", "load_corpus()", "'error' or 'report'",
                              unknown_cases)
    if isinstance(paths, (str, PathLike)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if not paths:
        raise ParameterError("load_corpus() needs at least one file or folder to read.")
    check_options(reader_options, "load_corpus()")
    cases_path = Path(cases) if cases is not None else None
    if cases_path is not None and not cases_path.is_file():
        raise ReaderError(
            "The cases table does not exist. Check the path.", path=cases_path,
        )

    to_read: list[Path] = []
    skipped: list[SkippedFile] = []
    for path in paths:
        if path.is_dir():
            for file in _walk(path, recursive):
                if _same_file(file, cases_path):
                    continue
                info = reader_for(file)
                if info is None:
                    suffix = file.suffix.lower() or "no suffix"
                    skipped.append(SkippedFile(file, f"unsupported type ({suffix})"))
                elif info.is_table and "text_column" not in reader_options:
                    skipped.append(SkippedFile(
                        file, "a table: pass text_column to read survey answers"))
                else:
                    to_read.append(file)
        elif not path.exists():
            raise ReaderError("The file or folder does not exist. Check the path.", path=path)
        elif reader_for(path) is None:
            raise ReaderError(unsupported_message(path), path=path)
        else:
            to_read.append(path)
    if not to_read:
        listed = "; ".join(str(s) for s in skipped[:5])
        raise ReaderError(
            "Found no transcripts to read. qualcode reads "
            f"{', '.join(supported_suffixes())}."
            + (f" Skipped: {listed}." if listed else " The folder is empty."),
            path=paths[0] if len(paths) == 1 else None,
        )

    parts: list[tuple[ParsedSource, ...] | ParsedTable] = []
    origin: dict[str, Path] = {}
    notes: dict[str, list[str]] = {}  # note -> names of the files it is about
    for i, file in enumerate(to_read):
        if progress is not None:
            progress(file, i, len(to_read))
        part = read_parsed(file, encoding=encoding, **reader_options)
        if isinstance(part, ParsedTable):  # every row's source would carry the notes
            ids, file_notes = part.documents.ids, [part.notes]
        else:
            part = tuple(part)
            ids, file_notes = [s.id for s in part], [s.notes for s in part]
        _claim_ids(ids, file, origin)
        for note in chain.from_iterable(file_notes):
            names = notes.setdefault(note, [])
            if file.name not in names:
                names.append(file.name)
        parts.append(part)

    attributes_by_id: dict[str, dict[str, str]] = {}
    without: list[str] = []
    unmatched: list[str] = []
    if cases_path is not None:
        table = read_cases(cases_path, id_column=case_id_column)
        attributes_by_id, without, unmatched = table.assign(
            chain.from_iterable(
                zip(p.documents.ids, repeat(p.documents.source)) if isinstance(p, ParsedTable)
                else ((s.id, s.source) for s in p) for p in parts),
            unknown=unknown_cases)

    report = IngestReport(
        files_read=tuple(to_read),
        skipped=tuple(skipped),
        documents_without_cases=tuple(without),
        cases_without_documents=tuple(unmatched),
        cases_file=cases_path,
        notes=tuple(_note(note, names) for note, names in notes.items()),
    )
    return SourcesRead(tuple(parts), attributes_by_id, kind, report)


def _claim_ids(ids: Sequence[str], file: Path, origin: dict[str, Path]) -> None:
    """Note that ``file`` gives the documents ``ids``; a :class:`ReaderError` for an id
    another file (or this one) gave already."""
    claimed = dict.fromkeys(ids, file)  # all at once: a survey has 100,000s
    if len(claimed) == len(ids) and (not origin or origin.keys().isdisjoint(claimed)):
        origin.update(claimed)
        return
    for document_id in ids:
        if document_id in origin:
            raise ReaderError(
                f"Two documents would have the id {document_id!r}: this file and "
                f"{origin[document_id]}. Rename one of the files.",
                path=file,
            )
        origin[document_id] = file
