"""progress_reporter: a callable is used as it is; True shows a bar only where someone
watches (a terminal, a notebook); False shows nothing; the bar closes on Ctrl-C."""

from __future__ import annotations

import io
import sys

import pytest

from qualcode.engine import progress as progress_module
from qualcode.engine.progress import in_notebook, progress_reporter


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_callable_is_called_as_it_is() -> None:
    calls = []
    with progress_reporter(lambda done, total: calls.append((done, total)), "x") as report:
        report(1, 4)
        report(4, 4)
    assert calls == [(1, 4), (4, 4)]


@pytest.mark.parametrize("progress", [False, None])
def test_false_shows_nothing(progress, monkeypatch) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_reporter(progress, "Coding", total=10) as report:
        report(5, 10)
    assert terminal.getvalue() == ""


def test_true_is_silent_when_nobody_watches(monkeypatch) -> None:
    log = io.StringIO()  # a file or a CI log: not a terminal
    monkeypatch.setattr(sys, "stderr", log)
    with progress_reporter(True, "Coding", total=10) as report:
        report(5, 10)
    assert log.getvalue() == ""


def test_true_draws_a_rich_bar_in_a_terminal(monkeypatch) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_reporter(True, "Coding with rules", total=10, unit="segments") as report:
        report(5, 10)
    assert "Coding with rules" in terminal.getvalue()


def test_a_notebook_gets_a_tqdm_bar(monkeypatch) -> None:
    pytest.importorskip("tqdm")
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)  # tqdm outside Jupyter writes here
    monkeypatch.setattr(progress_module, "in_notebook", lambda: True)
    with progress_reporter(True, "Embedding", total=8, unit="texts") as report:
        report(3, 8)
        report(8, 8)
    assert "Embedding" in stream.getvalue()


def test_the_bar_is_closed_when_interrupted(monkeypatch) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with pytest.raises(KeyboardInterrupt), progress_reporter(True, "Coding", total=10):
        raise KeyboardInterrupt
    with progress_reporter(True, "Again", total=1) as report:  # no live display left over
        report(1, 1)


def test_not_a_notebook_under_pytest() -> None:
    assert in_notebook() is False
