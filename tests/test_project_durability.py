"""No lost work: concurrent writers and a process killed mid-run (issue 8, part 3)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from qualcode.model import Code, Codebook, Corpus, Document
from qualcode.project import Project

BATCH = 25

WRITER = textwrap.dedent("""
    import sys
    from qualcode.model import Coding
    from qualcode.project import Project

    path, coder, batches = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with Project.open(path) as project:
        for b in range(batches):
            project.add_codings(
                Coding("d", i, i + 1, "c", coder) for i in range(b * {batch}, (b + 1) * {batch})
            )
            print(b + 1, flush=True)
""").format(batch=BATCH)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "p.qualcode"
    with Project.create(path, codebook=Codebook("b", (Code("c"),))) as project:
        project.add_corpus(Corpus((Document("d", "x" * 100_000),), ()))
    return path


def _writer(path: Path, coder: str, batches: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), coder, str(batches)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_two_processes_writing_at_once_lose_nothing(store: Path) -> None:
    writers = [_writer(store, name, 40) for name in ("anna", "ben")]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
    with Project.open(store) as project:
        assert len(project.codings(coder="anna")) == 40 * BATCH
        assert len(project.codings(coder="ben")) == 40 * BATCH


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_a_killed_process_leaves_every_committed_batch_and_no_partial_one(store: Path) -> None:
    writer = _writer(store, "machine", 10_000)
    committed = 0
    assert writer.stdout is not None
    for line in writer.stdout:
        committed = int(line)
        if committed >= 20:
            writer.send_signal(signal.SIGKILL)
            break
    writer.communicate(timeout=60)  # reap it and close its pipes
    assert writer.returncode == -signal.SIGKILL
    with Project.open(store) as project:
        assert project._con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = len(project.codings(coder="machine"))
        assert stored >= committed * BATCH
        assert stored % BATCH == 0  # whole batches only
        # and the project resumes: a rerun adds only what is missing
        project.add_codings([])
    rerun = _writer(store, "machine", stored // BATCH + 2)
    rerun.communicate(timeout=120)
    with Project.open(store) as project:
        assert len(project.codings(coder="machine")) == stored + 2 * BATCH
