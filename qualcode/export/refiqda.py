"""Exchange with NVivo, ATLAS.ti, MAXQDA and QualCoder: REFI-QDA projects and codebooks.

>>> import qualcode as qc                                     # doctest: +SKIP
>>> qc.export_qdpx("study.qualcode", "study.qdpx")           # project -> .qdpx  # doctest: +SKIP
>>> qc.export_qdc("study.qualcode", "codebook.qdc")          # codebook -> .qdc  # doctest: +SKIP
>>> qc.import_qdpx("nvivo.qdpx", "study.qualcode")  # creates the project if needed
...                                                          # doctest: +SKIP
>>> qc.read_qdpx("nvivo.qdpx").codings[:3]         # read only, store nothing  # doctest: +SKIP
>>> qc.write_qdpx("x.qdpx", documents=docs, codebook=book, codings=codings)  # no project
...                                                          # doctest: +SKIP

Writing (strict)
----------------
A ``.qdpx`` is a zip holding ``project.qde`` (QDA-XML 1.0, namespace
``urn:QDA-XML:project:1.0``, valid against the standard's ``Project.xsd``) and
``sources/<GUID>.txt``: each document's stored, normalised text in UTF-8 without a
byte-order mark (unless the text itself starts with U+FEFF, which a reader would take for
one). Codes nest as in the codebook, with colour; a code's Description holds its
definition, then ``Include:``, ``Exclude:``, ``Examples:``, ``Keywords:`` and ``Patterns:``
sections a person can read in the other tool. Coders and memo authors are Users; document
attributes are text Variables, given both on a Case per document and on the TextSource
itself (tools differ in which they read; qualcode reads both, the source's winning).
Each span with its codings is a PlainTextSelection whose
``startPosition``/``endPosition`` are code points over the exported text (as the standard
says), holding one Coding -> CodeRef per code; codings of the same words share a
selection, and a coding's memo is the selection's Description. Memos are Notes, referenced
(NoteRef) from their code, document, coding, or the project. ``status="accepted"`` (the
default) exports accepted codings only; REFI-QDA has no status, so ``"all"`` makes
suggestions look like anyone's codings. Nothing is overwritten unless asked, and the file
is written beside its target, then renamed into place.

Reproducible GUIDs, and ids that survive a round trip
-----------------------------------------------------
Every GUID is a name-based UUID (RFC 4122 version 5, a standard GUID) in a fixed qualcode
namespace: a code's from its id, a document's from its id and content hash, a coding's from
its document, span, code and coder, and so on. Exporting the same project twice gives the
same bytes. On import, a code's id is the slug of its name (``"Poor attendance"`` ->
``poor_attendance``, made unique) *unless* the GUID is exactly the one qualcode derives from
a candidate id (the slug, or the ``qualcode id:`` line the export adds when an id is not the
slug of its name): then that id is recovered. Another tool keeps GUIDs, so a project that
went to NVivo and back keeps its ids; a code someone created there gets a slug; a code
copied there (new GUID, same Description) cannot claim the original's id. Documents are
recognised the same way (name and text hash). Nothing qualcode-specific is needed in the
XML beyond the readable ``qualcode id:`` line, so the files stay standard.

What a round trip keeps: documents (id, text, attributes), the codebook's codes (ids,
names, hierarchy with sibling order, definitions, criteria, examples, keywords, patterns,
colours; codes come back parents first), codings (document, span, code, coder, memo,
creation time; method becomes ``import``, status ``accepted``) and memos (text,
attachment, author). Not kept: the codebook's own name and description (REFI-QDA has no
place for them; the import names the codebook after the project), a coding's
confidence and reason, a memo's creation time (the store stamps memos as they are added),
segments (rebuilt on import, by the project's unit), and whitespace at the ends of text
fields.

Reading (tolerant)
------------------
``project.qde`` or any other ``.qde`` name; ``sources/`` or ``Sources/``; ``internal://``
members, ``relative://`` and absolute paths (plain-text files only; each one read is
reported); missing sources are reported, never fatal. Text files may carry a BOM and CRLF:
positions are mapped from the producer's units to code points of the normalised text (see
:mod:`~qualcode.export._refiqda_positions`: NVivo counts UTF-16 code units, the evidence
decides for unknown producers, ``positions=`` forces). Selections without codings
(annotations) become document memos quoting the text; Notes become memos attached where
NoteRefs or Links point; ATLAS.ti's ``Parent::child`` code names nest under ``Parent``;
document Sets become attributes (``gender: male`` -> ``gender = male``, any other set
``<name> = yes``) and code Sets (code groups) project memos listing their codes. Pictures,
audio, video, PDF areas and graphs are counted in the report and skipped. Imported codings
are ``accepted`` with method ``import``; coders are the Users' names.

Into an existing project: documents with the same id and text are reused (other text under
the same id is refused before anything is written); imported codes join the codebook as a
new version unless it already has them (same id and name); codings and memos already
there are not added twice, so importing the same file again changes nothing. A new
project is built under a temporary name and renamed into place only when complete.

Safety: the archive is opened with :mod:`qualcode.safezip` (traversal names, bombs and
oversize members refused) and XML parsed without DTDs or entities; nothing is extracted
to disk.
"""

