"""Where coding runs: in this process, or scaled out on a Dask cluster.

:func:`qualcode.coding.code_project` codes a project in this process. For corpora of
hundreds of thousands of segments (open-ended survey answers, focus-group archives),
:func:`code_project_dask` runs the same fitted coder on a Dask cluster: a
``LocalCluster`` on this machine when no scheduler address is given, or a team's cluster.
It stores exactly what the single-process run stores.

>>> from qualcode.engine import code_project_dask
>>> run = code_project_dask("survey.qualcode", "rules", workers=2)        # doctest: +SKIP
>>> run = code_project_dask("survey.qualcode", "semantic",
...                         scheduler="tcp://10.0.0.5:8786")                # doctest: +SKIP

Dask is optional (``pip install 'qualcode[dask]'``); it is imported only when a run starts.
:mod:`qualcode.engine.progress` shows progress for long steps (rich in a terminal, tqdm in
a notebook).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["DaskCodingRun", "code_project_dask", "progress_reporter"]

_EXPORTS = {
    "DaskCodingRun": "qualcode.engine.dask",
    "code_project_dask": "qualcode.engine.dask",
    "progress_reporter": "qualcode.engine.progress",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'qualcode.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
