"""code_project_dask: the same suggestions as code_project, from a LocalCluster of two
worker processes; workers killed mid-run; Ctrl-C; the embedding cache answered by the
client; bad arguments."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sqlite3
import sys
from pathlib import Path

import coder_data
import pytest
from builders import make_corpus
from dask_coders import FakeEmbeddingCoder, KeywordCoder, load_lemmatiser

from qualcode.coding import code_project
from qualcode.engine import DaskCodingRun, code_project_dask
from qualcode.engine import dask as engine
from qualcode.errors import DependencyError, ParameterError
from qualcode.model import content_hash
from qualcode.project import Project

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    """Two worker processes of one thread each, shared by the tests of this module."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address="127.0.0.1:0", silence_logs=logging.CRITICAL,
    ) as cluster, distributed.Client(cluster) as connected:
        # Workers load spaCy while this process does (for the single-process run): the
        # slowest step of the rules test, done in parallel.
        warming = [connected.submit(load_lemmatiser, workers=[address], pure=False)
                   for address in connected.nthreads()]
        yield connected
        del warming


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project of 24 interviews (the tiny study's, renamed) with its codebook."""
    texts = {f"{doc}_{n:02d}": text for n in range(8) for doc, text in coder_data.TEXTS.items()}
    path = tmp_path_factory.mktemp("engine") / "template.qualcode"
    with Project.create(path, codebook=coder_data.CODEBOOK) as project:
        project.add_corpus(make_corpus(texts))
    return path


def copy_of(template: Path, folder: Path, name: str) -> Path:
    target = folder / f"{name}.qualcode"
    shutil.copy(template, target)
    return target


def stored(path: Path) -> list[tuple]:
    """Every coding as stored, id and all, but the time it was made."""
    with Project.open(path) as project:
        return [(c.id, c.document_id, c.start, c.end, c.code_id, c.coder, c.method,
                 c.confidence, c.status, c.reason) for c in project.codings()]


def counts(run) -> tuple:
    return (run.segments, run.skipped, run.coded_segments, run.stored, run.by_code,
            run.by_method)


def worker_pids(client) -> set[int]:
    return set(client.run(os.getpid).values())


def test_rules_on_dask_store_what_one_process_stores(client, template, tmp_path) -> None:
    single = copy_of(template, tmp_path, "single")
    spread = copy_of(template, tmp_path, "dask")
    expected = code_project(single, "rules")
    run = code_project_dask(spread, "rules", scheduler=client, partition_size=7,
                            progress=False)
    assert isinstance(run, DaskCodingRun) and run.stored > 0
    assert counts(run) == counts(expected)
    assert stored(spread) == stored(single)  # same rows, same ids, same order
    assert run.workers == 2 and run.threads == 2 and run.batches > 2
    assert run.workers_read  # the workers are on this machine: they read the file
    assert run.to_dict()["engine"] == "dask"
    assert run.report is not None and run.report.methods["tea"] == "rules"


def test_a_rerun_skips_what_was_coded_and_keeps_decisions(client, template, tmp_path
                                                          ) -> None:
    path = copy_of(template, tmp_path, "rerun")
    first = code_project_dask(path, KeywordCoder(), coder="machine", scheduler=client,
                              partition_size=5, progress=False)
    with Project.open(path) as project:
        rejected = project.codings(coder="machine")[0]
        project.reject(rejected.id, by="alice")
    again = code_project_dask(path, KeywordCoder(), coder="machine", scheduler=client,
                              progress=False)
    assert again.stored == 0 and again.skipped == first.coded_segments
    with Project.open(path) as project:
        assert project.coding(rejected.id).status == "rejected"


def test_workers_that_cannot_read_the_file_are_sent_the_segments(client, template,
                                                                 tmp_path, monkeypatch) -> None:
    single = copy_of(template, tmp_path, "single")
    spread = copy_of(template, tmp_path, "dask")
    monkeypatch.setattr(engine, "_workers_can_read", lambda client, project: False)
    first = code_project_dask(spread, KeywordCoder(), coder="machine", scheduler=client,
                              partition_size=5, progress=False)
    expected = code_project(single, KeywordCoder(), coder="machine")
    assert not first.workers_read
    assert counts(first) == counts(expected)
    assert stored(spread) == stored(single)
    again = code_project_dask(spread, KeywordCoder(), coder="machine", scheduler=client,
                              partition_size=5, progress=False)
    assert again.stored == 0 and again.skipped == first.coded_segments


def test_chosen_documents_out_of_file_order(client, template, tmp_path) -> None:
    # "d1_*" are every third document: each partition holds several runs of rows.
    single = copy_of(template, tmp_path, "single")
    spread = copy_of(template, tmp_path, "dask")
    run = code_project_dask(spread, "rules", documents="d1_*", scheduler=client,
                            partition_size=6, progress=False)
    expected = code_project(single, "rules", documents="d1_*")
    assert counts(run) == counts(expected) and run.documents == expected.documents
    assert stored(spread) == stored(single)


def test_a_worker_killed_while_coding_a_partition(client, template, tmp_path) -> None:
    single = copy_of(template, tmp_path, "single")
    spread = copy_of(template, tmp_path, "dask")
    marker = tmp_path / "killed"
    before = worker_pids(client)
    # The first partition to run kills its worker process (SIGKILL) mid-task; the
    # scheduler gives that partition to a live worker and the nanny starts a new one.
    run = code_project_dask(spread, KeywordCoder(kill_marker=str(marker)), coder="machine",
                            scheduler=client, partition_size=4, progress=False)
    assert int(marker.read_text(encoding="utf-8")) in before
    expected = code_project(single, KeywordCoder(), coder="machine")
    assert counts(run) == counts(expected)
    assert stored(spread) == stored(single)
    client.wait_for_workers(2, timeout=30)


def test_a_worker_killed_from_outside_mid_run(client, template, tmp_path) -> None:
    single = copy_of(template, tmp_path, "single")
    spread = copy_of(template, tmp_path, "dask")
    client.wait_for_workers(2, timeout=30)
    victims = sorted(worker_pids(client))
    calls = []

    def kill_one_worker(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 1:  # partitions are still running on both workers
            os.kill(victims[0], signal.SIGKILL)

    run = code_project_dask(spread, KeywordCoder(delay=0.3), coder="machine",
                            scheduler=client, partition_size=3, progress=kill_one_worker)
    expected = code_project(single, KeywordCoder(), coder="machine")
    assert victims[0] not in worker_pids(client)
    assert counts(run) == counts(expected)
    assert stored(spread) == stored(single)
    assert calls[-1] == run.segments
    client.wait_for_workers(2, timeout=30)


def test_ctrl_c_keeps_whole_batches_and_a_rerun_completes(client, template, tmp_path,
                                                         monkeypatch) -> None:
    single = copy_of(template, tmp_path, "single")
    spread = copy_of(template, tmp_path, "dask")
    monkeypatch.setattr(engine, "_WRITE_EVERY", 0.0)  # store each partition at once

    def interrupt(done: int, total: int) -> None:
        if done >= total // 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        code_project_dask(spread, KeywordCoder(delay=0.05), coder="machine",
                          scheduler=client, partition_size=3, progress=interrupt)
    with sqlite3.connect(spread) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    code_project(single, KeywordCoder(), coder="machine")
    kept, full = stored(spread), stored(single)
    assert 0 < len(kept) < len(full)
    assert kept == full[: len(kept)]  # a prefix: whole partitions, in order
    code_project_dask(spread, KeywordCoder(), coder="machine", scheduler=client,
                      progress=False)
    assert stored(spread) == full


def test_embeddings_come_from_and_go_to_the_projects_cache(client, template, tmp_path
                                                           ) -> None:
    single = copy_of(template, tmp_path, "single")
    spread = copy_of(template, tmp_path, "dask")
    first = code_project_dask(spread, FakeEmbeddingCoder(), scheduler=client,
                              partition_size=4, progress=False)
    code_project(single, FakeEmbeddingCoder())
    assert [r[:9] for r in stored(spread)] == [r[:9] for r in stored(single)]
    with Project.open(spread) as project:
        texts = {s.text for s in project.segments() if s.role != "interviewer"}
        cached = project.cached_embeddings("fake-model", [content_hash(t) for t in texts])
        assert len(cached) == len(texts)  # every vector the workers made is in the cache
    second = code_project_dask(spread, FakeEmbeddingCoder(), coder="again",
                               scheduler=client, partition_size=4, progress=False)
    assert second.stored == first.stored
    with Project.open(spread) as project:
        reasons = {c.reason for c in project.codings(coder="again")}
    assert reasons == {"computed 0 vectors"}  # the second run embedded nothing


def test_a_local_cluster_is_started_and_stopped_when_no_scheduler_is_given(template,
                                                                         tmp_path) -> None:
    path = copy_of(template, tmp_path, "local")
    run = code_project_dask(path, KeywordCoder(), workers=1, progress=False)
    assert run.workers == 1 and run.stored > 0
    assert run.scheduler.startswith("tcp://127.0.0.1:")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"workers": 0}, "'workers' parameter of code_project_dask()"),
        ({"partition_size": 2.5}, "'partition_size' parameter of code_project_dask()"),
        ({"scheduler": 8786}, "'scheduler' parameter of code_project_dask()"),
        ({"method": "rules", "threshold": 0.3}, "rules coder has no parameter 'threshold'"),
    ],
)
def test_bad_arguments(template, tmp_path, kwargs, message) -> None:
    kwargs = {"method": "rules", **kwargs}
    with pytest.raises(ParameterError, match=message):
        code_project_dask(copy_of(template, tmp_path, "bad"), progress=False, **kwargs)