from __future__ import annotations

import os
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from os import PathLike
from pathlib import Path
from typing import Any

from qualcode.errors import ParameterError, ProjectError, parameter_error
from qualcode.export._refiqda_read import (
    POSITIONS,
    TOOLS,
    RefiMemo,
    RefiProject,
    load_qdc,
    read_qdc,
    read_qdpx,
)
from qualcode.model import Code, Codebook, Coding, Corpus, Document, Memo

__all__ = [
    "POSITIONS",
    "TOOLS",
    "QdcImport",
    "QdpxExport",
    "QdpxImport",
    "RefiMemo",
    "RefiProject",
    "export_qdc",
    "export_qdpx",
    "import_qdc",
    "import_qdpx",
    "load_qdc",
    "read_qdc",
    "read_qdpx",
    "write_qdpx",
]

PathArg = str | PathLike[str]
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same project gives the same bytes


def _origin() -> str:
    from qualcode import __version__

    return f"qualcode {__version__}"


# -- export ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QdpxExport:
    """What :func:`export_qdpx` wrote."""

    path: str
    documents: int
    codes: int
    codings: int
    memos: int
    users: int
    skipped: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "documents": self.documents, "codes": self.codes,
                "codings": self.codings, "memos": self.memos, "users": self.users,
                "skipped": list(self.skipped)}


def export_qdpx(
    project: Any,
    out: PathArg,
    *,
    status: str | tuple[str, ...] = "accepted",
    overwrite: bool = False,
) -> QdpxExport:
    """Write a project (a :class:`~qualcode.project.Project` or its path) as a REFI-QDA
    ``.qdpx`` that NVivo, ATLAS.ti, MAXQDA and QualCoder open.

    ``status``: ``"accepted"`` (default), ``"suggested"``, ``"rejected"``, a tuple of them,
    or ``"all"``. Raises :class:`~qualcode.errors.ParameterError` if ``out`` exists and
    ``overwrite`` is False.
    """
    from qualcode.export._common import check_targets, opened
    from qualcode.model import CODING_STATUSES

    statuses = _statuses(status)
    check_targets([Path(out)], overwrite=overwrite, where="export_qdpx()")
    with opened(project) as source:
        return write_qdpx(
            out, documents=list(source.documents), codebook=source.codebook,
            codings=source.codings(status=list(statuses or CODING_STATUSES)),
            memos=source.memos(), name=Path(source.path).stem, overwrite=overwrite,
        )


def write_qdpx(
    out: PathArg,
    *,
    documents: Sequence[Document],
    codebook: Codebook | None,
    codings: Iterable[Coding] = (),
    memos: Sequence[Memo] = (),
    name: str = "qualcode",
    overwrite: bool = False,
) -> QdpxExport:
    """Write documents, a codebook, codings and memos (no project needed) as a ``.qdpx``.

    Memos on codings refer to them by :attr:`Coding.id`. See :func:`export_qdpx`.
    """
    from qualcode.export._common import atomic_write, check_targets
    from qualcode.export._refiqda_write import project_xml

    path = Path(out)
    check_targets([path], overwrite=overwrite, where="write_qdpx()")
    built = project_xml(name=name, origin=_origin(), codebook=codebook, documents=documents,
                        codings=codings, memos=memos)

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            for member, data in [("project.qde", built.xml), *built.sources]:
                info = zipfile.ZipInfo(member, date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, data)

    atomic_write(path, write)
    skipped = list(built.skipped)
    if built.replaced_characters:
        skipped.append("Control characters XML cannot hold were replaced by U+FFFD in: "
                       f"{', '.join(built.replaced_characters)}.")
    return QdpxExport(str(path), len(documents), len(codebook) if codebook else 0,
                      built.codings, built.memos, built.users, tuple(skipped))


