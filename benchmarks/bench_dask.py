"""Benchmark: coding on Dask (issue 9) -- short survey answers with the rules and semantic
coders, on a LocalCluster of 1 and 2 workers, against one process.

1. rules: ``--rules-responses`` (default 1,000,000) generated survey answers
   (``benchmarks/generate.py``), ingested into a project, coded by
   :func:`qualcode.engine.code_project_dask` with 1 and 2 workers. The single-process
   baseline is the same fitted coder's ``suggest`` over the same segments in this process
   (``code_project`` itself cannot read a project of more than 250,000 documents: see the
   note printed at the end).
2. semantic: ``--semantic-responses`` answers (default 100,000; on 2 busy cores that is
   hours, so pass a smaller number and read the per-segment rate), coded with 1 and 2
   workers, against ``code_project`` in one process and the model's own ``encode``.

Each run reports segments per second for the coding phase and for the whole call, and
where the time went (planning the partitions, fitting, starting the cluster, coding (of
which storing), closing).

Run from the project root::

    .venv/bin/python benchmarks/bench_dask.py
    .venv/bin/python benchmarks/bench_dask.py --rules-responses 200000 \\
        --semantic-responses 5000 --json dask.json

At the end a Markdown section is printed for ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import generate  # noqa: E402
from bench_perf import fmt, load, machine  # noqa: E402

CODEBOOK = ROOT / "codebooks" / "ap-home-visits.yaml"


def survey_project(workdir: Path, responses: int, seed: int) -> tuple[Path, dict[str, Any]]:
    """A project holding ``responses`` generated answers, one document each (made once)."""
    from qualcode import api

    path = workdir / f"survey-{responses}.qualcode"
    info: dict[str, Any] = {}
    if path.exists():
        return path, info
    survey = workdir / f"survey-{responses}-{seed}.csv"
    if not survey.exists():
        started = time.perf_counter()
        info["generate"] = generate.write_survey(survey, responses=responses, seed=seed)
        info["generate_seconds"] = round(time.perf_counter() - started, 1)
    partial = path.with_suffix(".partial")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    project = api.init(partial, codebook=CODEBOOK)
    try:
        summary = api.ingest(project, survey, text_column="response", id_column="id")
    finally:
        project.close()
    info["ingest_seconds"] = round(time.perf_counter() - started, 1)
    info["ingest_mb_per_second"] = round(survey.stat().st_size / 1e6 / info["ingest_seconds"],
                                         1)
    info["segments"] = summary.segments
    partial.rename(path)
    return path, info


def fresh_copy(path: Path, name: str) -> Path:
    target = path.with_name(f"{path.stem}-{name}.qualcode")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copy(path, target)
    return target


def dask_runs(path: Path, method: str, workers: list[int], partition_size: int,
              params: dict[str, Any]) -> list[dict[str, Any]]:
    from qualcode.engine import code_project_dask

    out = []
    for n in workers:
        copy = fresh_copy(path, f"{method}-{n}w")
        started_load = load()
        with CpuMeter() as cpu:
            run = code_project_dask(copy, method, workers=n, partition_size=partition_size,
                                    progress=False, **params)
        coding = run.phases["code"]
        out.append({
            "method": method, "workers": n, "segments": run.segments, "stored": run.stored,
            "seconds": round(run.seconds, 1), "phases": {k: round(v, 1) for k, v in
                                                         run.phases.items()},
            "coding_per_second": round(run.segments / coding),
            "overall_per_second": round(run.segments / run.seconds),
            "cpu_seconds": {"client": round(cpu.own, 1), "cluster": round(cpu.children, 1)},
            "per_cpu_second": round(run.segments / (cpu.own + cpu.children)),
            "workers_read": run.workers_read,
            "partition_size": partition_size, "load": max(started_load, load()),
        })
        print(f"  {method}, {n} worker(s): {out[-1]}", flush=True)
        Path(copy).unlink()
    return out


class CpuMeter:
    """CPU seconds this process (``own``: the client and, for a LocalCluster, its
    scheduler) and its child processes (``children``: nannies and workers) use inside the
    ``with`` block. On a shared machine the wall-clock time depends on what else runs;
    the CPU time much less. Children are sampled every 0.2 s, so a process that ends
    loses what it used after its last sample."""

    def __enter__(self) -> CpuMeter:
        import threading

        import psutil

        self.me = psutil.Process()
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()
        self.started = time.process_time()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        import psutil

        while not self.stop.wait(0.2):
            for child in self.me.children(recursive=True):
                try:
                    times = child.cpu_times()
                except psutil.Error:  # it ended meanwhile
                    continue
                self.seen[child.pid] = times.user + times.system

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.thread.join()
        self.own = time.process_time() - self.started
        self.children = sum(self.seen.values())


def in_process_suggest(path: Path, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """The baseline: the fitted coder's suggest over every segment, in this process
    (segments read as the Dask workers read them)."""
    from qualcode.coders import get_coder
    from qualcode.engine.dask import _FileSource, _plan, _read_partition
    from qualcode.model import Segment
    from qualcode.project import Project

    with Project.open(path) as project:
        started = time.perf_counter()
        source = _FileSource(str(path), project.unit, method)
        rows = project._con.execute("SELECT rowid, id FROM documents ORDER BY position")
        segments = [Segment(*row)
                    for partition in _plan(project, list(rows), None, project.unit, 10**9)
                    for row in _read_partition(project._con,
                                               source._replace(rowids=partition.rowids))[0]]
        read = time.perf_counter() - started
        coder = get_coder(method, **params).fit(project)
        started = time.perf_counter()
        cpu = time.process_time()
        suggestions = coder.suggest(segments)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
    return {"segments": len(segments), "suggestions": len(suggestions),
            "read_seconds": round(read, 1), "suggest_seconds": round(seconds, 1),
            "per_second": round(len(segments) / seconds),
            "per_cpu_second": round(len(segments) / cpu), "load": load()}


def single_process_semantic(path: Path) -> dict[str, Any]:
    from qualcode.coders.embeddings import load_model
    from qualcode.coding import code_project
    from qualcode.project import Project

    copy = fresh_copy(path, "semantic-single")
    load_model()  # loading the model is a one-off, reported by bench_coders
    started = time.perf_counter()
    run = code_project(copy, "semantic")
    seconds = time.perf_counter() - started
    with Project.open(copy) as project:
        texts = [s.text for s in project.segments()]
    model = load_model()
    started = time.perf_counter()
    model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    encode = time.perf_counter() - started
    Path(copy).unlink()
    return {"segments": run.segments, "stored": run.stored, "seconds": round(seconds, 1),
            "per_second": round(run.segments / seconds, 1),
            "encode_responses_seconds": round(encode, 1),
            "encode_per_second": round(len(texts) / encode, 1), "load": load()}


def markdown(results: dict[str, Any], command: str) -> str:
    lines = [
        f"## Coding on Dask (issue 9), {dt.date.today().isoformat()}",
        "",
        f"- Machine: {machine()}",
        f"- Command: `{command}`",
        "- LocalCluster, one thread per worker process; load = the 1-minute load average "
        "(2 cores, shared with other work).",
        "",
        "- CPU seg/s: segments per CPU-second of every process of the run (client, "
        "scheduler, nannies, workers), which a shared machine disturbs far less than the "
        "wall clock.",
        "",
        "| coder | segments | engine | coding seg/s | whole call seg/s | CPU seg/s (CPU s: "
        "client / cluster) | seconds (plan / fit / cluster / code (of which store) / close) "
        "| load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for method in ("rules", "semantic"):
        entry = results.get(method)
        if not entry:
            continue
        base = entry["single"]
        if base is None:  # --skip-single
            pass
        elif method == "rules":
            lines.append(f"| rules | {base['segments']:,} | one process, `suggest` only | "
                         f"{fmt(base['per_second'])} | - | {fmt(base['per_cpu_second'])} | "
                         f"read {base['read_seconds']} | {base['load']} |")
        else:
            lines.append(f"| semantic | {base['segments']:,} | one process, `code_project` "
                         f"| - | {fmt(base['per_second'])} | - | {base['seconds']} | "
                         f"{base['load']} |")
            lines.append(f"| semantic | {base['segments']:,} | model.encode of the answers "
                         f"alone | {fmt(base['encode_per_second'])} texts/s | - | - | "
                         f"{base['encode_responses_seconds']} | {base['load']} |")
        for r in entry["dask"]:
            p = r["phases"]
            split = " / ".join(str(p.get(k, "-")) for k in ("plan", "fit", "cluster", "code",
                                                              "store", "close"))
            cpu = r["cpu_seconds"]
            lines.append(f"| {method} | {r['segments']:,} | Dask, {r['workers']} worker(s) | "
                         f"{fmt(r['coding_per_second'])} | {fmt(r['overall_per_second'])} | "
                         f"{fmt(r['per_cpu_second'])} ({cpu['client']} / {cpu['cluster']}) | "
                         f"{split} | {r['load']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules-responses", type=int, default=1_000_000)
    parser.add_argument("--semantic-responses", type=int, default=100_000)
    parser.add_argument("--workers", default="1,2", help="worker counts to try")
    parser.add_argument("--rules-partition", type=int, default=10_000)
    parser.add_argument("--semantic-partition", type=int, default=500)
    parser.add_argument("--skip-rules", action="store_true")
    parser.add_argument("--skip-semantic", action="store_true")
    parser.add_argument("--skip-single", action="store_true",
                        help="only the Dask runs: no one-process baseline (saves time)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/qualcode-bench"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    workers = [int(w) for w in args.workers.split(",")]
    results: dict[str, Any] = {}
    if not args.skip_rules:
        print(f"rules: {args.rules_responses:,} answers (load {load()})", flush=True)
        path, info = survey_project(args.workdir, args.rules_responses, seed=3)
        print(f"  project {path} {info}", flush=True)
        single = None if args.skip_single else in_process_suggest(path, "rules", {})
        print(f"  one process: {single}", flush=True)
        results["rules"] = {"project": info, "single": single, "dask": dask_runs(
            path, "rules", workers, args.rules_partition, {})}
    if not args.skip_semantic:
        print(f"semantic: {args.semantic_responses:,} answers (load {load()})", flush=True)
        path, info = survey_project(args.workdir, args.semantic_responses, seed=4)
        single = None if args.skip_single else single_process_semantic(path)
        print(f"  one process: {single}", flush=True)
        results["semantic"] = {"project": info, "single": single, "dask": dask_runs(
            path, "semantic", workers, args.semantic_partition, {})}
    command = "python benchmarks/bench_dask.py " + " ".join(sys.argv[1:])
    print()
    print(markdown(results, command.strip()))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