class Unpicklable(KeywordCoder):
    def fit(self, project_or_data=None, codebook=None):
        super().fit(project_or_data, codebook)
        self.rule_ = lambda text: True  # a lambda cannot be pickled
        return self


def test_a_coder_that_cannot_be_pickled_is_refused_before_any_cluster(template,
                                                                      tmp_path) -> None:
    with pytest.raises(ParameterError, match="cannot be sent to Dask workers"):
        code_project_dask(copy_of(template, tmp_path, "p"), Unpicklable(), progress=False)


def test_without_dask_the_error_names_the_extra(template, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(DependencyError, match=r"qualcode\[dask\]"):
        code_project_dask(copy_of(template, tmp_path, "d"), "rules", progress=False)


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    import qualcode.cli.coding  # noqa: F401  (registers `code` until the lead wires it)
    from qualcode.cli import main

    try:
        main(list(args))
        exit_code = 0
    except SystemExit as exc:
        exit_code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return exit_code, out, err


def test_the_cli_codes_on_a_dask_scheduler(client, template, tmp_path, capsys) -> None:
    single = copy_of(template, tmp_path, "single")
    spread = copy_of(template, tmp_path, "dask")
    expected = code_project(single, "rules")
    exit_code, out, _ = run_cli(capsys, "code", str(spread), "--method", "rules", "--engine",
                                "dask", "--scheduler", client.scheduler.address, "--json")
    data = json.loads(out)
    assert exit_code == 0 and data["engine"] == "dask" and data["workers"] == 2
    assert data["stored"] == expected.stored
    assert stored(spread) == stored(single)
    # rules: tasks of 5,000 segments by default, so this small project is one task
    assert data["segments"] < 5_000 and data["batches"] == 1
    again = copy_of(template, tmp_path, "small-tasks")
    exit_code, out, _ = run_cli(capsys, "code", str(again), "--method", "rules", "--engine",
                                "dask", "--scheduler", client.scheduler.address,
                                "--batch-size", "3", "--json")
    assert exit_code == 0 and json.loads(out)["batches"] > 2
    assert stored(again) == stored(single)


def test_the_cli_refuses_an_unknown_engine(template, tmp_path, capsys) -> None:
    path = copy_of(template, tmp_path, "x")
    exit_code, _, err = run_cli(capsys, "code", str(path), "--engine", "spark")
    assert exit_code == 2 and "'local' or 'dask'" in err and "Traceback" not in err