def _statuses(status: str | tuple[str, ...] | list[str]) -> tuple[str, ...] | None:
    from qualcode.model import CODING_STATUSES

    values = (status,) if isinstance(status, str) else tuple(status)
    if values == ("all",):
        return None
    bad = [v for v in values if v not in CODING_STATUSES]
    if bad or not values:
        raise parameter_error("status", "export_qdpx()",
                              f"'all' or one of {', '.join(CODING_STATUSES)}", status)
    return values


def export_qdc(source: Any, out: PathArg, *, overwrite: bool = False) -> Path:
    """Write a codebook as a REFI-QDA ``.qdc``. ``source``: a Codebook, a Project, a project
    path, or a codebook file (anything :func:`qualcode.api.codebook_from` takes)."""
    from qualcode.api import codebook_from
    from qualcode.export._common import atomic_write, check_targets
    from qualcode.export._refiqda_write import codebook_xml

    path = Path(out)
    check_targets([path], overwrite=overwrite, where="export_qdc()")
    codebook = codebook_from(source)
    if not len(codebook):
        raise ParameterError("The codebook has no codes; a .qdc needs at least one.")
    data = codebook_xml(codebook, origin=_origin())
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


# -- import ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QdpxImport:
    """What :func:`import_qdpx` stored, with what the file held that could not be imported."""

    project: str
    created: bool
    documents_added: tuple[str, ...]
    documents_unchanged: tuple[str, ...]
    codes: int
    codes_added: int
    codings: int
    codings_added: int
    memos_added: int
    coders: tuple[str, ...]
    codebook_version: int | None
    read: RefiProject = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project, "created": self.created,
            "origin": self.read.origin,
            "documents_added": list(self.documents_added),
            "documents_unchanged": list(self.documents_unchanged),
            "codes": self.codes, "codes_added": self.codes_added,
            "codebook_version": self.codebook_version,
            "codings": self.codings, "codings_added": self.codings_added,
            "memos_added": self.memos_added, "coders": list(self.coders),
            "positions": self.read.positions,
            "missing_sources": list(self.read.missing_sources),
            "skipped": list(self.read.skipped), "notes": list(self.read.notes),
        }


def import_qdpx(
    source: PathArg,
    project: Any,
    *,
    tool: str = "auto",
    positions: str = "auto",
    overwrite: bool = False,
) -> QdpxImport:
    """Import a REFI-QDA project into ``project`` (a Project, or a path: created when it does
    not exist, replaced when ``overwrite=True``).

    Documents already in the project with the same text are reused; a document with the same
    id but other text is an error (nothing is written). Codes the project's codebook lacks
    are added as a new codebook version. See :func:`read_qdpx` for ``tool`` and
    ``positions``.
    """
    from qualcode.project import Project

    read = read_qdpx(source, tool=tool, positions=positions)  # fails before any writing
    label = Path(source).name
    if isinstance(project, Project):
        return _store(read, project, created=False, label=label)
    path = Path(project)
    if path.exists() and not overwrite:
        with Project.open(path) as target:
            return _store(read, target, created=False, label=label)
    # A new project is built under a temporary name and renamed into place when complete:
    # a failed import leaves nothing behind, and --force replaces the old file only then.
    if not path.parent.is_dir():
        raise ProjectError(f"Cannot create {path}: folder {path.parent} does not exist.")
    building = path.with_name(f".{path.name}.importing")
    _remove_database(building)
    try:
        with Project.create(building) as target:
            result = _store(read, target, created=True, label=label)
        _remove_database(path, keep_main=True)
        os.replace(building, path)
    finally:
        _remove_database(building)
    return replace(result, project=str(path))


