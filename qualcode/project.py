"""The project store: one SQLite file holding a study.

A project holds documents (their normalised text, once), segments (offsets only), every
version of the codebook, codings with their provenance and review decisions, memos, and a
cache of sentence embeddings. It is a single file you can copy, back up or send (suffix
``.qualcode``).

Safety: every write is one transaction (all of it lands or none of it does); the file runs
in WAL mode, so a crash or a killed process never leaves it half-written and readers are
not blocked by a writer; writers wait (up to ``timeout`` seconds) for one another instead of
failing. Opening a file made by an older qualcode migrates it after copying it to
``<name>.v<N>.bak``.

>>> project = Project.create("study.qualcode")            # doctest: +SKIP
>>> project.add_corpus(load_corpus("transcripts/"))         # doctest: +SKIP
>>> project.documents.to_frame()                            # doctest: +SKIP
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from itertools import chain, compress, repeat
from operator import attrgetter
from os import PathLike
from pathlib import Path
from typing import Any

from qualcode._bulk import collector_paused
from qualcode.errors import NotFoundError, ParameterError, ProjectError
from qualcode.model import (
    CODING_STATUSES,
    SEGMENT_KINDS,
    Code,
    Codebook,
    Coding,
    Corpus,
    Document,
    DocumentColumns,
    Memo,
    Segment,
    check_span,
    now_iso,
)

__all__ = ["SCHEMA_VERSION", "CodingList", "DocumentsView", "Project", "SegmentList"]

APPLICATION_ID = 0x51434F44  # "QCOD": marks the SQLite file as a qualcode project

# Each entry upgrades the schema from version N-1 to N. Never edit a released entry: add one.
MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        position INTEGER NOT NULL,
        text TEXT NOT NULL,
        length INTEGER NOT NULL,
        source TEXT,
        content_hash TEXT NOT NULL,
        attributes TEXT NOT NULL DEFAULT '{}',
        added TEXT NOT NULL
    );
    CREATE TABLE segments (
        document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        idx INTEGER NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        speaker TEXT,
        role TEXT,
        start_time REAL,
        end_time REAL,
        PRIMARY KEY (document_id, kind, idx)
    );
    CREATE TABLE codebook_versions (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        created TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        body TEXT NOT NULL
    );
    CREATE TABLE codings (
        id INTEGER PRIMARY KEY,
        document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        code_id TEXT NOT NULL,
        coder TEXT NOT NULL,
        method TEXT NOT NULL,
        confidence REAL,
        status TEXT NOT NULL CHECK (status IN ('suggested', 'accepted', 'rejected')),
        reason TEXT NOT NULL DEFAULT '',
        memo TEXT NOT NULL DEFAULT '',
        created TEXT NOT NULL
    );
    CREATE UNIQUE INDEX codings_identity ON codings (document_id, start, end, code_id, coder);
    CREATE INDEX codings_by_code ON codings (code_id);
    CREATE INDEX codings_by_coder ON codings (coder, status);
    CREATE TABLE memos (
        id INTEGER PRIMARY KEY,
        text TEXT NOT NULL,
        document_id TEXT,
        code_id TEXT,
        coding_id INTEGER,
        author TEXT,
        created TEXT NOT NULL
    );
    """,
    2: """
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        coding_id INTEGER NOT NULL,
        old_status TEXT NOT NULL,
        new_status TEXT NOT NULL,
        by TEXT,
        at TEXT NOT NULL
    );
    CREATE INDEX decisions_by_coding ON decisions (coding_id);
    CREATE TABLE embeddings (
        model TEXT NOT NULL,
        text_hash TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (model, text_hash)
    ) WITHOUT ROWID;
    """,
    # A query by code reads its rows from this index alone, in id order, instead of
    # fetching each row from the table (3x fewer pages on a 1,000,000-coding project).
    3: """
    CREATE INDEX codings_by_code_covering ON codings (code_id, id, document_id, start, end,
        coder, method, confidence, status, reason, memo, created);
    DROP INDEX codings_by_code;
    """,
}
SCHEMA_VERSION = max(MIGRATIONS)


def _connect(path: Path, timeout: float) -> sqlite3.Connection:
    con = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
    con.execute("PRAGMA foreign_keys = ON")
    con.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    return con


# A corpus's insert dirties more pages than SQLite's default page cache (2 MB) holds, so
# SQLite writes them out in the middle of the transaction and reads some back; this much
# holds a 100,000-answer survey (48 MB of pages) five times over. Only pages in use take
# memory.
BULK_PAGE_CACHE_KIB = 256 * 1024
# Values in one "IN (?, ...)": well under the 999 variables older SQLite builds allow.
_IN_LIMIT = 500


@contextmanager
def _page_cache(con: sqlite3.Connection, kib: int) -> Iterator[None]:
    """A page cache of up to ``kib`` KiB on ``con`` inside the block; its size before (and
    the memory above it) given back on the way out."""
    before = con.execute("PRAGMA cache_size").fetchone()[0]
    con.execute(f"PRAGMA cache_size = {-kib}")  # negative: a size in KiB, not pages
    try:
        yield
    finally:
        con.execute(f"PRAGMA cache_size = {before}")


def _is_sqlite_file(path: Path) -> bool:
    """True unless the file can be read and does not start as an SQLite database does."""
    try:
        with path.open("rb") as file:
            return file.read(16) == b"SQLite format 3\x00"
    except OSError:
        return True  # unreadable: say so, rather than guess at what it holds


def _cannot_open(path: Path, exc: sqlite3.Error) -> ProjectError:
    # SQLite in WAL mode writes two files beside the project even to read it.
    return ProjectError(
        f"Cannot open project {path}: {exc}. qualcode writes to the project file and "
        f"beside it ({path.name}-wal, {path.name}-shm), even to read it: check that you may "
        "write to the file and its folder, or copy the project to a folder you may write to."
    )


