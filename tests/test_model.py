from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qualcode.errors import CodebookError, NotFoundError, ParameterError
from qualcode.model import (
    Code,
    Codebook,
    Coding,
    Corpus,
    Document,
    Segment,
    content_hash,
    normalise_text,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\r\nb", "a\nb"),
        ("a\rb", "a\nb"),
        ("\ufeffa\r\n\r\nb\n", "a\n\nb\n"),
        ("no change", "no change"),
    ],
)
def test_normalise_text_applies_the_offset_rule(raw: str, expected: str) -> None:
    assert normalise_text(raw) == expected


def test_document_is_frozen_and_hashes_its_text() -> None:
    doc = Document("d", "héllo 👋", {"setting": "Oakview"})
    assert doc.content_hash == content_hash("héllo 👋")
    with pytest.raises(AttributeError):
        doc.text = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        doc.attributes["setting"] = "other"  # type: ignore[index]
    copy = doc.with_attributes(role="TA")
    assert copy.attributes == {"setting": "Oakview", "role": "TA"}
    assert doc.attributes == {"setting": "Oakview"}


def test_document_rejects_a_wrong_hash_and_an_empty_id() -> None:
    with pytest.raises(ParameterError, match="content_hash"):
        Document("d", "text", content_hash="0" * 64)
    with pytest.raises(ParameterError, match="non-empty"):
        Document(" ", "text")


def test_segment_text_is_derived_from_offsets() -> None:
    doc = Document("d", "Anna: hello there")
    seg = Segment.of(doc, 6, 17, speaker="Anna", role="participant")
    assert seg.text == "hello there"
    assert seg.key == ("d", 6, 17)


@pytest.mark.parametrize(("start", "end"), [(-1, 3), (5, 2), (0, 99)])
def test_segment_bounds_are_checked_with_a_clear_message(start: int, end: int) -> None:
    doc = Document("d", "short")
    with pytest.raises(ParameterError, match=r"document 'd' must satisfy 0 <= start <= end <= 5"):
        Segment.of(doc, start, end)


def test_segment_text_must_match_offsets_and_kind_is_checked() -> None:
    with pytest.raises(ParameterError, match=r"Segment\.of"):
        Segment("d", 0, 3, "toolong")
    with pytest.raises(ParameterError, match="kind"):
        Segment("d", 0, 1, "x", kind="chapter")
    with pytest.raises(ParameterError, match="role"):
        Segment("d", 0, 1, "x", role="boss")


@given(st.text(max_size=60), st.data())
def test_any_span_of_any_text_reads_back_its_words(text: str, data: st.DataObject) -> None:
    doc = Document("d", text)
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    assert Segment.of(doc, start, end).text == text[start:end]


def test_corpus_rejects_duplicate_documents() -> None:
    with pytest.raises(ParameterError, match="duplicates: a"):
        Corpus((Document("a", "x"), Document("a", "y")), ())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": "maybe"}, "status"),
        ({"confidence": 1.5}, r"confidence.*\[0, 1\]"),
        ({"start": 5, "end": 2}, "start <= end"),
        ({"coder": ""}, "coder"),
    ],
)
def test_coding_validates_its_fields(kwargs: dict, message: str) -> None:
    base = {"document_id": "d", "start": 0, "end": 3, "code_id": "c", "coder": "me"}
    with pytest.raises(ParameterError, match=message):
        Coding(**{**base, **kwargs})


def test_coding_overlap() -> None:
    coding = Coding("d", 5, 10, "c", "me")
    assert coding.overlaps(9, 20)
    assert not coding.overlaps(10, 20)
    assert not coding.overlaps(0, 5)


def _book() -> Codebook:
    return Codebook("b", (
        Code("theme"), Code("a", parent="theme"), Code("b", parent="theme"),
        Code("a1", name="Deep one", parent="a"),
    ))


def test_codebook_navigation() -> None:
    book = _book()
    assert [c.id for c in book.themes] == ["theme"]
    assert [c.id for c in book.leaves()] == ["b", "a1"]
    assert book.theme_of("a1") == "theme"
    assert book.path("a1") == "theme/a/a1"
    assert book.resolve("deep ONE").id == "a1"
    with pytest.raises(NotFoundError, match="Did you mean 'a1'"):
        book.get("a_1")


def test_codebook_edits_return_new_versions_and_leave_the_original() -> None:
    book = _book()
    renamed = book.renamed("a", "Alpha")
    assert renamed.version == book.version + 1
    assert renamed.get("a").name == "Alpha" and book.get("a").name == "a"
    smaller = book.without_code("a")
    assert smaller.get("a1").parent == "theme"
    bigger = book.with_code(Code("c", parent="theme"))
    assert "c" in bigger and "c" not in book


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        ((Code("x"), Code("x")), "used twice"),
        ((Code("x", parent="nope"),), "parent 'nope'"),
        ((Code("x", parent="y"), Code("y", parent="x")), "cycle: x -> y -> x"),
    ],
)
def test_codebook_structure_errors(codes: tuple[Code, ...], message: str) -> None:
    with pytest.raises(CodebookError, match=message):
        Codebook("b", codes)


def test_code_ids_are_checked() -> None:
    with pytest.raises(ParameterError, match="code id"):
        Code("has space")


def test_a_coding_from_a_store_row_equals_one_made_with_checks() -> None:
    from dataclasses import astuple, fields

    from qualcode.model import Coding

    made = Coding("d1", 3, 9, "visit", coder="rules1", method="rules", confidence=0.5,
                  status="suggested", reason="matched", memo="m", created="2026-12-07", id=7)
    stored = Coding.from_store(astuple(made))
    assert stored == made
    assert list(vars(stored)) == [f.name for f in fields(Coding)]
