"""Code a project on a Dask cluster: the same coder, the same suggestions, more cores.

:func:`code_project_dask` does what :func:`qualcode.coding.code_project` does, with the
``suggest`` calls spread over Dask workers:

1. the coder is fitted once, here (the client), then pickled and sent to the workers
   (each worker unpickles it once and keeps it for the run);
2. the segments are cut into partitions of whole documents (``partition_size`` segments
   or so, like ``code_project``'s batches) and each worker calls ``suggest`` on one
   partition at a time;
3. suggestions come back as they are made and are stored here, in partition order, a few
   partitions per transaction. This process is the project's only writer: workers never
   open the SQLite file, so the cluster needs no shared disk.

A worker that dies mid-run (killed, out of memory, a lost machine) costs only time: the
scheduler runs its partitions again elsewhere, and nothing is stored twice or lost. Ctrl-C
stops the run; every transaction already committed is kept, none is half-written, and a
second run skips the segments coded already (as ``code_project`` does).

Embeddings and the project's cache: a worker cannot read the project, so when a coder asks
for cached vectors the worker hands the question back to the client, which answers from the
project's cache; vectors the workers compute come back with the suggestions and are stored
in the cache, so a second run (on Dask or not) embeds nothing again.

>>> run = code_project_dask("survey.qualcode", "rules", workers=2)        # doctest: +SKIP
>>> run.stored, run.seconds                                                # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import pickle
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import TYPE_CHECKING, Any, NamedTuple

from qualcode.coders.base import BaseCoder, Suggestion, suggestions_to_codings
from qualcode.coding import CodingRun, _coded_keys, _document_batches, _estimator
from qualcode.engine.progress import ProgressArg, progress_reporter
from qualcode.errors import (
    DependencyError,
    ParameterError,
    ProjectError,
    QualcodeError,
    parameter_error,
)
from qualcode.model import Segment
from qualcode.project import Project

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["DaskCodingRun", "code_project_dask"]

_WHERE = "code_project_dask()"
_EXTRA = "pip install 'qualcode[dask]'"
# Suggestions are stored every _WRITE_EVERY seconds, or less often when writing is slow
# (never sooner than four times the last write's duration after it): each add_codings
# call has a fixed cost (it reads every document's length), seconds for a million survey
# answers, which must stay a small share of the run. When _WRITE_AT suggestions are
# waiting (in memory) they are stored whatever the time.
_WRITE_EVERY = 2.0
_WRITE_AT = 500_000


@dataclass
class DaskCodingRun(CodingRun):
    """What :func:`code_project_dask` did: a :class:`~qualcode.coding.CodingRun` (its
    ``batches`` are the partitions coded on the cluster) plus the cluster it ran on
    (``scheduler`` address, ``workers`` and their ``threads``) and where the time went
    (``phases``: seconds reading segments, fitting, starting or reaching the cluster,
    coding, closing; ``store``, the part of coding spent storing suggestions)."""

    scheduler: str = ""
    workers: int = 0
    threads: int = 0
    phases: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "engine": "dask", "scheduler": self.scheduler,
                "workers": self.workers, "threads": self.threads,
                "phases": {k: round(v, 3) for k, v in self.phases.items()}}


def code_project_dask(
    project: Project | str | PathLike[str],
    method: str | BaseCoder = "auto",
    *,
    scheduler: str | Client | None = None,
    workers: int = 2,
    partition_size: int = 500,
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
    extras installed. ``partition_size``:
    segments per task (whole documents; 500 matches ``code_project``'s batches). Larger
    partitions suit fast coders (rules: 5,000 or more). ``progress``: True shows a bar
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
          scheduler: str | Client | None, workers: int, partition_size: int,
          progress: ProgressArg, params: dict[str, Any]) -> DaskCodingRun:
    started = time.perf_counter()
    phases: dict[str, float] = {}
    lap = _Lap(phases)
    if len(project.documents) == 0:
        raise ProjectError(
            f"{project.path} has no documents yet: ingest transcripts first "
            f"(`qualcode ingest {project.path} FOLDER`)."
        )
    if project.codebook is None:
        raise ProjectError(
            f"{project.path} has no codebook: add one first "
            f"(`qualcode codebook set {project.path} FILE`)."
        )
    estimator = _estimator(method, learn_from, params)
    name = coder or estimator.name
    from qualcode.analysis.agreement import select_documents

    all_ids = project.documents.ids
    ids = all_ids if documents is None else select_documents(all_ids, documents)
    # A callable hears about coding only (segments done); bars are shown for every step.
    steps = False if callable(progress) else progress
    with progress_reporter(steps, "Reading segments", total=len(ids),
                           unit="documents") as report:
        segments = _read_segments(project, ids, everything=documents is None,
                                  progress=report)
    if not segments:
        raise ProjectError(f"The documents chosen in {project.path} have no segments.")
    run = DaskCodingRun(str(project.path), estimator.method, name, tuple(ids),
                        segments=len(segments), phases=phases)
    lap("read")

    with progress_reporter(steps, f"Fitting the {estimator.method} coder", total=None,
                           unit="steps"):
        estimator.fit(project)
    run.report = getattr(estimator, "report_", None)
    decided = _coded_keys(project.codings(coder=name), segments)
    run.skipped = sum(1 for s in segments if s.key in decided)
    blob = _pickled(estimator)
    lap("fit")

    with contextlib.ExitStack() as stack:
        where = "Starting a local Dask cluster" if scheduler is None else "Reaching Dask"
        with progress_reporter(steps, where, total=None, unit="steps"):
            client = _client(stack, scheduler, workers)
        run.scheduler = client.scheduler.address
        threads = client.nthreads()
        run.workers, run.threads = len(threads), sum(threads.values())
        lap("cluster")
        with progress_reporter(progress, f"Coding with {name} on {run.workers} Dask "
                               f"workers", total=len(segments), unit="segments") as report:
            _Runner(project, client, blob, name, decided, run, report).run(
                list(_document_batches(segments, partition_size)))
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


def _read_segments(project: Project, ids: list[str], *, everything: bool,
                   progress: Callable[[int, int], None] | None = None) -> list[Segment]:
    """The segments of ``ids``, in document order, read in slices SQLite can take
    (``Project.segments`` names the documents in one statement)."""
    per_read = _sql_variables_limit() - 1
    if everything and len(ids) <= per_read:
        out = list(project.segments())
    else:
        out = []
        for i in range(0, len(ids), per_read):
            out.extend(project.segments(document=ids[i : i + per_read]))
            if progress is not None:
                progress(min(i + per_read, len(ids)), len(ids))
    if progress is not None:
        progress(len(ids), len(ids))
    return out


def _sql_variables_limit() -> int:
    """How many ``?`` one SQLite statement may hold (32,766 unless built with more)."""
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(":memory:")) as con:
            return con.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    except AttributeError:  # Python 3.10 cannot ask
        return 32_766


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


class _Partition:
    """One task's worth of segments and what the client knows about it."""

    __slots__ = ("asked", "index", "rounds", "segments", "to_code")

    def __init__(self, index: int, segments: list[Segment], to_code: bool) -> None:
        self.index = index
        self.segments = segments
        self.to_code = to_code
        self.asked: dict[str, set[str]] = {}  # model -> text hashes answered from the cache
        self.rounds = 0  # submissions so far (one more per question answered)


