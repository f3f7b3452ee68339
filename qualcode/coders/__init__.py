"""Machine coders for selective coding: suggest codes from a codebook for each segment.

=============  ======================================================================
name           what it uses
=============  ======================================================================
``rules``      the codebook's keywords (on lemmas) and regular expressions
``semantic``   sentence embeddings of each code's definition, criteria and examples
``supervised`` classifiers learned from a person's accepted codings
``auto``       supervised where a code has enough examples, else semantic, else rules
=============  ======================================================================

>>> from qualcode.coders import get_coder
>>> coder = get_coder("semantic", threshold=0.5).fit(project)   # doctest: +SKIP
>>> coder.suggest(project.segments(document="AP01_sarah"))       # doctest: +SKIP

Every coder follows the contract in :mod:`qualcode.coders.base`.
"""

from __future__ import annotations

import importlib
from typing import Any

from qualcode.coders.base import (
    BaseCoder,
    FitReport,
    Suggestion,
    TrainingData,
    segment_labels,
    suggestions_to_codings,
)
from qualcode.errors import NotFoundError

__all__ = [
    "CODERS",
    "BaseCoder",
    "FitReport",
    "Suggestion",
    "TrainingData",
    "coder_names",
    "get_coder",
    "segment_labels",
    "suggestions_to_codings",
]

# name -> "module:class"; modules load only when a coder of that kind is made.
CODERS: dict[str, str] = {
    "auto": "qualcode.coders.auto:AutoCoder",
    "rules": "qualcode.coders.rules:RulesCoder",
    "semantic": "qualcode.coders.semantic:SemanticCoder",
    "supervised": "qualcode.coders.supervised:SupervisedCoder",
}


def coder_names() -> list[str]:
    """The names :func:`get_coder` knows, sorted."""
    return sorted(CODERS)


def coder_class(name: str) -> type[BaseCoder]:
    """The class registered under ``name`` (see :data:`CODERS`)."""
    target = CODERS.get(name)
    if target is None:
        import difflib

        close = difflib.get_close_matches(str(name), list(CODERS), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise NotFoundError(
            f"No coder named {name!r}.{hint} Known coders: {', '.join(coder_names())}."
        )
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)


def get_coder(name: str, **params: Any) -> BaseCoder:
    """A new, unfitted coder: ``get_coder("rules", negation="remove")``.

    ``name`` is one of ``auto``, ``rules``, ``semantic``, ``supervised``; ``params`` are
    that coder's keyword arguments. An unknown name raises
    :class:`~qualcode.errors.NotFoundError` listing the known ones; an unknown parameter a
    :class:`~qualcode.errors.ParameterError` listing the coder's parameters.
    """
    cls = coder_class(name)
    valid = cls._param_names()
    unknown = [p for p in params if p not in valid]
    if unknown:
        from qualcode.errors import ParameterError

        raise ParameterError(
            f"The {name} coder has no parameter '{unknown[0]}'. Its parameters are: "
            f"{', '.join(valid)}."
        )
    return cls(**params)
