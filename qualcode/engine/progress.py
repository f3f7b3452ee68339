"""Progress for long steps: a rich bar in a terminal, a tqdm bar in a notebook, or nothing.

Long-running functions take ``progress=`` and report through :func:`progress_reporter`:

- ``True`` (the default of those functions): show a bar where a person is watching (a
  Jupyter kernel: tqdm's notebook bar; a terminal: rich's bar on standard error) and stay
  silent elsewhere (a script writing to a file, a test, a CI log);
- ``False`` or ``None``: show nothing;
- a callable: it is called as ``progress(done, total)`` after each step, and nothing is
  shown (this is how the CLI and a notebook widget drive their own display).

>>> with progress_reporter(True, "Coding", total=1000, unit="segments") as report:
...     report(500, 1000)                     # doctest: +SKIP

The bar is closed whatever happens, so Ctrl-C leaves the terminal clean.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["ProgressArg", "in_notebook", "progress_reporter"]

ProgressArg = bool | Callable[[int, int], None] | None


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where a terminal bar would not render)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ipython = shell.get_ipython()
    except AttributeError:  # an IPython too old or too partial to ask
        return False
    return ipython is not None and type(ipython).__name__ == "ZMQInteractiveShell"


def _silent(done: int, total: int) -> None:
    return None


@contextlib.contextmanager
def progress_reporter(progress: ProgressArg, description: str, *, total: int | None = None,
                      unit: str = "items") -> Iterator[Callable[[int, int], None]]:
    """A ``report(done, total)`` callable for one step, shown as ``progress`` asks.

    ``description`` labels the bar ("Coding with rules"); ``unit`` names what is counted.
    """
    if callable(progress):
        yield progress
        return
    if not progress:
        yield _silent
        return
    if in_notebook():
        with _notebook_bar(description, total, unit) as report:
            yield report
        return
    if sys.stderr is not None and sys.stderr.isatty():
        with _terminal_bar(description, total, unit) as report:
            yield report
        return
    yield _silent


@contextlib.contextmanager
def _terminal_bar(description: str, total: int | None, unit: str
                  ) -> Iterator[Callable[[int, int], None]]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    if total is None:  # a step that cannot count: a pulsing bar and the time so far
        columns: tuple[Any, ...] = (TextColumn("{task.description}"), BarColumn(),
                                    TimeElapsedColumn())
    else:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn(unit), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)

        def report(done: int, new_total: int) -> None:
            bar.update(task, completed=done, total=new_total)

        yield report


@contextlib.contextmanager
def _notebook_bar(description: str, total: int | None, unit: str
                  ) -> Iterator[Callable[[int, int], None]]:
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is optional: without it a notebook shows no bar
        yield _silent
        return
    bar: Any = tqdm(total=total, desc=description, unit=f" {unit}", leave=False)
    try:

        def report(done: int, new_total: int) -> None:
            if bar.total != new_total:
                bar.total = new_total
            bar.update(done - bar.n)

        yield report
    finally:
        bar.close()