class Project:
    """A qualcode project file. Use :meth:`create` or :meth:`open`, ideally in ``with``."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._con = connection

    # -- opening ------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | PathLike[str],
        *,
        codebook: Codebook | None = None,
        overwrite: bool = False,
        timeout: float = 30.0,
    ) -> Project:
        """Create a new, empty project file at ``path`` (optionally with a codebook).

        An existing file is an error unless ``overwrite=True``.
        """
        path = Path(path)
        if path.exists():
            if not overwrite:
                raise ProjectError(
                    f"{path} already exists. Open it with Project.open, choose another "
                    "name, or pass overwrite=True (--force) to replace it."
                )
            path.unlink()
            for suffix in ("-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        if not path.parent.exists():
            raise ProjectError(f"Cannot create {path}: folder {path.parent} does not exist.")
        try:
            con = _connect(path, timeout)
            con.execute("PRAGMA journal_mode = WAL")
            con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            _migrate(con, 0, path=None)
            with _transaction(con):
                con.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("application", "qualcode"), ("created", now_iso()), ("unit", "turn")],
                )
        except sqlite3.Error as exc:
            path.unlink(missing_ok=True)
            raise ProjectError(f"Cannot create project {path}: {exc}.") from exc
        project = cls(path, con)
        if codebook is not None:
            project.set_codebook(codebook, note="initial codebook")
        return project

    @classmethod
    def open(cls, path: str | PathLike[str], *, timeout: float = 30.0) -> Project:
        """Open an existing project, migrating it (after a backup) if an older qualcode made it."""
        path = Path(path)
        if not path.is_file():
            raise ProjectError(
                f"No project at {path}. Create one with `qualcode init {path}` "
                "or Project.create()."
            )
        try:
            con = _connect(path, timeout)
            app_id = con.execute("PRAGMA application_id").fetchone()[0]
            version = con.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            if not _is_sqlite_file(path):
                raise ProjectError(
                    f"{path} is not a qualcode project (not an SQLite file).") from exc
            raise _cannot_open(path, exc) from exc
        if app_id != APPLICATION_ID:
            con.close()
            raise ProjectError(f"{path} is an SQLite file but not a qualcode project.")
        if version > SCHEMA_VERSION:
            con.close()
            raise ProjectError(
                f"{path} was written by a newer qualcode (schema {version}; this one reads "
                f"up to {SCHEMA_VERSION}). Upgrade qualcode to open it."
            )
        try:
            con.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:  # a read-only file or folder
            con.close()
            raise _cannot_open(path, exc) from exc
        if version < SCHEMA_VERSION:
            _migrate(con, version, path=path)
        return cls(path, con)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Project {self.path} documents={len(self.documents)}>"

    def _repr_html_(self) -> str:
        from qualcode.display import project_html

        return project_html(self)

    # -- notebook conveniences (each is a thin call into the module that does the work) --
    def show(self, document: str | None = None, **options: Any):
        """A document with its codings highlighted (in Jupyter), or the project summary."""
        from qualcode.display import show

        return show(self, document, **options)

    def code(self, quote_or_start: str | int, code: str, **options: Any) -> Coding:
        """Code a passage by quoting it (located in the text) or by offsets; returns the
        stored coding (see :func:`qualcode.manual.code`).

        >>> coding = project.code("I know the faces", "geographies_of_notoriety",
        ...                       document="AP03_marcus", coder="anna")  # doctest: +SKIP
        >>> project.memo("Why here?", coding=coding)                       # doctest: +SKIP
        """
        from qualcode.manual import code as code_passage

        return code_passage(self, quote_or_start, code, **options)

    def memo(self, text: str, **where: Any) -> int:
        """Write a memo on a document, code, coding or the project (see :meth:`add_memo`)."""
        from qualcode.manual import memo

        return memo(self, text, **where)

    def review(self, **filters: Any):
        """A review session over suggestions (accept, reject, recode, skip, undo)."""
        from qualcode.review import ReviewSession

        return ReviewSession(self, **filters)

    @property
    def schema_version(self) -> int:
        return self._con.execute("PRAGMA user_version").fetchone()[0]

    def _meta(self, key: str, default: str | None = None) -> str | None:
        row = self._con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def _set_meta(self, key: str, value: str) -> None:
        self._con.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- documents and segments ----------------------------------------------------
    @collector_paused()  # 100,000s of rows, none of them in a reference cycle
    def add_corpus(self, corpus: Corpus | Sequence[Corpus | DocumentColumns], *,
                   replace: bool = False) -> dict[str, list[str]]:
        """Store a corpus's documents and segments in one transaction.

        A document already in the project with the same text is left as it is; with
        different text it is an error (its codings would no longer fit) unless
        ``replace=True`` and it has no codings. Returns ``{"added": [...],
        "unchanged": [...], "replaced": [...]}`` document ids.

        ``corpus`` may also be a list of corpora and
        :class:`~qualcode.model.DocumentColumns` (a survey table's answers, as ingest
        reads them), stored in order as one corpus.
        """
        parts = [corpus] if isinstance(corpus, (Corpus, DocumentColumns)) else list(corpus)
        report: dict[str, list[str]] = {"added": [], "unchanged": [], "replaced": []}
        existing = dict(self._con.execute("SELECT id, content_hash FROM documents"))
        added = now_iso()  # one time for the whole corpus: it lands in one transaction
        # the cache is given back after the commit (the transaction closes first)
        with _page_cache(self._con, BULK_PAGE_CACHE_KIB), _transaction(self._con):
            position = self._con.execute(
                "SELECT COALESCE(MAX(position), -1) + 1 FROM documents"
            ).fetchone()[0]
            document_rows: list[Iterable[tuple[Any, ...]]] = []
            stored: list[set[str] | Sequence[bool] | None] = []  # what each part stores
            for part in parts:
                if isinstance(part, Corpus):
                    rows = []
                    for document in part.documents:
                        if self._sort_document(document.id, document.content_hash,
                                               existing, replace, report):
                            rows.append((
                                document.id,
                                position + len(rows),
                                document.text,
                                len(document.text),  # SQLite's LENGTH() stops at a NUL
                                document.source,
                                document.content_hash,
                                attributes_json(document.attributes),
                            ))
                    stored.append({row[0] for row in rows})
                    position += len(rows)
                else:
                    # a new survey's answers are all added: no need to look at each
                    keep = None if existing.keys().isdisjoint(part.ids) else [
                        self._sort_document(document_id, content_hash, existing, replace,
                                            report)
                        for document_id, content_hash in zip(part.ids, part.content_hashes,
                                                             strict=True)]
                    if keep is None:
                        report["added"].extend(part.ids)
                    rows = _column_document_rows(part, keep, position)
                    stored.append(keep)
                    position += len(part) if keep is None else sum(keep)
                document_rows.append(rows)
            # after the deletes, every document at once
            _insert_many(self._con, "documents", _DOCUMENT_COLUMNS,
                         chain.from_iterable(document_rows), {"added": added})
            kinds: set[str] = set()
            for part, kept in zip(parts, stored, strict=True):
                if isinstance(part, Corpus):
                    insert_segment_rows(
                        self._con, [s for s in part.segments if s.document_id in kept])
                    kinds.update(s.kind for s in part.segments)
                elif len(part):
                    _insert_turn_rows(self._con, part, kept)
                    kinds.add("turn")
            if len(kinds) == 1:
                self._set_meta("unit", kinds.pop())
        return report

    def _sort_document(self, document_id: str, content_hash: str,
                       existing: Mapping[str, str], replace: bool,
                       report: dict[str, list[str]]) -> bool:
        """Whether a document is to be stored: added, or replacing the one of its id (which
        is deleted), or not, being unchanged; noted in ``report``."""
        old_hash = existing.get(document_id)
        if old_hash == content_hash:
            report["unchanged"].append(document_id)
            return False
        if old_hash is not None:
            if not replace:
                raise ProjectError(
                    f"Document '{document_id}' is already in {self.path} with "
                    "different text. Give the new file another name, or replace it "
                    "(--replace) if it has no codings yet."
                )
            n = self._con.execute(
                "SELECT COUNT(*) FROM codings WHERE document_id = ?", (document_id,)
            ).fetchone()[0]
            if n:
                raise ProjectError(
                    f"Document '{document_id}' has {n} codings; replacing its text "
                    "would move them off their words. Add the new version under "
                    "another id instead."
                )
            self._con.execute("DELETE FROM documents WHERE id = ?", (document_id,))
            report["replaced"].append(document_id)
        else:
            report["added"].append(document_id)
        return True

    def set_attributes(self, document_id: str, attributes: dict[str, str]) -> None:
        """Add or replace case attributes of a document."""
        document = self.documents[document_id]
        merged = {**document.attributes, **{k: str(v) for k, v in attributes.items()}}
        with _transaction(self._con):
            self._con.execute(
                "UPDATE documents SET attributes = ? WHERE id = ?",
                (json.dumps(merged, ensure_ascii=False), document_id),
            )

    @property
    def documents(self) -> DocumentsView:
        """The documents, in the order they were added: ``len``, iteration, ``[id]``."""
        return DocumentsView(self)

    @property
    def unit(self) -> str:
        """The segment kind this project codes by default (turn, paragraph or sentence)."""
        return self._meta("unit", "turn") or "turn"

    def segments(
        self, document: str | Sequence[str] | None = None, kind: str | None = None
    ) -> SegmentList:
        """Segments of one, several or all documents, in document then text order."""
        kind = kind or self.unit
        if kind not in SEGMENT_KINDS:
            raise ParameterError(
                f"The 'kind' parameter of Project.segments() must be one of "
                f"{', '.join(SEGMENT_KINDS)}. Got {kind!r} instead."
            )
        ids = self._document_ids(document)
        texts = self._texts(ids)
        out = []
        with collector_paused():
            for doc_id in ids:
                text = texts[doc_id]
                rows = self._con.execute(
                    "SELECT idx, start, end, speaker, role, start_time, end_time FROM segments "
                    "WHERE document_id = ? AND kind = ? ORDER BY idx",
                    (doc_id, kind),
                )
                for idx, start, end, speaker, role, t0, t1 in rows:
                    # checked when stored, as Coding.from_store trusts store rows
                    out.append(Segment.from_checked((
                        doc_id, start, end, text[start:end], kind, idx, speaker, role, t0, t1)))
        return SegmentList(out)

    def _document_ids(self, document: str | Sequence[str] | None) -> list[str]:
        all_ids = [r[0] for r in self._con.execute("SELECT id FROM documents ORDER BY position")]
        if document is None:
            return all_ids
        wanted = [document] if isinstance(document, str) else list(document)
        known = set(all_ids)
        missing = [d for d in wanted if d not in known]
        if missing:
            raise NotFoundError(_unknown_documents_message(missing, all_ids))
        return wanted

    def _texts(self, ids: Iterable[str]) -> dict[str, str]:
        ids = list(ids)
        if not ids:
            return {}
        placeholders = ",".join("?" * len(ids))
        return dict(
            self._con.execute(f"SELECT id, text FROM documents WHERE id IN ({placeholders})", ids)
        )

    def text_of(self, item: Segment | Coding) -> str:
        """The words a segment or coding covers, derived from its document."""
        return self._texts([item.document_id])[item.document_id][item.start : item.end]

    # -- codebook --------------------------------------------------------------------
    @property
    def codebook(self) -> Codebook | None:
        """The current (latest) codebook version, or None when none was set."""
        row = self._con.execute(
            "SELECT body FROM codebook_versions ORDER BY version DESC LIMIT 1"
        ).fetchone()
        return None if row is None else _codebook_from_json(row[0])

    def codebook_version(self, version: int) -> Codebook:
        row = self._con.execute(
            "SELECT body FROM codebook_versions WHERE version = ?", (version,)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"No codebook version {version} in {self.path}.")
        return _codebook_from_json(row[0])

    def codebook_versions(self) -> list[dict[str, Any]]:
        """Every stored version: version, name, created, note, codes."""
        rows = self._con.execute(
            "SELECT version, name, created, note, body FROM codebook_versions ORDER BY version"
        )
        return [
            {"version": v, "name": n, "created": c, "note": note,
             "codes": len(json.loads(body)["codes"])}
            for v, n, c, note, body in rows
        ]

    def set_codebook(self, codebook: Codebook, *, note: str = "",
                     created: str | None = None) -> int:
        """Store ``codebook`` as the project's next codebook version; returns its number.

        ``created``: when the version was made (ISO 8601; default now), for a copy of a
        project that keeps its history.

        Codings that use a code the new version lacks are kept, and reported by
        :meth:`info` as ``codes_not_in_codebook``.
        """
        with _transaction(self._con):
            version = self._con.execute(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM codebook_versions"
            ).fetchone()[0]
            stored = Codebook(codebook.name, codebook.codes, version, codebook.description)
            self._con.execute(
                "INSERT INTO codebook_versions (version, name, created, note, body) "
                "VALUES (?, ?, ?, ?, ?)",
                (version, stored.name, created or now_iso(), note,
                 _codebook_to_json(stored)),
            )
        return version

    # -- codings ---------------------------------------------------------------------
    def add_codings(self, codings: Iterable[Coding], *, check_codes: bool = True) -> list[int]:
        """Store codings in one transaction; returns the ids of those newly stored.

        A coding identical in document, offsets, code and coder to a stored one is not
        stored again and never changes the stored one: a rerun of a machine coder cannot
        overwrite a person's decision. Offsets are checked against the document, and
        codes against the current codebook (``check_codes=False`` skips that).
        """
        codings = list(codings)
        lengths = self._lengths(dict.fromkeys(c.document_id for c in codings))
        codebook = self.codebook if check_codes else None
        known_codes = {c.id for c in codebook} if codebook is not None else None
        unknown_codes: set[str] = set()
        for coding in codings:
            if coding.document_id not in lengths:
                raise NotFoundError(
                    _unknown_documents_message([coding.document_id], self.documents.ids)
                )
            check_span(coding.document_id, lengths[coding.document_id], coding.start,
                       coding.end, "coding")
            if known_codes is not None and coding.code_id not in known_codes:
                unknown_codes.add(coding.code_id)
        if unknown_codes:
            raise NotFoundError(
                f"Codes not in the project's codebook: {', '.join(sorted(unknown_codes))}. "
                "Add them to the codebook first (or import with check_codes=False)."
            )
        rows = [(c.document_id, c.start, c.end, c.code_id, c.coder, c.method, c.confidence,
                 c.status, c.reason, c.memo, c.created) for c in codings]
        with _transaction(self._con):
            # Rows get ids above every stored one, in order (this transaction is the only
            # writer): the new ids are those above the largest before.
            (before,) = self._con.execute("SELECT COALESCE(MAX(id), 0) FROM codings").fetchone()
            if not insert_coding_rows(self._con, rows):
                return []
            return [i for (i,) in self._con.execute(
                "SELECT id FROM codings WHERE id > ? ORDER BY id", (before,))]

    def _lengths(self, ids: Iterable[str]) -> dict[str, int]:
        """The text length of each of these documents that is in the project.

        Only the documents asked for: a row's length is stored after its text, so reading
        it reads the whole text (a coder storing 500 segments at a time read every
        document's text for each batch: 4 of the 20 s of coding 4,000 transcripts).
        """
        ids = list(ids)
        lengths: dict[str, int] = {}
        for first in range(0, len(ids), _IN_LIMIT):
            chunk = ids[first : first + _IN_LIMIT]
            lengths.update(self._con.execute(
                f"SELECT id, length FROM documents WHERE id IN ({','.join('?' * len(chunk))})",
                chunk))
        return lengths

    def codings(
        self,
        *,
        document: str | Sequence[str] | None = None,
        code: str | Sequence[str] | None = None,
        coder: str | Sequence[str] | None = None,
        status: str | Sequence[str] | None = None,
        method: str | Sequence[str] | None = None,
    ) -> CodingList:
        """Codings matching every filter given (each a value or a list of values)."""
        clauses, params = [], []
        for column, value in (
            ("document_id", document), ("code_id", code), ("coder", coder),
            ("status", status), ("method", method),
        ):
            if value is None:
                continue
            values = [value] if isinstance(value, str) else list(value)
            if column == "status":
                bad = [v for v in values if v not in CODING_STATUSES]
                if bad:
                    raise ParameterError(
                        f"The 'status' parameter of Project.codings() must be one of "
                        f"{', '.join(CODING_STATUSES)}. Got {bad[0]!r} instead."
                    )
            clauses.append(f"{column} IN ({','.join('?' * len(values))})")
            params.extend(values)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._con.execute(
            "SELECT document_id, start, end, code_id, coder, method, confidence, status, "
            f"reason, memo, created, id FROM codings {where} ORDER BY id",
            params,
        )
        with collector_paused():
            return CodingList(map(Coding.from_store, rows), project=self)

    def coding(self, coding_id: int) -> Coding:
        found = self._con.execute(
            "SELECT document_id, start, end, code_id, coder, method, confidence, status, "
            "reason, memo, created, id FROM codings WHERE id = ?",
            (coding_id,),
        ).fetchone()
        if found is None:
            raise NotFoundError(f"No coding with id {coding_id} in {self.path}.")
        return Coding.from_store(found)

    def set_status(self, ids: int | Iterable[int], status: str, *, by: str | None = None) -> int:
        """Accept or reject codings (or set them back to suggested); returns how many changed.

        Each change is logged with who made it and when.
        """
        if status not in CODING_STATUSES:
            raise ParameterError(
                f"The 'status' parameter of Project.set_status() must be one of "
                f"{', '.join(CODING_STATUSES)}. Got {status!r} instead."
            )
        ids = [ids] if isinstance(ids, int) else list(ids)
        with _transaction(self._con):
            return sum(self._record_status(coding_id, status, by) for coding_id in ids)

    def accept(self, ids: int | Iterable[int], *, by: str | None = None) -> int:
        return self.set_status(ids, "accepted", by=by)

    def reject(self, ids: int | Iterable[int], *, by: str | None = None) -> int:
        return self.set_status(ids, "rejected", by=by)

    def recode(self, coding_id: int, code_id: str, *, by: str) -> int:
        """Replace a suggestion's code: the suggestion is rejected and ``by``'s accepted
        coding of the same words with ``code_id`` is stored. Returns the new coding's id."""
        old = self.coding(coding_id)
        if self.codebook is not None:
            self.codebook.get(code_id)
        new = Coding(old.document_id, old.start, old.end, code_id, coder=by, method="review",
                     status="accepted", reason=f"recoded from {old.code_id} (coding {old.id})")
        with _transaction(self._con):
            self._record_status(coding_id, "rejected", by)
            cursor = self._con.execute(
                "INSERT INTO codings (document_id, start, end, code_id, coder, method, "
                "confidence, status, reason, memo, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (document_id, start, end, code_id, coder) "
                "DO UPDATE SET status = 'accepted' RETURNING id",
                (new.document_id, new.start, new.end, new.code_id, new.coder, new.method,
                 None, new.status, new.reason, "", new.created),
            )
            return cursor.fetchone()[0]

    def _record_status(self, coding_id: int, status: str, by: str | None) -> bool:
        # Call inside a transaction: change one coding's status and log the decision.
        row = self._con.execute("SELECT status FROM codings WHERE id = ?", (coding_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"No coding with id {coding_id} in {self.path}.")
        if row[0] == status:
            return False
        self._con.execute("UPDATE codings SET status = ? WHERE id = ?", (status, coding_id))
        self._con.execute(
            "INSERT INTO decisions (coding_id, old_status, new_status, by, at) "
            "VALUES (?, ?, ?, ?, ?)",
            (coding_id, row[0], status, by, now_iso()),
        )
        return True

    def copy_decisions(self, decisions: Iterable[Mapping[str, Any]]) -> int:
        """Add review decisions made elsewhere to the log, as they were (``coding_id``,
        ``old_status``, ``new_status``, ``by``, ``at``, as :meth:`decisions` gives them,
        with ``coding_id`` naming a coding of this project); returns how many.

        For a copy of a project that keeps its review history: the codings' statuses are
        copied with the codings, so nothing here changes a status."""
        rows = [(d["coding_id"], d["old_status"], d["new_status"], d.get("by"), d["at"])
                for d in decisions]
        known = {i for (i,) in self._con.execute("SELECT id FROM codings")} if rows else set()
        for coding_id, old, new, _, _ in rows:
            if coding_id not in known:
                raise NotFoundError(f"No coding with id {coding_id} in {self.path}.")
            for status in (old, new):
                if status not in CODING_STATUSES:
                    raise ParameterError(
                        f"A decision's status must be one of {', '.join(CODING_STATUSES)}. "
                        f"Got {status!r} instead (coding {coding_id}).")
        with _transaction(self._con):
            self._con.executemany(
                "INSERT INTO decisions (coding_id, old_status, new_status, by, at) "
                "VALUES (?, ?, ?, ?, ?)", rows)
        return len(rows)

    def decisions(self) -> list[dict[str, Any]]:
        """The review log: every status change with who made it and when."""
        rows = self._con.execute(
            "SELECT coding_id, old_status, new_status, by, at FROM decisions ORDER BY id"
        )
        keys = ("coding_id", "old_status", "new_status", "by", "at")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def transaction(self) -> _transaction:
        """Several reads and writes as one transaction: ``with project.transaction(): ...``.

        Every write inside lands or none does, and no other process writes in between, so
        what was read inside is still true when the writes land."""
        return _transaction(self._con)

    # -- memos -------------------------------------------------------------------------
    def add_memo(
        self,
        text: str,
        *,
        document: str | None = None,
        code: str | None = None,
        coding: int | None = None,
        author: str | None = None,
        created: str | None = None,
    ) -> int:
        """Write a memo, attached to a document, a code, a coding or the project.

        ``created``: when it was written (ISO 8601; default now), for a copy of a project
        that keeps its history."""
        if not text or not text.strip():
            raise ParameterError("A memo needs some text.")
        if document is not None:
            self._document_ids(document)
        if coding is not None:
            self.coding(coding)
        with _transaction(self._con):
            cursor = self._con.execute(
                "INSERT INTO memos (text, document_id, code_id, coding_id, author, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (text, document, code, coding, author, created or now_iso()),
            )
        return cursor.lastrowid

    def memos(self) -> list[Memo]:
        rows = self._con.execute(
            "SELECT text, document_id, code_id, coding_id, author, created, id FROM memos "
            "ORDER BY id"
        )
        return [Memo(*row) for row in rows]

    # -- embedding cache (used by the coders) ------------------------------------------
    def cached_embeddings(self, model: str, text_hashes: Sequence[str]) -> dict[str, bytes]:
        """Stored vectors (raw float32 bytes) for these text hashes under ``model``."""
        found: dict[str, bytes] = {}
        for i in range(0, len(text_hashes), 900):  # SQLite's bound-parameter limit
            chunk = list(text_hashes[i : i + 900])
            rows = self._con.execute(
                f"SELECT text_hash, vector FROM embeddings WHERE model = ? AND text_hash IN "
                f"({','.join('?' * len(chunk))})",
                [model, *chunk],
            )
            found.update(rows)
        return found

    def store_embeddings(self, model: str, vectors: dict[str, bytes]) -> None:
        with _transaction(self._con):
            self._con.executemany(
                "INSERT OR REPLACE INTO embeddings (model, text_hash, vector) VALUES (?, ?, ?)",
                [(model, h, v) for h, v in vectors.items()],
            )

    # -- summary -----------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Counts a researcher checks first: documents, segments, words, speakers, codes,
        codings by status and coder."""
        con = self._con
        texts = [r[0] for r in con.execute("SELECT text FROM documents")]
        unit = self.unit
        speakers = con.execute(
            "SELECT speaker, COUNT(*) FROM segments WHERE kind = ? AND speaker IS NOT NULL "
            "GROUP BY speaker ORDER BY COUNT(*) DESC, speaker",
            (unit,),
        ).fetchall()
        codebook = self.codebook
        by_status = dict(con.execute("SELECT status, COUNT(*) FROM codings GROUP BY status"))
        by_coder = [
            {"coder": c, "method": m, "status": s, "codings": n}
            for c, m, s, n in con.execute(
                "SELECT coder, method, status, COUNT(*) FROM codings "
                "GROUP BY coder, method, status ORDER BY coder, method, status"
            )
        ]
        used_codes = {r[0] for r in con.execute("SELECT DISTINCT code_id FROM codings")}
        known = {c.id for c in codebook} if codebook else set()
        return {
            "project": str(self.path),
            "schema_version": self.schema_version,
            "documents": len(texts),
            "characters": sum(len(t) for t in texts),
            "words": sum(len(t.split()) for t in texts),
            "unit": unit,
            "segments": con.execute(
                "SELECT COUNT(*) FROM segments WHERE kind = ?", (unit,)
            ).fetchone()[0],
            "speakers": {name: n for name, n in speakers},
            "codebook": None if codebook is None else {
                "name": codebook.name,
                "version": codebook.version,
                "themes": len(codebook.themes),
                "codes": len(codebook.leaves()),
                "flat": all(c.parent is None for c in codebook.codes),  # no themes above codes
            },
            "codings": {s: by_status.get(s, 0) for s in CODING_STATUSES},
            "coders": by_coder,
            "codes_not_in_codebook": sorted(used_codes - known) if codebook else [],
            "memos": con.execute("SELECT COUNT(*) FROM memos").fetchone()[0],
        }


class DocumentsView:
    """The documents of a project, read on demand."""

    def __init__(self, project: Project) -> None:
        self._project = project

    def __len__(self) -> int:
        return self._project._con.execute("SELECT COUNT(*) FROM documents").fetchone()[0]

    def __iter__(self) -> Iterator[Document]:
        rows = self._project._con.execute(
            "SELECT id, text, attributes, source FROM documents ORDER BY position"
        )
        for doc_id, text, attributes, source in rows:
            yield Document(doc_id, text, json.loads(attributes), source)

    def __contains__(self, document_id: object) -> bool:
        return self._project._con.execute(
            "SELECT 1 FROM documents WHERE id = ?", (document_id,)
        ).fetchone() is not None

    def __getitem__(self, document_id: str) -> Document:
        row = self._project._con.execute(
            "SELECT id, text, attributes, source FROM documents WHERE id = ?", (document_id,)
        ).fetchone()
        if row is None:
            raise NotFoundError(_unknown_documents_message([document_id], self.ids))
        return Document(row[0], row[1], json.loads(row[2]), row[3])

    @property
    def ids(self) -> list[str]:
        rows = self._project._con.execute("SELECT id FROM documents ORDER BY position")
        return [r[0] for r in rows]

    def to_frame(self):  # -> pandas.DataFrame
        """One row per document: document, words, characters, segments, source, attributes."""
        import pandas as pd

        con = self._project._con
        counts = dict(con.execute(
            "SELECT document_id, COUNT(*) FROM segments WHERE kind = ? GROUP BY document_id",
            (self._project.unit,),
        ))
        rows = []
        for doc in self:
            rows.append({
                "document": doc.id,
                "words": doc.word_count,
                "characters": len(doc.text),
                "segments": counts.get(doc.id, 0),
                "source": doc.source,
                **doc.attributes,
            })
        columns = ["document", "words", "characters", "segments", "source"]
        return pd.DataFrame(rows, columns=list(dict.fromkeys(
            columns + [k for row in rows for k in row]
        )))


class SegmentList(tuple):
    """A tuple of :class:`Segment` with :meth:`to_frame`."""

    def to_frame(self):  # -> pandas.DataFrame
        import pandas as pd

        columns = ["document", "index", "start", "end", "kind", "speaker", "role",
                   "start_time", "end_time", "text"]
        return pd.DataFrame(
            [(s.document_id, s.index, s.start, s.end, s.kind, s.speaker, s.role,
              s.start_time, s.end_time, s.text) for s in self],
            columns=columns,
        )


class CodingList(tuple):
    """A tuple of :class:`Coding` with :meth:`to_frame` (adds theme and text)."""

    def __new__(cls, codings: Iterable[Coding], project: Project | None = None) -> CodingList:
        self = super().__new__(cls, codings)
        self._project = project
        return self

    def _repr_html_(self) -> str | None:
        if self._project is None:
            return None
        from qualcode.display import codings_html

        return codings_html(self, self._project)

    def to_frame(self):  # -> pandas.DataFrame
        import pandas as pd

        columns = ["id", "document", "start", "end", "code", "theme", "coder", "method",
                   "confidence", "status", "reason", "memo", "created", "text"]
        project = self._project
        codebook = project.codebook if project is not None else None
        texts = project._texts({c.document_id for c in self}) if project is not None else {}
        themes: dict[str, str | None] = {}
        rows = []
        for c in self:
            if c.code_id not in themes:
                themes[c.code_id] = (
                    codebook.theme_of(c.code_id) if codebook and c.code_id in codebook else None
                )
            text = texts.get(c.document_id)
            rows.append((c.id, c.document_id, c.start, c.end, c.code_id, themes[c.code_id],
                         c.coder, c.method, c.confidence, c.status, c.reason, c.memo, c.created,
                         None if text is None else text[c.start : c.end]))
        return pd.DataFrame(rows, columns=columns)


# -- helpers ------------------------------------------------------------------------------
_quote = json.encoder.encode_basestring  # how json.dumps(..., ensure_ascii=False) quotes


def attributes_json(attributes: Mapping[str, Any]) -> str:
    """The stored text of a document's attributes: ``json.dumps(dict(attributes),
    ensure_ascii=False)``, character for character.

    Attributes are nearly always strings named by strings: those are quoted and joined
    directly, three times faster than ``json.dumps`` (which builds an encoder per call);
    anything else goes to ``json.dumps``.
    """
    try:
        return "{" + ", ".join([f"{_quote(k)}: {_quote(v)}" for k, v in attributes.items()]) + "}"
    except TypeError:  # a key or value that is not a string
        return json.dumps(dict(attributes), ensure_ascii=False)


def attribute_texts(names: Sequence[str], columns: Sequence[Sequence[str]],
                    count: int) -> list[str]:
    """:func:`attributes_json` of each of ``count`` rows of attributes given as columns:
    row ``i`` has ``names[j]: columns[j][i]`` for each value that is not empty, in order.

    A survey's attributes are mostly categories (a setting, a role, a phase): when rows
    repeat, each distinct row's text is made once and shared (100,000 rows of three
    categories: 31 ms, where a dictionary and :func:`attributes_json` a row take 135 ms).
    """
    if not names:
        return ["{}"] * count
    rows = list(zip(*columns, strict=True))
    distinct = dict.fromkeys(rows)
    if len(distinct) > len(rows) // 2:
        return _attribute_texts(names, columns)
    texts = dict(zip(distinct, _attribute_texts(names, list(zip(*distinct, strict=True))),
                     strict=True))
    return list(map(texts.__getitem__, rows))


def _attribute_texts(names: Sequence[str], columns: Sequence[Sequence[str]]) -> list[str]:
    """:func:`attribute_texts` row by row: each column is quoted at once, and a row with
    every value fills one template (100,000 rows of three values: 94 ms, where a
    dictionary and :func:`attributes_json` a row take 135 ms)."""
    keys = [_quote(name) for name in names]
    quoted = [list(map(_quote, column)) for column in columns]
    # "%" in a name is a literal character of the template, not a placeholder
    template = "{" + ", ".join(key.replace("%", "%%") + ": %s" for key in keys) + "}"
    if not any("" in column for column in columns):
        return list(map(template.__mod__, zip(*quoted, strict=True)))
    return [template % row if all(values) else
            "{" + ", ".join([f"{key}: {value}" for key, value, present
                             in zip(keys, row, values, strict=True) if present]) + "}"
            for values, row in zip(zip(*columns, strict=True), zip(*quoted, strict=True),
                                   strict=True)]


def _column_document_rows(columns: DocumentColumns, keep: Sequence[bool] | None,
                          position: int) -> Iterator[tuple[Any, ...]]:
    """The ``documents`` rows of the documents that are kept (None: all), made column by
    column: a survey's 100,000 answers make no object each."""
    def kept(values: Sequence[Any]) -> Sequence[Any]:
        return values if keep is None else list(compress(values, keep))

    ids, texts, lengths = kept(columns.ids), kept(columns.texts), kept(columns.lengths)
    count = len(ids)
    attributes = attribute_texts(columns.attribute_names,
                                 [kept(values) for values in columns.attribute_values], count)
    if columns.extra_attributes:  # a cases table's attributes go on top of the row's
        own_attributes: Iterable[tuple[str, dict[str, str]]] = zip(
            columns.ids, columns.own_attributes(), strict=True)
        if keep is not None:
            own_attributes = compress(own_attributes, keep)
        for i, (document_id, own) in enumerate(own_attributes):
            extra = columns.extra_attributes.get(document_id)
            if extra:
                attributes[i] = attributes_json({**own, **extra})
    return zip(ids, range(position, position + count), texts, lengths,
               repeat(columns.source), kept(columns.content_hashes), attributes)