def _remove_database(path: Path, *, keep_main: bool = False) -> None:
    # An old -wal beside a new main file would be replayed into it: remove the pair.
    for suffix in ("-wal", "-shm") if keep_main else ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _store(read: RefiProject, project: Any, *, created: bool, label: str) -> QdpxImport:
    from qualcode.ingest import parse_turns, segment_turns

    # Check everything that could fail before writing anything.
    existing = {d.id: d for d in project.documents}
    conflicts = [d.id for d in read.documents if d.id in existing
                 and existing[d.id].content_hash != d.content_hash]
    if conflicts:
        raise ProjectError(
            f"{project.path} already holds document(s) {', '.join(map(repr, conflicts[:5]))} "
            "with different text; nothing was imported. Import into a new project, or rename "
            "the documents in the other tool."
        )
    merged, id_map, added_codes = _merge_codebook(project.codebook, read.codebook)
    codings = [_remap(c, id_map) for c in read.codings]

    unit = project.unit if existing else "turn"
    plural = {"turn": "turns", "paragraph": "paragraphs", "sentence": "sentences"}[unit]
    new_documents = [d for d in read.documents if d.id not in existing]
    segments = [s for d in new_documents
                for s in segment_turns(d, parse_turns(d.text)[0], plural)]
    report = project.add_corpus(Corpus(tuple(new_documents), tuple(segments)))
    version = None
    if added_codes or project.codebook is None:
        version = project.set_codebook(merged, note=f"imported from {label}")
    new_ids = project.add_codings(codings)

    ids_by_key: dict[tuple[str, int, int, str, str], int] = {}
    if any(m.coding for m in read.memos):
        documents = sorted({c.document_id for c in codings})
        for stored in project.codings(document=documents) if documents else []:
            ids_by_key[(*stored.key, stored.coder)] = stored.id
    # A memo already in the project (the same text on the same thing) is not added again,
    # so importing a file twice does not double its memos.
    present = Counter((m.text, m.document_id, m.code_id, m.coding_id, m.author)
                      for m in project.memos())
    memos = 0
    for memo in read.memos:
        coding_id = None
        if memo.coding is not None:
            doc, start, end, code, coder = memo.coding
            coding_id = ids_by_key.get((doc, start, end, id_map.get(code, code), coder))
        key = (memo.text, memo.document, id_map.get(memo.code, memo.code) if memo.code else None,
               coding_id, memo.author)
        if present[key]:
            present[key] -= 1
            continue
        project.add_memo(memo.text, document=key[1], code=key[2], coding=coding_id,
                         author=memo.author)
        memos += 1
    return QdpxImport(
        project=str(project.path), created=created,
        documents_added=tuple(report["added"]),
        documents_unchanged=tuple(d.id for d in read.documents if d.id in existing),
        codes=len(read.codebook), codes_added=added_codes,
        codings=len(read.codings), codings_added=len(new_ids), memos_added=memos,
        coders=tuple(sorted({c.coder for c in codings})), codebook_version=version, read=read,
    )


def _merge_codebook(current: Codebook | None, imported: Codebook
                    ) -> tuple[Codebook, dict[str, str], int]:
    """The current codebook plus the imported codes it lacks; imported id -> stored id.

    An imported code is the current one with the same id when their names agree (the usual
    case: the project went out and came back); otherwise it gets a new, unique id.
    """
    if current is None:
        return imported, {}, len(imported)
    known = {c.id: c for c in current}
    id_map: dict[str, str] = {}
    taken = set(known)
    for code in imported:
        same = known.get(code.id)
        if same is not None and same.name.strip().casefold() == code.name.strip().casefold():
            id_map[code.id] = code.id
            continue
        if code.id not in taken:
            id_map[code.id] = code.id
        else:
            n = 2
            while f"{code.id}_{n}" in taken:
                n += 1
            id_map[code.id] = f"{code.id}_{n}"
        taken.add(id_map[code.id])
    added: list[Code] = []
    for code in imported:
        if code.id in known and id_map[code.id] == code.id:
            continue
        parent = id_map.get(code.parent) if code.parent else None
        added.append(replace(code, id=id_map[code.id], parent=parent))
    if not added:
        return current, id_map, 0
    return Codebook(current.name, (*current.codes, *added), current.version,
                    current.description), id_map, len(added)


def _remap(coding: Coding, id_map: dict[str, str]) -> Coding:
    new = id_map.get(coding.code_id, coding.code_id)
    return coding if new == coding.code_id else replace(coding, code_id=new)


@dataclass(frozen=True)
class QdcImport:
    """What :func:`import_qdc` stored."""

    project: str
    created: bool
    codebook_version: int
    codes: int
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"project": self.project, "created": self.created,
                "codebook_version": self.codebook_version, "codes": self.codes,
                "warnings": list(self.warnings)}


def import_qdc(source: PathArg, project: Any) -> QdcImport:
    """Set a REFI-QDA codebook (.qdc) as the project's next codebook version.

    ``project``: a Project, or a path (created when it does not exist).
    """
    from qualcode.project import Project

    codebook, problems = load_qdc(Path(source))
    codebook = read_qdc(source) if codebook is None else codebook  # raises with the reason
    warnings = tuple(str(p) for p in problems if p.severity != "error")
    if isinstance(project, Project):
        version = project.set_codebook(codebook, note=f"imported from {Path(source).name}")
        return QdcImport(str(project.path), False, version, len(codebook), warnings)
    path = Path(project)
    created = not path.exists()
    target = Project.create(path) if created else Project.open(path)
    with target:
        version = target.set_codebook(codebook, note=f"imported from {Path(source).name}")
    return QdcImport(str(path), created, version, len(codebook), warnings)

