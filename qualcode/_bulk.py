"""Building many values at once, with Python's cyclic garbage collector paused.

The collector runs after every few hundred new objects and walks the objects still alive.
Ingesting a corpus, reading a code's codings from the store or coding a partition makes
hundreds of thousands of small values (segments, codings, rows) that hold no reference
cycles and mostly stay alive, so those walks find nothing: they cost a quarter of ingest's
time, and up to as long as the query itself when reading the 31,269 codings of one code.
Values that die are freed by reference counting all the same (Mercurial's ``util.nogc``
does the same).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """A context (or, called, a decorator: ``@collector_paused()``) in which the cyclic
    garbage collector does not run; its earlier state is restored on the way out, errors
    included (a caller who had turned it off finds it off)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