def _literal(value: str | int) -> str:
    """An SQL literal of a string or integer."""
    return str(value) if isinstance(value, int) else "'" + value.replace("'", "''") + "'"


# (column, Segment attribute), in the order of the table
_SEGMENT_COLUMNS = (("document_id", "document_id"), ("kind", "kind"), ("idx", "index"),
                    ("start", "start"), ("end", "end"), ("speaker", "speaker"),
                    ("role", "role"), ("start_time", "start_time"), ("end_time", "end_time"))
_OPTIONAL_SEGMENT_FIELDS = frozenset(("speaker", "role", "start_time", "end_time"))


def insert_segment_rows(con: sqlite3.Connection, segments: Sequence[Segment]) -> None:
    """Store segments, in order. Call inside a transaction.

    Python's sqlite3 binds None slowly (it looks for an adapter for it first): a survey
    answer's segment has no speaker and no times, and binding those three Nones took longer
    than binding the rest of its row. So a column no segment has a value for is left out
    of the statement (it is NULL all the same).
    """
    columns = [(column, name) for column, name in _SEGMENT_COLUMNS
               if name not in _OPTIONAL_SEGMENT_FIELDS
               or any(value is not None for value in map(attrgetter(name), segments))]
    _insert_many(con, "segments", [column for column, _ in columns],
                 map(attrgetter(*(name for _, name in columns)), segments))


