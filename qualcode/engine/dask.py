"""Code a project on a Dask cluster: the same coder, the same suggestions, more cores.

:func:`code_project_dask` does what :func:`qualcode.coding.code_project` does, with the
``suggest`` calls spread over Dask workers:

1. the coder is fitted once, here (the client), then pickled and sent to the workers
   (each worker unpickles it once and keeps it for the run);
2. the documents are cut into partitions of whole documents (``partition_size`` segments
   or so, like ``code_project``'s batches), named by ranges of their rows in the project
   file; each worker calls ``suggest`` on one partition at a time;
3. each worker reads its partition's segments from the project file itself (read-only),
   when every worker can open that file at the same path (a ``LocalCluster``, a shared
   disk: checked when the run starts); otherwise this process reads them and sends them;
4. suggestions come back as plain rows, as they are made, and are stored here, in
   partition order, many partitions per transaction. This process is the project's only
   writer.

A worker that dies mid-run (killed, out of memory, a lost machine) costs only time: the
scheduler runs its partitions again elsewhere, and nothing is stored twice or lost. Ctrl-C
stops the run; every transaction already committed is kept, none is half-written, and a
second run skips the segments coded already (as ``code_project`` does).

Embeddings and the project's cache: a worker does not use the project's embedding cache
directly, so when a coder asks for cached vectors the worker hands the question back to
the client, which answers from the project's cache; vectors the workers compute come back
with the suggestions and are stored in the cache, so a second run (on Dask or not) embeds
nothing again.

>>> run = code_project_dask("survey.qualcode", "rules", workers=2)        # doctest: +SKIP
>>> run.stored, run.seconds                                                # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import pickle
import sqlite3
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from qualcode._bulk import collector_paused
from qualcode.coders.base import BaseCoder
from qualcode.coding import CodingRun, _coded_pairs, _estimator, check_codable
from qualcode.engine.progress import ProgressArg, progress_reporter
from qualcode.errors import (
    DependencyError,
    NotFoundError,
    ParameterError,
    QualcodeError,
    parameter_error,
)
from qualcode.model import Coding, Segment, now_iso
from qualcode.project import Project, _transaction, insert_coding_rows, read_segment_rows

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["DaskCodingRun", "code_project_dask"]

_WHERE = "code_project_dask()"
_EXTRA = "pip install 'qualcode[dask]'"
# Suggestions are stored every _WRITE_EVERY seconds (many partitions per transaction: a
# commit per partition would cost more than storing its rows), or when _WRITE_AT of them
# are waiting in memory, whatever the time.
_WRITE_EVERY = 2.0
_WRITE_AT = 200_000
# Segments per task by default: the rules coder codes 5,000 in well under a second, so
# smaller tasks would spend more time being scheduled than coding.
PARTITION = 500
RULES_PARTITION = 5_000
_CACHE_KIB = 131_072  # SQLite's page cache while storing (its default: 2 MiB)


@dataclass
class DaskCodingRun(CodingRun):
    """What :func:`code_project_dask` did: a :class:`~qualcode.coding.CodingRun` (its
    ``batches`` are the partitions coded on the cluster) plus the cluster it ran on
    (``scheduler`` address, ``workers`` and their ``threads``), whether the workers read
    the segments from the project file (``workers_read``; if not, this process sent them)
    and where the time went (``phases``: seconds planning the partitions, fitting,
    starting or reaching the cluster, coding, closing; ``store``, the part of coding spent
    storing suggestions)."""

    scheduler: str = ""
    workers: int = 0
    threads: int = 0
    workers_read: bool = False
    phases: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "engine": "dask", "scheduler": self.scheduler,
                "workers": self.workers, "threads": self.threads,
                "workers_read": self.workers_read,
                "phases": {k: round(v, 3) for k, v in self.phases.items()}}


def code_project_dask(
    project: Project | str | PathLike[str],
    method: str | BaseCoder = "auto",
    *,
    scheduler: str | Client | None = None,
    workers: int = 2,
    partition_size: int | None = None,
    coder: str | None = None,
    documents: str | Sequence[str] | None = None,
    learn_from: str | None = None,
    progress: ProgressArg = True,
    **params: Any,
) -> DaskCodingRun:
    """Run a machine coder over a project's segments on a Dask cluster; store its
    suggestions exactly as :func:`qualcode.coding.code_project` would.

    ``method``, ``coder``, ``documents``, ``learn_from`` and ``params`` mean what they mean
    for ``code_project`` (a coder name or a configured coder object; the name to store
    under; ids or glob patterns; whose accepted codings to learn from; the coder's keyword
    arguments). ``scheduler``: the address of a running Dask scheduler
    (``"tcp://host:8786"``) or a ``distributed.Client``; None starts a ``LocalCluster`` of
    ``workers`` processes (one thread each) on this machine, for this run. A remote
    scheduler means the segments' text is sent to its machines: use one you are allowed
    to send the data to. Its workers need qualcode (the same version) and the coder's
    extras installed; they read the project file themselves if they can open it at the
    same path, and are sent the segments otherwise. ``partition_size``: segments per task
    (whole documents); by default 5,000 for the rules coder, whose tasks are otherwise
    too short to pay for their scheduling, and 500 (``code_project``'s batches) for the
    others. ``progress``: True shows a bar
    for each step (rich in a terminal, tqdm in a notebook), False none; a callable is
    called as ``progress(segments_done, segments_total)`` while coding.

    Returns a :class:`DaskCodingRun`. Raises :class:`~qualcode.errors.DependencyError`
    when Dask is not installed, and the coder's own errors as they are.

    >>> run = code_project_dask("survey.qualcode", "rules", workers=2,
    ...                         partition_size=5000)                      # doctest: +SKIP
    >>> run.stored, run.phases                                            # doctest: +SKIP
    """
    from qualcode.api import open_project

    _check_int("workers", workers)
    if partition_size is not None:
        _check_int("partition_size", partition_size)
    if scheduler is not None and not isinstance(scheduler, str) and not _is_client(scheduler):
        raise parameter_error("scheduler", _WHERE, "an address or a distributed.Client",
                              type(scheduler).__name__)
    _import_distributed()
    owned = not isinstance(project, Project)
    target = open_project(project)
    try:
        return _code(target, method, coder, documents, learn_from, scheduler, workers,
                     partition_size, progress, params)
    finally:
        if owned:
            target.close()


def _check_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise parameter_error(name, _WHERE, "a positive integer", value)


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise DependencyError(
            f"Coding on a Dask cluster needs dask.distributed. Install it with: {_EXTRA}."
        ) from exc
    return distributed


def _is_client(value: Any) -> bool:
    try:
        from distributed import Client
    except ImportError:
        return False
    return isinstance(value, Client)


# -- the client side ------------------------------------------------------------------------
def _code(project: Project, method: str | BaseCoder, coder: str | None,
          documents: str | Sequence[str] | None, learn_from: str | None,
          scheduler: str | Client | None, workers: int, partition_size: int | None,
          progress: ProgressArg, params: dict[str, Any]) -> DaskCodingRun:
    started = time.perf_counter()
    phases: dict[str, float] = {}
    lap = _Lap(phases)
    check_codable(project)
    estimator = _estimator(method, learn_from, params)
    name = coder or estimator.name
    if partition_size is None:
        partition_size = RULES_PARTITION if estimator.method == "rules" else PARTITION
    from qualcode.analysis.agreement import select_documents

    # Every document's row in the file, in document order (what project.documents.ids
    # reads, with the rows that name the partitions).
    rows = project._con.execute("SELECT rowid, id FROM documents ORDER BY position").fetchall()
    all_ids = [document_id for _, document_id in rows]
    ids = all_ids if documents is None else select_documents(all_ids, documents)
    kind = project.unit
    # A callable hears about coding only (segments done); bars are shown for every step.
    steps = False if callable(progress) else progress
    with progress_reporter(steps, "Planning partitions", total=None, unit="steps"):
        partitions = _plan(project, rows, None if documents is None else set(ids), kind,
                           partition_size)
    total = sum(p.size for p in partitions)
    if not total:
        raise ParameterError(f"The documents chosen in {project.path} have no segments.")
    run = DaskCodingRun(str(project.path), estimator.method, name, tuple(ids),
                        segments=total, phases=phases)
    lap("plan")

    with progress_reporter(steps, f"Fitting the {estimator.method} coder", total=None,
                           unit="steps"):
        if not estimator.fitted:  # a coder fitted elsewhere is used as it is
            estimator.fit(project)
    run.report = getattr(estimator, "report_", None)
    blob = _pickled(estimator)
    lap("fit")

    with contextlib.ExitStack() as stack:
        where = "Starting a local Dask cluster" if scheduler is None else "Reaching Dask"
        with progress_reporter(steps, where, total=None, unit="steps"):
            client = _client(stack, scheduler, workers)
            run.workers_read = _workers_can_read(client, project)
        run.scheduler = client.scheduler.address
        threads = client.nthreads()
        run.workers, run.threads = len(threads), sum(threads.values())
        lap("cluster")
        with progress_reporter(progress, f"Coding with {name} on {run.workers} Dask "
                               f"workers", total=total, unit="segments") as report:
            _Runner(project, client, blob, name, kind, run, report).run(partitions)
        lap("code")
    lap("close")
    run.seconds = time.perf_counter() - started
    return run


class _Lap:
    """Records the seconds since the previous lap under a name."""

    def __init__(self, phases: dict[str, float]) -> None:
        self.phases = phases
        self.last = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.phases[name] = now - self.last
        self.last = now


@dataclass
class _Partition:
    """One task's worth of whole documents, named by runs of their rows in the project
    file (``(first rowid, last rowid)``, in document order), and what the client knows
    about it."""

    index: int
    rowids: tuple[tuple[int, int], ...]
    size: int  # segments
    asked: dict[str, set[str]] = field(default_factory=dict)  # model -> hashes answered
    rounds: int = 0  # submissions so far (one more per question answered)


def _plan(project: Project, rows: Sequence[tuple[int, str]], wanted: set[str] | None,
          kind: str, size: int) -> list[_Partition]:
    """Partitions of about ``size`` segments of whole documents (those ``wanted``, or all),
    in document order, as ``code_project`` makes its batches; ``rows``: every document's
    ``(rowid, id)``, in document order.

    Only ids and counts are read here, not the segments: for a million survey answers,
    reading the segments in this process was the slowest step of a run.
    """
    counts = dict(project._con.execute(
        "SELECT document_id, COUNT(*) FROM segments WHERE kind = ? GROUP BY document_id",
        (kind,)))
    partitions: list[_Partition] = []
    runs: list[list[int]] = []
    segments = 0
    for rowid, document_id in rows:
        count = counts.get(document_id, 0)
        if not count or (wanted is not None and document_id not in wanted):
            continue
        if segments >= size:
            partitions.append(_partition(len(partitions), runs, segments))
            runs, segments = [], 0
        if runs and runs[-1][1] == rowid - 1:
            runs[-1][1] = rowid
        else:
            runs.append([rowid, rowid])
        segments += count
    if segments:
        partitions.append(_partition(len(partitions), runs, segments))
    return partitions


def _partition(index: int, runs: list[list[int]], segments: int) -> _Partition:
    return _Partition(index, tuple((first, last) for first, last in runs), segments)


def _pickled(estimator: BaseCoder) -> bytes:
    try:
        return pickle.dumps(estimator, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # any pickling failure: a lambda, a lock, an open file...
        raise ParameterError(
            f"The fitted {type(estimator).__name__} cannot be sent to Dask workers: it "
            f"cannot be pickled ({type(exc).__name__}: {exc}). Keep its parameters to "
            "plain values (no lambdas, open files or projects)."
        ) from exc


def _client(stack: contextlib.ExitStack, scheduler: str | Client | None, workers: int
            ) -> Client:
    """A client of the cluster to run on (started here, and closed with ``stack``)."""
    from distributed import Client, LocalCluster

    if scheduler is None:
        cluster = stack.enter_context(LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True,
            host="127.0.0.1", dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR,
        ))
        client = stack.enter_context(Client(cluster))
    elif isinstance(scheduler, str):
        try:
            client = stack.enter_context(Client(scheduler, timeout="20s"))
        except (OSError, TimeoutError) as exc:
            raise ParameterError(
                f"Cannot reach a Dask scheduler at {scheduler!r} ({exc}). Check the address "
                "(tcp://host:8786) or leave --scheduler out to start a local cluster."
            ) from exc
    else:
        client = scheduler
    try:
        client.wait_for_workers(1, timeout=60)
    except TimeoutError as exc:
        raise QualcodeError(
            f"The Dask scheduler at {client.scheduler.address} has no workers (waited 60 "
            "s). Start some with `dask worker ADDRESS`."
        ) from exc
    _check_workers(client)
    return client


def _check_workers(client: Client) -> None:
    """Every worker must import the qualcode this client runs, or results could differ."""
    from qualcode import __version__

    try:
        versions = client.run(_worker_qualcode_version)
    except Exception as exc:  # the function cannot even be unpickled there
        raise DependencyError(
            f"The Dask workers cannot run qualcode ({type(exc).__name__}: {exc}). Install "
            f"qualcode {__version__} and the coder's extras on every worker."
        ) from exc
    wrong = {address: v for address, v in versions.items() if v != __version__}
    if wrong:
        listed = ", ".join(f"{a} has {v}" for a, v in sorted(wrong.items()))
        raise DependencyError(
            f"The Dask workers must run qualcode {__version__}, as this client does: "
            f"{listed}."
        )


def _workers_can_read(client: Client, project: Project) -> bool:
    """True when every worker opens this very project file at the same path (a
    ``LocalCluster``, or a disk they share): then they read their segments themselves."""
    path = str(Path(project.path).resolve())
    expected = _fingerprint(project._con)
    try:
        seen = client.run(_worker_fingerprint, path)
    except Exception:  # a worker that cannot even try reads nothing
        return False
    return bool(seen) and all(found == expected for found in seen.values())


def _fingerprint(con: sqlite3.Connection) -> tuple[Any, ...]:
    """What tells this project file from another (coding does not change it)."""
    created = con.execute("SELECT value FROM meta WHERE key = 'created'").fetchone()
    documents = con.execute("SELECT COUNT(*), MAX(rowid) FROM documents").fetchone()
    return (created[0] if created else None, *documents)


class _Runner:
    """Submits partitions (a bounded number at a time), answers cache questions, and
    stores results in partition order."""

    def __init__(self, project: Project, client: Client, blob: bytes, name: str, kind: str,
                 run: DaskCodingRun, report: Any) -> None:
        self.project = project
        self.client = client
        self.name = name
        self.run_ = run
        self.report = report
        self.tag = uuid.uuid4().hex[:12]  # task keys unique to this run
        digest = hashlib.sha256(blob).hexdigest()[:16]
        # The coder is a task result, not scattered data: if every worker holding it dies,
        # the scheduler computes it again from the bytes in the task.
        self.coder = client.submit(_load_coder, blob, key=f"qualcode-coder-{digest}-{self.tag}")
        self.source = _FileSource(str(Path(project.path).resolve()), kind, name)
        self.codes = {c.id for c in project.codebook or ()}
        self.window = max(4, 2 * max(run.threads, 1))
        self.ahead = 8 * self.window
        self.pending: dict[Any, _Partition] = {}
        self.ready: dict[int, _Result] = {}
        self.next_write = 0
        self.done = 0
        self.waiting = 0  # suggestions ready but not yet stored
        self.last_write = time.perf_counter()

    def run(self, partitions: list[_Partition]) -> None:
        from distributed import as_completed

        self.partitions = partitions
        self.completed = as_completed(with_results=True)
        self.next_submit = 0
        con = self.project._con
        cache_size = con.execute("PRAGMA cache_size").fetchone()[0]  # < 0: KiB, else pages
        if -_CACHE_KIB < cache_size < 0:
            # Storing many codings touches many pages of their indexes: keep more of them
            # in memory while this run writes (a sixth less time storing a million).
            con.execute(f"PRAGMA cache_size = {-_CACHE_KIB}")
        try:
            self._fill()
            while self.pending:
                future, result = next(self.completed)
                self._receive(self.pending.pop(future), result)
                self._fill()
            self._write(final=True)
        except KeyboardInterrupt:
            self._cancel()
            raise
        except Exception as exc:
            self._cancel()
            _raise_worker_error(exc)
            raise
        finally:
            con.execute(f"PRAGMA cache_size = {cache_size}")

    def _fill(self) -> None:
        """Keep ``window`` partitions in flight, and at most ``ahead`` partitions between
        the next one to store and the next one to submit (results are stored in order, so
        a slow or retried partition holds the ones after it in memory)."""
        self._write(final=False)
        while self.next_submit < len(self.partitions) and len(self.pending) < self.window:
            if self.next_submit - self.next_write >= self.ahead:
                self._write(final=True)
                if self.next_submit - self.next_write >= self.ahead:
                    break  # the partition to store next is still running
            partition = self.partitions[self.next_submit]
            self.next_submit += 1
            self._submit(partition, {})

    def _submit(self, partition: _Partition, seeds: dict[str, _Seed]) -> None:
        source: _FileSource | bytes = self.source._replace(rowids=partition.rowids)
        if not self.run_.workers_read:  # read here, sent as one opaque object
            source = pickle.dumps(_read_partition(self.project._con, source),
                                  protocol=pickle.HIGHEST_PROTOCOL)
        partition.rounds += 1
        future = self.client.submit(
            _suggest_partition, self.coder, source, seeds,
            key=f"qualcode-partition-{partition.index}-{partition.rounds}-{self.tag}",
        )
        self.pending[future] = partition
        self.completed.add(future)

    def _receive(self, partition: _Partition, result: _Result) -> None:
        for model, vectors in result.new_vectors.items():
            if vectors:
                self.project.store_embeddings(model, vectors)
        if result.need_model is not None:
            # The coder asked for cached vectors: answer from the project and run again.
            partition.asked.setdefault(result.need_model, set()).update(result.need_hashes)
            seeds = {
                model: _Seed(frozenset(hashes),
                             self.project.cached_embeddings(model, sorted(hashes)))
                for model, hashes in partition.asked.items()
            }
            self._submit(partition, seeds)
            return
        self.ready[partition.index] = result
        self.waiting += len(result.rows)
        self.done += partition.size
        self.report(self.done, self.run_.segments)

    def _write(self, *, final: bool) -> None:
        """Store the ready partitions that come next, when enough are waiting."""
        due = (final or self.waiting >= _WRITE_AT
               or time.perf_counter() - self.last_write >= _WRITE_EVERY)
        if not due or self.next_write not in self.ready:
            return
        started = time.perf_counter()
        results = []
        while self.next_write in self.ready:
            results.append(self.ready.pop(self.next_write))
            self.next_write += 1
        run = self.run_
        run.stored += _store(self.project, self.name, self.codes, results)
        for result in results:
            run.skipped += result.skipped
            if result.coded:
                run.batches += 1
            run.coded_segments += result.coded_segments
            for counts, totals in ((result.by_code, run.by_code),
                                   (result.by_method, run.by_method)):
                for key, count in counts.items():
                    totals[key] = totals.get(key, 0) + count
            self.waiting -= len(result.rows)
        self.last_write = time.perf_counter()
        run.phases["store"] = run.phases.get("store", 0.0) + self.last_write - started
        if final:
            self.report(self.done, run.segments)

    def _cancel(self) -> None:
        with contextlib.suppress(Exception):  # the cluster may be gone already
            self.client.cancel([*self.pending, self.coder])


def _store(project: Project, coder: str, codes: set[str], results: list[_Result]) -> int:
    """Store the rows of ``results`` as suggestions of ``coder`` in one transaction, as
    :meth:`Project.add_codings <qualcode.project.Project.add_codings>` would (a coding
    stored before is kept as it is); returns how many were new.

    The rows come from the project's own segments, so their offsets need no check; one
    ``executemany`` stores a million rows many times faster than one ``INSERT`` each.
    """
    unknown = {code for r in results for code in r.by_code} - codes
    if unknown:
        raise NotFoundError(
            f"Codes not in the project's codebook: {', '.join(sorted(unknown))}. "
            "Add them to the codebook first."
        )
    created = now_iso()  # one time for the transaction (code_project stamps each coding)
    rows = [(*row[:4], coder, *row[4:6], "suggested", row[6], "", created)
            for r in results for row in r.rows]
    if not rows:
        return 0
    with _transaction(project._con):
        return insert_coding_rows(project._con, rows)


def _raise_worker_error(exc: BaseException) -> None:
    """A task that killed worker after worker: say so in qualcode's words."""
    from distributed.scheduler import KilledWorker

    if isinstance(exc, KilledWorker):
        import dask

        tries = dask.config.get("distributed.scheduler.allowed-failures") + 1
        raise QualcodeError(
            f"The Dask workers coding one partition died {tries} times in a row (out of "
            "memory?), so the run stopped; what was stored is kept, and a second run goes "
            "on from there. Try a smaller partition_size, or workers with more memory."
        ) from exc


# -- the worker side -------------------------------------------------------------------------
class _FileSource(NamedTuple):
    """Where a worker reads a partition: the ``kind`` segments of the documents in
    ``rowids`` of the project file at ``path``, and the codings ``coder`` made there."""

    path: str
    kind: str
    coder: str
    rowids: tuple[tuple[int, int], ...] = ()


class _Seed(NamedTuple):
    """Vectors from the project's cache for one model: the hashes the client was asked
    about (``answered``) and those it had (``vectors``, hash -> float32 bytes)."""

    answered: frozenset[str]
    vectors: Mapping[str, bytes]


class _Result(NamedTuple):
    """A partition's answer: suggestions as rows ``(document, start, end, code, method,
    confidence, reason)`` with counts of them (segments ``skipped`` as coded before, coded
    now, rows ``by_code`` and ``by_method``; ``coded``: whether the coder ran at all), or a
    question for the cache (``need_model`` and ``need_hashes``); and vectors computed on
    the worker, ``{model: {hash: bytes}}``."""

    rows: list[tuple[str, int, int, str, str, float, str]]
    skipped: int
    coded: bool
    coded_segments: int
    by_code: dict[str, int]
    by_method: dict[str, int]
    need_model: str | None
    need_hashes: tuple[str, ...]
    new_vectors: dict[str, dict[str, bytes]]


class _NeedVectors(BaseException):
    # BaseException: it must pass through any `except Exception` in a coder untouched.
    def __init__(self, model: str, hashes: list[str]) -> None:
        super().__init__(model)
        self.model = model
        self.hashes = tuple(hashes)


class _WorkerCache:
    """The embedding cache a coder sees on a worker (the methods of a Project it uses).

    Questions the client has answered are answered from ``seeds``; any other question
    stops the coder (:class:`_NeedVectors`) so the client can look the vectors up in the
    project. Vectors the coder computes are kept in ``new`` and sent back to be stored.
    """

    def __init__(self, seeds: Mapping[str, _Seed]) -> None:
        self.seeds = seeds
        self.new: dict[str, dict[str, bytes]] = {}

    def cached_embeddings(self, model: str, text_hashes: Sequence[str]) -> dict[str, bytes]:
        seed = self.seeds.get(model)
        computed = self.new.get(model, {})
        answered = seed.answered if seed is not None else frozenset()
        unknown = [h for h in text_hashes if h not in answered and h not in computed]
        if unknown:
            raise _NeedVectors(model, unknown)
        found: dict[str, bytes] = {}
        for h in text_hashes:
            vector = computed.get(h) or (seed.vectors.get(h) if seed is not None else None)
            if vector is not None:
                found[h] = vector
        return found

    def store_embeddings(self, model: str, vectors: dict[str, bytes]) -> None:
        self.new.setdefault(model, {}).update(vectors)


def _load_coder(blob: bytes) -> BaseCoder:
    return pickle.loads(blob)


def _worker_qualcode_version() -> str:
    from qualcode import __version__

    return __version__


def _worker_fingerprint(path: str) -> tuple[Any, ...] | None:
    """The fingerprint of the project file at ``path`` as this worker sees it, or None."""
    try:
        with contextlib.closing(_read_only(path)) as con:
            return _fingerprint(con)
    except (OSError, sqlite3.Error):
        return None


def _read_only(path: str) -> sqlite3.Connection:
    return sqlite3.connect(f"{Path(path).as_uri()}?mode=ro", uri=True)


def _read_partition(con: sqlite3.Connection, source: _FileSource
                    ) -> tuple[list[tuple[Any, ...]], set[tuple[tuple[str, int, int], str]]]:
    """A partition's segments as rows (the fields of :class:`Segment`, in order), and the
    ``(segment key, code)`` pairs ``source.coder`` coded before (as ``code_project`` finds
    them)."""
    rows, coded = read_segment_rows(con, source.kind, source.rowids, source.coder)
    if not coded:
        return rows, set()
    codings = [Coding(document_id, start, end, code_id, coder=source.coder)
               for document_id, start, end, code_id in coded]
    return rows, _coded_pairs(codings, [Segment(*row) for row in rows])


def _suggest_partition(coder: BaseCoder, source: _FileSource | bytes,
                       seeds: dict[str, _Seed]) -> _Result:
    """Runs on a worker: the coder's suggestions for one partition, as rows to store."""
    # A partition makes many small objects (segments, suggestions, rows) and no reference
    # cycles; the cyclic garbage collector's passes over them cost a tenth of the time.
    with collector_paused():
        return _suggest(coder, source, seeds)


def _suggest(coder: BaseCoder, source: _FileSource | bytes, seeds: dict[str, _Seed]
             ) -> _Result:
    if isinstance(source, bytes):  # sent by the client
        rows, decided = pickle.loads(source)
    else:
        with contextlib.closing(_read_only(source.path)) as con:
            rows, decided = _read_partition(con, source)
    segments = [Segment(*row) for row in rows]
    coded_before = {key for key, _ in decided}
    skipped = sum(1 for s in segments if s.key in coded_before)
    cache = _WorkerCache(seeds)
    try:
        suggestions = coder.suggest(segments, cache=cache)  # type: ignore[arg-type]
    except _NeedVectors as need:
        return _Result([], 0, False, 0, {}, {}, need.model, need.hashes, cache.new)
    # Whole documents go in, so context features see every neighbour; only codes this
    # coder has not yet put on a segment come out.
    out = []
    coded = set()
    by_code: dict[str, int] = {}
    by_method: dict[str, int] = {}
    for s in suggestions:
        segment = s.segment
        if (segment.key, s.code_id) in decided:
            continue
        out.append((segment.document_id, segment.start, segment.end, s.code_id, s.method,
                    round(s.confidence, 4), s.reason))
        coded.add(segment.key)
        by_code[s.code_id] = by_code.get(s.code_id, 0) + 1
        by_method[s.method] = by_method.get(s.method, 0) + 1
    return _Result(out, skipped, True, len(coded), by_code, by_method, None, (), cache.new)
