"""One-liners for notebooks and the functions the CLI calls.

Each takes paths or a :class:`~qualcode.project.Project` and returns plain results, so a
notebook and ``qualcode <command>`` do exactly the same work.

>>> import qualcode as qc                                          # doctest: +SKIP
>>> project = qc.init("study.qualcode", codebook="codebook.yaml")  # doctest: +SKIP
>>> qc.ingest(project, "transcripts/", cases="cases.csv")          # doctest: +SKIP
>>> qc.info(project)                                               # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from qualcode.codebook import CodebookDiff, diff_codebooks, load_codebook
from qualcode.errors import InputError, ParameterError, ProjectError
from qualcode.model import Codebook
from qualcode.project import Project

__all__ = [
    "IngestSummary",
    "bundled_study",
    "codebook_from",
    "diff",
    "info",
    "ingest",
    "init",
    "open_project",
]

PathArg = str | PathLike[str]


def open_project(project: Project | PathArg) -> Project:
    """A project object from a path (opened) or a project (returned as it is)."""
    return project if isinstance(project, Project) else Project.open(project)


def init(path: PathArg, *, codebook: Codebook | PathArg | None = None,
         overwrite: bool = False) -> Project:
    """Create a project file, optionally with a codebook (a Codebook or a codebook file)."""
    book = codebook_from(codebook) if codebook is not None else None
    return Project.create(path, codebook=book, overwrite=overwrite)


def codebook_from(source: Codebook | Project | PathArg) -> Codebook:
    """A codebook from a Codebook, a codebook file, a project (its current version), or
    ``PROJECT:N`` (version N of a project's codebook)."""
    if isinstance(source, Codebook):
        return source
    if isinstance(source, Project):
        return _current_codebook(source)
    text = os.fspath(source)
    base, _, version = text.rpartition(":")
    if base and version.isdigit() and Path(base).is_file():
        with Project.open(base) as project:
            return project.codebook_version(int(version))
    path = Path(text)
    if path.suffix.lower() == ".qualcode":
        with Project.open(path) as project:
            return _current_codebook(project)
    return load_codebook(path)


def _current_codebook(project: Project) -> Codebook:
    book = project.codebook
    if book is None:
        raise ProjectError(
            f"{project.path} has no codebook yet. Add one with "
            f"`qualcode codebook set {project.path} FILE`."
        )
    return book


def diff(old: Codebook | Project | PathArg, new: Codebook | Project | PathArg) -> CodebookDiff:
    """Compare two codebooks (files, projects, or ``PROJECT:N`` versions)."""
    return diff_codebooks(codebook_from(old), codebook_from(new))


@dataclass(frozen=True)
class IngestSummary:
    """What :func:`ingest` did."""

    project: str
    added: tuple[str, ...]
    unchanged: tuple[str, ...]
    replaced: tuple[str, ...]
    segments: int
    unit: str
    skipped_files: tuple[str, ...] = ()
    documents_without_cases: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "added": list(self.added),
            "unchanged": list(self.unchanged),
            "replaced": list(self.replaced),
            "segments": self.segments,
            "unit": self.unit,
            "skipped_files": list(self.skipped_files),
            "documents_without_cases": list(self.documents_without_cases),
            "notes": list(self.notes),
        }


def ingest(
    project: Project | PathArg,
    paths: PathArg | Sequence[PathArg],
    *,
    cases: PathArg | None = None,
    segment: str = "turns",
    replace: bool = False,
    progress: bool | Callable[[Path, int, int], None] | None = True,
    **reader_options: Any,
) -> IngestSummary:
    """Read transcripts (files or folders) into a project, with case attributes.

    ``segment`` is ``turns``, ``paragraphs`` or ``sentences``; ``reader_options`` go to the
    readers (e.g. ``text_column=`` for survey tables). Everything lands in one transaction:
    if any file fails, the project is left exactly as it was. A document already in the
    project with other text is an error unless ``replace=True`` and it has no codings.

    ``progress``: True (the default) shows a bar where a person is watching (a notebook or
    a terminal; see :mod:`qualcode.engine.progress`), False or None nothing. A callable is
    called as ``progress(path, i, n)`` before each of the ``n`` files is read, then once
    more as ``progress(project path, n, n)`` before what was read is stored (a large
    survey table takes about as long to store as to read).
    """
    if not callable(progress):  # a bar (or nothing): the files, then storing, n + 1 steps
        from qualcode.engine.progress import progress_reporter

        with progress_reporter(progress, "Ingesting", unit="steps") as step:
            return ingest(project, paths, cases=cases, segment=segment, replace=replace,
                          progress=lambda path, i, n: step(i, n + 1), **reader_options)
    from qualcode.ingest.corpus import read_sources
    from qualcode.model import Corpus

    if isinstance(paths, (str, PathLike)):
        paths = [paths]
    if not paths:
        raise ParameterError("Give at least one file or folder to ingest.")
    # what load_corpus reads and checks, but a survey table's answers go to the store as
    # columns: no Document and Segment for each of its 100,000s of rows
    sources = read_sources(list(paths), cases=cases, segment=segment, progress=progress,
                           **reader_options)
    corpus, report = sources.to_store(), sources.report
    owned = not isinstance(project, Project)
    target = open_project(project)
    try:
        read = len(report.files_read)
        progress(target.path, read, read)
        stored = target.add_corpus(corpus, replace=replace)
        return IngestSummary(
            project=str(target.path),
            added=tuple(stored["added"]),
            unchanged=tuple(stored["unchanged"]),
            replaced=tuple(stored["replaced"]),
            # a survey answer (a row of DocumentColumns) is one segment
            segments=sum(len(part.segments) if isinstance(part, Corpus) else len(part)
                         for part in corpus),
            unit=target.unit,
            skipped_files=tuple(str(p) for p in report.skipped),
            documents_without_cases=tuple(report.documents_without_cases),
            notes=tuple(report.notes),
        )
    finally:
        if owned:
            target.close()


def info(project: Project | PathArg) -> dict[str, Any]:
    """Counts for a project: documents, segments, words, speakers, codes, codings by status."""
    owned = not isinstance(project, Project)
    target = open_project(project)
    try:
        return target.info()
    finally:
        if owned:
            target.close()


def bundled_study() -> dict[str, Path]:
    """Paths of the bundled example study (transcripts, cases, codings, codebook).

    Looked up beside the installed package (a source checkout or editable install), or in
    the folder named by the ``QUALCODE_DATA`` environment variable.
    """
    roots = [Path(os.environ["QUALCODE_DATA"])] if os.environ.get("QUALCODE_DATA") else []
    roots.append(Path(__file__).resolve().parents[1])
    for root in roots:
        corpus = root / "corpora" / "ap-home-visits"
        if (corpus / "transcripts").is_dir():
            return {
                "transcripts": corpus / "transcripts",
                "cases": corpus / "cases.csv",
                "codings": corpus / "codings.csv",
                "codebook": root / "codebooks" / "ap-home-visits.yaml",
            }
    raise InputError(
        "The bundled study (corpora/ap-home-visits) was not found beside qualcode. Install "
        "qualcode from a source checkout (pip install -e .) or set QUALCODE_DATA to the "
        "folder that holds corpora/ and codebooks/."
    )
