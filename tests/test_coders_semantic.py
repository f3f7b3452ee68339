"""The semantic coder and the embedding cache (tests that load MiniLM are marked slow)."""

from __future__ import annotations

from pathlib import Path

import coder_data
import numpy as np
import pytest

from qualcode.coders import TrainingData
from qualcode.coders import embeddings as emb
from qualcode.coders.semantic import SemanticCoder, best_threshold, code_texts
from qualcode.errors import CodebookError, ParameterError
from qualcode.model import Code, Codebook, Document, Segment, content_hash
from qualcode.project import Project

BOOK = coder_data.CODEBOOK


def segment(text: str, document: str = "d") -> Segment:
    return Segment.of(Document(document, text), 0, len(text), role="participant")


def test_code_texts_lists_each_text_and_the_codes_without_any() -> None:
    book = Codebook("b", (Code("a", definition="Def.", examples=("Ex one.", " ")),
                          Code("b", name="Named only"), Code("c", include="Incl.")))
    texts, empty = code_texts(book, ["a", "b", "c"], ("definition", "include", "examples"))
    assert texts == [("a", "definition", "Def."), ("a", "examples", "Ex one."),
                     ("c", "include", "Incl.")]
    assert empty == ["b"]


def test_codes_without_definition_or_examples_are_named_in_the_error() -> None:
    book = Codebook("b", (Code("ok", definition="Something."), Code("bare"), Code("bare2")))
    with pytest.raises(CodebookError, match=r"Codes 'bare', 'bare2' cannot be coded "
                                            r"semantically.*definition"):
        SemanticCoder().fit(None, book)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"threshold": 2}, "The 'threshold' parameter of SemanticCoder must be"),
        ({"max_codes": 0}, "The 'max_codes' parameter of SemanticCoder must be"),
        ({"use": ("definition", "vibes")}, "The 'use' parameter of SemanticCoder must be"),
    ],
)
def test_bad_parameters_are_refused_by_fit(params: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        SemanticCoder(**params).fit(None, BOOK)


def test_best_threshold_maximises_f1() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    truth = np.array([True, True, False, True, False])
    threshold, f1 = best_threshold(scores, truth)
    assert threshold == pytest.approx(0.6) and f1 == pytest.approx(6 / 7)


def test_model_key_treats_aliases_as_one_model(tmp_path: Path) -> None:
    assert emb.model_key("all-MiniLM-L6-v2") == emb.model_key("minilm") == \
        "sentence-transformers/all-MiniLM-L6-v2"
    assert emb.model_key(str(tmp_path)) == str(tmp_path.resolve())
    assert emb.model_key("org/other-model") == "org/other-model"


def test_embed_refuses_one_string() -> None:
    with pytest.raises(ParameterError, match="list of texts"):
        emb.embed("just one")


@pytest.mark.slow
def test_unknown_model_is_not_downloaded() -> None:
    with pytest.raises(ParameterError, match="not available offline"):
        emb.load_model("no-such-org/no-such-model")


@pytest.mark.slow
def test_embeddings_are_cached_in_the_project(tmp_path: Path, monkeypatch) -> None:
    texts = ["We knocked and waited.", "The dog barked.", "We knocked and waited."]
    with Project.create(tmp_path / "p.qualcode") as project:
        first = emb.embed(texts, cache=project)
        assert first.shape == (3, 384) and first.dtype == np.float32
        assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
        assert np.array_equal(first[0], first[2])
        stored = project.cached_embeddings(emb.model_key(), [content_hash(t) for t in texts])
        assert len(stored) == 2  # each distinct text once, as float32 bytes
        assert all(len(blob) == 384 * 4 for blob in stored.values())

        def no_model(*args, **kwargs):
            raise AssertionError("a cached text was embedded again")

        monkeypatch.setattr(emb, "load_model", no_model)
        again = emb.embed(list(reversed(texts)), cache=project)
    assert np.array_equal(again, first[::-1])


@pytest.mark.slow
def test_suggestions_name_the_nearest_example_and_similarity() -> None:
    coder = SemanticCoder(threshold=0.4).fit(None, BOOK)
    found = coder.suggest([segment("The dog kept barking behind the door.")])
    assert found[0].code_id == "dogs"
    assert found[0].reason.startswith('nearest example of dogs: "The dog was going mad')
    assert "(similarity 0." in found[0].reason
    assert 0.5 <= found[0].confidence <= 1.0  # at or above its threshold


@pytest.mark.slow
def test_per_code_thresholds_and_max_codes() -> None:
    text = [segment("He hadn't been in, so I went round and she made me a cup of tea.")]
    loose = SemanticCoder(threshold=0.2).fit(None, BOOK)
    assert len(loose.suggest(text)) >= 2
    one = SemanticCoder(threshold=0.2, max_codes=1).fit(None, BOOK).suggest(text)
    assert len(one) == 1
    strict_tea = SemanticCoder(threshold=0.2, thresholds={"tea": 1.0}).fit(None, BOOK)
    assert "tea" not in {s.code_id for s in strict_tea.suggest(text)}
    with pytest.raises(ParameterError, match="'thresholds' parameter"):
        SemanticCoder(thresholds={"tea": 3}).fit(None, BOOK)


@pytest.mark.slow
def test_calibration_chooses_thresholds_from_accepted_codings() -> None:
    data = TrainingData(tuple(coder_data.segments()), tuple(coder_data.codings()))
    coder = SemanticCoder(calibrate=True).fit(data, BOOK)
    assert set(coder.report_.details) == {"attendance", "tea", "dogs"}
    for code_id, detail in coder.report_.details.items():
        assert coder.thresholds_[code_id] == pytest.approx(detail["threshold"], abs=1e-4)
        assert detail["positives"] == 3 and 0 < detail["f1"] <= 1
    found = {(s.segment.document_id, s.segment.index, s.code_id)
             for s in coder.suggest(coder_data.segments())}
    truth = {(d, i, c) for (d, i), codes in coder_data.LABELS.items() for c in codes}
    assert len(found & truth) >= 7


@pytest.mark.slow
def test_a_cached_rerun_gives_the_same_suggestions(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p.qualcode", codebook=BOOK) as project:
        project.add_corpus(coder_data.corpus())
        coder = SemanticCoder(threshold=0.35).fit(project)
        segments = project.segments()
        first = coder.suggest(segments, cache=project)
        assert coder.suggest(segments, cache=project) == first