def _insert_turn_rows(con: sqlite3.Connection, columns: DocumentColumns,
                      keep: Sequence[bool] | None) -> None:
    """Store the one segment of each document of ``columns`` that is kept (None: all): a
    participant's turn, first of its document, without speaker or times (left out, as
    :func:`insert_segment_rows` leaves out columns no segment has a value for)."""
    rows: Iterable[tuple[Any, ...]] = zip(columns.ids, columns.starts, columns.ends,
                                          strict=True)
    if keep is not None:
        rows = compress(rows, keep)
    _insert_many(con, "segments", ["document_id", "start", "end"], rows,
                 {"kind": "turn", "idx": 0, "role": "participant"})


# the columns of a document's row but "added", one time for every document of a corpus
_DOCUMENT_COLUMNS = ("id", "position", "text", "length", "source", "content_hash",
                     "attributes")

# Values bound per INSERT statement when storing many rows: as many rows a statement as fit
# in 999 (the most SQLite binds before version 3.32). Python's sqlite3 binds, steps and
# resets a statement per set of parameters; with 100 rows and more a statement it does so
# 100 times less often (add_corpus of a 100,000-answer survey: 0.6 s with a row a
# statement, 0.4 s with these).
VALUES_PER_INSERT = 999


def _insert_many(con: sqlite3.Connection, table: str, columns: Sequence[str],
                 rows: Iterable[Sequence[Any]],
                 fixed: Mapping[str, str | int] | None = None) -> None:
    """Insert ``rows`` (values of ``columns``, in order) into ``table``, in order, with the
    ``fixed`` value of those columns in every row (written into the statement: binding
    the kind, index and role of each survey answer's segment took a quarter of the time
    of storing them)."""
    fixed = fixed or {}
    values = list(chain.from_iterable(rows))
    head = f"INSERT INTO {table} ({', '.join([*columns, *fixed])}) VALUES "
    row = f"({', '.join(['?'] * len(columns) + list(map(_literal, fixed.values())))})"
    per_statement = max(1, VALUES_PER_INSERT // len(columns))  # rows
    step = per_statement * len(columns)
    whole = len(values) - len(values) % step  # the values of the full statements
    con.executemany(head + ", ".join([row] * per_statement),
                    (values[i:i + step] for i in range(0, whole, step)))
    if whole < len(values):
        con.execute(head + ", ".join([row] * ((len(values) - whole) // len(columns))),
                    values[whole:])


def insert_coding_rows(con: sqlite3.Connection, rows: Iterable[Sequence[Any]]) -> int:
    """Store coding rows (the fields of :class:`Coding` but ``id``, in order), skipping any
    identical in document, offsets, code and coder to a stored one; returns how many were
    new. No checks: for rows already checked, or made from the project's own segments.
    Call inside a transaction."""
    before = con.total_changes
    con.executemany(
        "INSERT OR IGNORE INTO codings (document_id, start, end, code_id, coder, method, "
        "confidence, status, reason, memo, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return con.total_changes - before


def read_segment_rows(
    con: sqlite3.Connection, kind: str, rowids: Iterable[tuple[int, int]], coder: str
) -> tuple[list[tuple[Any, ...]], list[tuple[str, int, int, str]]]:
    """The ``kind`` segments of the documents in each ``(first, last)`` range of document
    rows, as rows (the fields of :class:`Segment`, in order; documents in row order), and
    ``(document, start, end, code)`` of each coding of theirs by ``coder``.

    For a reader that holds only a connection (a Dask worker with the file open
    read-only): :meth:`Project.segments` checks the ids it is given against every document,
    which for a million documents costs more than coding them.
    """
    rows: list[tuple[Any, ...]] = []
    coded: list[tuple[str, int, int, str]] = []
    for first, last in rowids:
        texts = dict(con.execute(
            "SELECT id, text FROM documents WHERE rowid BETWEEN ? AND ?", (first, last)))
        for document_id, start, end, index, speaker, role, t0, t1 in con.execute(
                "SELECT s.document_id, s.start, s.end, s.idx, s.speaker, s.role, "
                "s.start_time, s.end_time FROM documents AS d JOIN segments AS s "
                "ON s.document_id = d.id AND s.kind = ? WHERE d.rowid BETWEEN ? AND ? "
                "ORDER BY d.rowid, s.idx", (kind, first, last)):
            rows.append((document_id, start, end, texts[document_id][start:end], kind,
                         index, speaker, role, t0, t1))
        coded.extend(con.execute(
            # CROSS JOIN: by document (not every coding of the coder)
            "SELECT c.document_id, c.start, c.end, c.code_id FROM documents AS d "
            "CROSS JOIN codings AS c ON c.document_id = d.id AND c.coder = ? "
            "WHERE d.rowid BETWEEN ? AND ?", (coder, first, last)))
    return rows, coded


class _transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``; rolls back on any error (nothing half-written)."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con
        self.nested = False

    def __enter__(self) -> sqlite3.Connection:
        self.nested = self.con.in_transaction
        if not self.nested:
            try:
                self.con.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:  # still locked after busy_timeout
                raise ProjectError(
                    f"The project is busy (another process is writing to it): {exc}. "
                    "Try again when it has finished."
                ) from exc
        return self.con

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self.nested:
            return
        if exc_type is None:
            self.con.execute("COMMIT")
            return
        self.con.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise ProjectError(
                f"Could not write to the project ({exc}); nothing was changed."
            ) from exc


def _migrate(con: sqlite3.Connection, current: int, *, path: Path | None) -> None:
    if path is not None:
        backup = path.with_name(f"{path.name}.v{current}.bak")
        try:
            target = sqlite3.connect(str(backup))
            with target:
                con.backup(target)
            target.close()
        except sqlite3.Error as exc:
            raise ProjectError(
                f"Could not back up {path} to {backup} before upgrading it: {exc}. "
                "Nothing was changed."
            ) from exc
    with _transaction(con):
        for version in range(current + 1, SCHEMA_VERSION + 1):
            for statement in _statements(MIGRATIONS[version]):
                con.execute(statement)
            con.execute(f"PRAGMA user_version = {version}")


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT the open transaction; run statements one by one instead.
    return [s.strip() for s in script.split(";") if s.strip()]


def _codebook_to_json(codebook: Codebook) -> str:
    return json.dumps(
        {
            "name": codebook.name,
            "version": codebook.version,
            "description": codebook.description,
            "codes": [asdict(c) for c in codebook.codes],
        },
        ensure_ascii=False,
    )


def _codebook_from_json(body: str) -> Codebook:
    data = json.loads(body)
    return Codebook(
        name=data["name"],
        codes=tuple(Code(**c) for c in data["codes"]),
        version=data["version"],
        description=data.get("description", ""),
    )


def _unknown_documents_message(missing: Sequence[str], known: Sequence[str]) -> str:
    import difflib

    hints = []
    for name in missing[:3]:
        close = difflib.get_close_matches(name, list(known), n=2)
        if close:
            hints.append(f"'{name}' (did you mean {', '.join(repr(c) for c in close)}?)")
        else:
            hints.append(f"'{name}'")
    more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    return f"No document {', '.join(hints)}{more} in this project."