class _Runner:
    """Submits partitions (a bounded number at a time), answers cache questions, and
    stores results in partition order."""

    def __init__(self, project: Project, client: Client, blob: bytes, name: str,
                 decided: set[tuple[str, int, int]], run: DaskCodingRun,
                 report: Any) -> None:
        self.project = project
        self.client = client
        self.name = name
        self.decided = decided
        self.run_ = run
        self.report = report
        self.tag = uuid.uuid4().hex[:12]  # task keys unique to this run
        digest = hashlib.sha256(blob).hexdigest()[:16]
        # The coder is a task result, not scattered data: if every worker holding it dies,
        # the scheduler computes it again from the bytes in the task.
        self.coder = client.submit(_load_coder, blob, key=f"qualcode-coder-{digest}-{self.tag}")
        self.window = max(4, 2 * max(run.threads, 1))
        self.ahead = 8 * self.window
        self.pending: dict[Any, _Partition] = {}
        self.ready: dict[int, list[Suggestion] | None] = {}
        self.next_write = 0
        self.done = 0
        self.waiting = 0  # suggestions ready but not yet stored
        self.last_write = time.perf_counter()
        self.write_every = _WRITE_EVERY

    def run(self, batches: list[list[Segment]]) -> None:
        from distributed import as_completed

        self.partitions = [
            _Partition(i, batch, not all(s.key in self.decided for s in batch))
            for i, batch in enumerate(batches)
        ]
        self.completed = as_completed(with_results=True)
        self.next_submit = 0
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
            if partition.to_code:
                self._submit(partition, {})
            else:  # every segment coded before: nothing to ask for
                self.ready[partition.index] = None
                self.done += len(partition.segments)

    def _submit(self, partition: _Partition, seeds: dict[str, _Seed]) -> None:
        rows = [_segment_row(s) for s in partition.segments]
        partition.rounds += 1
        future = self.client.submit(
            _suggest_partition, self.coder, rows, seeds,
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
        segments = partition.segments
        suggestions = [
            Suggestion(segments[i], code_id, confidence, reason, method, coder)
            for i, code_id, confidence, reason, method, coder in result.rows
        ]
        suggestions = [s for s in suggestions if s.segment.key not in self.decided]
        self.ready[partition.index] = suggestions
        self.waiting += len(suggestions)
        self.done += len(segments)
        self.report(self.done, self.run_.segments)

    def _write(self, *, final: bool) -> None:
        """Store the ready partitions that come next, when enough are waiting."""
        due = (final or self.waiting >= _WRITE_AT
               or time.perf_counter() - self.last_write >= self.write_every)
        if not due or self.next_write not in self.ready:
            return
        started = time.perf_counter()
        batch: list[Suggestion] = []
        end = self.next_write
        while end in self.ready:
            suggestions = self.ready[end]
            if suggestions is not None:
                batch.extend(suggestions)
            end += 1
        new_ids = self.project.add_codings(
            suggestions_to_codings(batch, coder=self.name)) if batch else []
        run = self.run_
        for index in range(self.next_write, end):
            suggestions = self.ready.pop(index)
            if suggestions is None:
                continue
            run.batches += 1
            run.coded_segments += len({s.segment.key for s in suggestions})
            for s in suggestions:
                run.by_code[s.code_id] = run.by_code.get(s.code_id, 0) + 1
                run.by_method[s.method] = run.by_method.get(s.method, 0) + 1
        run.stored += len(new_ids)
        self.waiting -= len(batch)
        self.next_write = end
        self.last_write = time.perf_counter()
        if batch:
            self.write_every = max(_WRITE_EVERY, 4 * (self.last_write - started))
        run.phases["store"] = run.phases.get("store", 0.0) + self.last_write - started
        if final:
            self.report(self.done, run.segments)

    def _cancel(self) -> None:
        with contextlib.suppress(Exception):  # the cluster may be gone already
            self.client.cancel([*self.pending, self.coder])


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
class _Seed(NamedTuple):
    """Vectors from the project's cache for one model: the hashes the client was asked
    about (``answered``) and those it had (``vectors``, hash -> float32 bytes)."""

    answered: frozenset[str]
    vectors: Mapping[str, bytes]


class _Result(NamedTuple):
    """A partition's answer: suggestion rows ``(segment position, code, confidence,
    reason, method, coder)``, or a question for the cache (``need_model`` and
    ``need_hashes``); and vectors computed on the worker, ``{model: {hash: bytes}}``."""

    rows: list[tuple[int, str, float, str, str, str]]
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


def _segment_row(segment: Segment) -> tuple[Any, ...]:
    # Positional fields of Segment: tuples pickle smaller and faster than the dataclass.
    return (segment.document_id, segment.start, segment.end, segment.text, segment.kind,
            segment.index, segment.speaker, segment.role, segment.start_time,
            segment.end_time)


def _load_coder(blob: bytes) -> BaseCoder:
    return pickle.loads(blob)


def _worker_qualcode_version() -> str:
    from qualcode import __version__

    return __version__


def _suggest_partition(coder: BaseCoder, rows: list[tuple[Any, ...]],
                       seeds: dict[str, _Seed]) -> _Result:
    """Runs on a worker: the coder's suggestions for one partition."""
    segments = [Segment(*row) for row in rows]
    position = {s.key: i for i, s in enumerate(segments)}
    cache = _WorkerCache(seeds)
    try:
        suggestions = coder.suggest(segments, cache=cache)  # type: ignore[arg-type]
    except _NeedVectors as need:
        return _Result([], need.model, need.hashes, cache.new)
    out = [(position[s.segment.key], s.code_id, s.confidence, s.reason, s.method, s.coder)
           for s in suggestions]
    return _Result(out, None, (), cache.new)

