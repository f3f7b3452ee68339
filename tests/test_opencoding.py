"""Open coding: candidates from the data, and the recorded path into a codebook.

Most tests use a hand-built corpus with three plain topics and a stand-in embedder (word
hashing) and noun-phrase finder, so they test the logic without loading a model; the
tests marked slow run the real path (sentence-transformers, BERTopic, spaCy).
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from builders import make_corpus
from cli_runner import run
from conftest import BUNDLED

import qualcode.cli.opencode  # noqa: F401  (registers open-code and candidates until the lead wires it)
from qualcode import api
from qualcode.coders import topics
from qualcode.errors import NotFoundError, ParameterError, ProjectError
from qualcode.model import Code, Codebook, Coding
from qualcode.opencoding import (
    OPEN_CODER,
    CandidateSet,
    accept_candidates,
    candidates,
    candidates_path,
    discard_candidates,
    load_candidates,
    merge_candidates,
    rename_candidate,
    split_candidate,
)
from qualcode.project import Project

THEMES = {
    "tea": "Mum made a cup of tea with the kettle in the kitchen",
    "dog": "The big dog barked at the door and the dog jumped up",
    "school": "He missed school again and attendance was poor all week",
}
VARIATIONS = ["today", "again", "quickly", "honestly", "then", "later", "slowly",
              "straight away"]


def themed_texts(documents: int = 3, per_theme: int = 3) -> dict[str, str]:
    texts = {}
    for d in range(documents):
        lines = ["INTERVIEWER: Tell me about the visit."]
        for k in range(per_theme):
            for theme, sentence in THEMES.items():
                lines.append(f"P{d}: {sentence} {VARIATIONS[(d + k) % len(VARIATIONS)]} "
                             f"({theme} {k}).")
        texts[f"doc{d}"] = "\n".join(lines)
    return texts


def fake_embed(texts, *, model=None, cache=None, batch_size=64, device=None,
               backend="auto", precision="float32"):
    """Word hashing: texts sharing words are close. Deterministic, no model."""
    out = np.zeros((len(texts), 64), dtype=np.float32)
    for i, text in enumerate(texts):
        for word in re.findall(r"[a-z]+", text.lower()):
            out[i, zlib.crc32(word.encode()) % 64] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1, norms)


def fake_phrases(texts, *, max_words=3):
    stops = set(topics.stop_words())
    return [[w for w in re.findall(r"[a-z]{4,}", t.lower()) if w not in stops] for t in texts]


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No models: the stand-in embedder and noun-phrase finder."""
    monkeypatch.setattr("qualcode.coders.embeddings.embed", fake_embed)
    monkeypatch.setattr(topics, "noun_phrases", fake_phrases)


@pytest.fixture
def study(tmp_path: Path, offline) -> Project:
    project = Project.create(tmp_path / "open.qualcode")
    project.add_corpus(make_corpus(themed_texts()))
    yield project
    project.close()


def find(project: Project, **options) -> CandidateSet:
    options = {"min_size": 3, "n_candidates": 3, "context": 0.0, **options}
    return candidates(project, **options)


def theme_of(project: Project, key: tuple[str, int, int]) -> str:
    document, start, end = key
    text = project.documents[document].text[start:end]
    return next(t for t, sentence in THEMES.items() if sentence in text)


# -- the engine -----------------------------------------------------------------------
def test_find_context_names_the_question_and_the_neighbours_in_a_turn() -> None:
    corpus = make_corpus({"d": "INTERVIEWER: Why?\nAnna: One.\nAnna: Two.\nBen: Three."})
    segments = corpus.segments
    question, previous, following = topics.find_context(segments)
    assert question == [None, 0, 0, 0]
    assert previous == [None, None, 1, None]
    assert following == [None, 2, None, None]


def test_a_task_heading_is_the_question_and_the_interviewers_asides_are_not() -> None:
    from qualcode.model import Corpus, Document, Segment

    text = "3 Submit a query.\nI pick Dublin.\nTry the arrows.\nIt worked."
    document = Document("p1", text)
    spans = [(0, 17, None), (18, 32, "participant"), (33, 48, "interviewer"),
             (49, 59, "participant")]
    segments = [Segment.of(document, a, b, index=i, role=role)
                for i, (a, b, role) in enumerate(spans)]
    question, _, _ = topics.find_context(Corpus((document,), tuple(segments)).segments)
    assert question == [None, 0, 0, 0]


def test_context_vectors_add_the_question_and_stay_normalised() -> None:
    vectors = np.eye(3, dtype=np.float32)
    same = topics.context_vectors(vectors, [None, 0, 0], [None, None, 1],
                                  [None, 2, None], 0.0)
    assert same is vectors
    mixed = topics.context_vectors(vectors, [None, 0, 0], [None, None, 1],
                                   [None, 2, None], 1.0)
    assert np.allclose(np.linalg.norm(mixed, axis=1), 1.0)
    assert mixed[1, 0] > 0 and mixed[1, 2] > 0 and mixed[0, 1] == 0


@pytest.mark.parametrize(("word", "lemma", "expected"), [
    ("windows", "window", "window"),
    ("analyses", "analysis", "analysis"),
    ("data", "datum", "data"),
    ("children", "child", "child"),
    ("map", "map", "map"),
])
def test_noun_lemmas_keep_the_word_when_the_lemma_is_not_its_stem(word, lemma, expected):
    assert topics._noun_lemma(word, lemma) == expected


@pytest.mark.parametrize(("keywords", "phrases", "expected"), [
    (["map", "heat", "plot"], ["heat map", "heat map", "map", "map", "map"], "Heat map"),
    (["lag", "window", "days"], ["window", "window", "sofa"], "Window / lag"),
    (["window"], ["window", "window"], "Window"),
    (["lag", "window", "days"], ["sofa", "sofa"], "Lag / window / days"),
    ([], [], "Unlabelled"),
])
def test_readable_label(keywords, phrases, expected) -> None:
    assert topics.readable_label(keywords, phrases) == expected


def test_strip_annotations_drops_transcribers_notes() -> None:
    text = "(The participant reads the task) I like it [laughs] a lot."
    assert topics.strip_annotations(text).split() == ["I", "like", "it", "a", "lot."]
    # a note cut in two by a sentence boundary
    assert topics.strip_annotations("(The participant reads").strip() == ""
    assert topics.strip_annotations("the task.) Okay.").strip() == "Okay."
    assert topics.keyword_text("(Laughs) He'd said they’ll come, didn't he? Mum's car.") \
        == "  He said they come, did he? Mum car."


def test_phrase_groups_do_not_overlap_and_need_two_segments() -> None:
    phrases = [["home visit"], ["home visit", "tea"], ["tea"], ["tea"], ["dog"]]
    assert topics.phrase_groups(phrases) == [("tea", [1, 2, 3])]
    assert topics.phrase_groups(phrases, min_size=1)[:2] == [("tea", [1, 2, 3]),
                                                            ("home visit", [0])]


def test_representatives_prefer_other_documents_and_whole_sentences() -> None:
    vectors = np.array([[1, 0], [0.99, 0.1], [0.9, 0.4], [0.8, 0.6]], dtype=np.float32)
    documents = ["a", "a", "b", "c"]
    texts = ["one two three four five", "one two three four five", "Yes.",
             "one two three four five six"]
    rows = [i for i, _ in topics.representatives(vectors, documents, texts, k=3)]
    assert set(rows) == {0, 3, 1}  # "Yes." passed over, a second quote from "a" last


def test_topic_model_checks_its_parameters() -> None:
    texts, vectors = ["x"] * 30, np.ones((30, 4), dtype=np.float32)
    with pytest.raises(ParameterError, match="'cluster' parameter of TopicModel"):
        topics.TopicModel(cluster="lda").fit(texts, vectors)
    with pytest.raises(ParameterError, match="too few for topic modelling"):
        topics.TopicModel(min_size=20).fit(texts, vectors)
    with pytest.raises(ParameterError, match="one vector per text"):
        topics.TopicModel().fit(texts, vectors[:3])


def test_bertopic_import_leaves_no_blocked_modules() -> None:
    import sys

    topics._bertopic_class()
    assert all(sys.modules.get(name, True) is not None
               for name in ("sentence_transformers", "transformers", "umap"))


# -- candidates -------------------------------------------------------------------------
def test_candidates_recover_the_planted_topics_with_quotes_and_spread(study) -> None:
    found = find(study)
    assert found.method == "topics" and found.n_segments == 27 and found.n_documents == 3
    assert [c.id for c in found] == ["c01", "c02", "c03"]
    assert sum(c.size for c in found) + found.unassigned == 27
    for candidate in found:
        assert len({theme_of(study, key) for key in candidate.segments}) == 1  # pure
        assert candidate.size == 9 and candidate.documents == 3
        assert 3 <= len(candidate.quotes) <= 5
        assert {q.document for q in candidate.quotes} == {"doc0", "doc1", "doc2"}
        assert candidate.quotes[0].attribution.startswith("P")
        assert candidate.keywords and candidate.label
        assert all(0 <= s <= 1 for s in candidate.scores)
    labels = " ".join(c.label.lower() + " " + " ".join(c.keywords) for c in found)
    assert "dog" in labels and "tea" in labels and "school" in labels
    # the interviewer's question is not a candidate's material
    assert all("Tell me" not in q.text for c in found for q in c.quotes)


def test_candidates_close_in_meaning_share_a_theme(tmp_path, offline, monkeypatch) -> None:
    themes = {**THEMES, "coffee": "Mum made a mug of coffee with the kettle in the kitchen",
              "cat": "The big cat hissed at the door and the cat jumped up",
              "absence": "She missed school twice and attendance was low that week"}
    monkeypatch.setattr(f"{__name__}.THEMES", themes)
    project = Project.create(tmp_path / "themes.qualcode")
    project.add_corpus(make_corpus(themed_texts()))
    found = find(project, n_candidates=6)
    by_theme = {theme_of(project, c.segments[0]): c for c in found}
    assert by_theme["tea"].theme is not None and by_theme["dog"].theme is not None
    assert by_theme["tea"].theme == by_theme["coffee"].theme != by_theme["dog"].theme
    assert by_theme["dog"].theme == by_theme["cat"].theme != by_theme["school"].theme
    assert by_theme["school"].theme == by_theme["absence"].theme
    assert (by_theme["tea"].id, by_theme["coffee"].id) in {
        tuple(sorted(ids)) for ids in found.themes().values()}
    assert "Candidates close in meaning" in found.to_markdown()
    merged = merge_candidates(project, [by_theme["tea"].id, by_theme["coffee"].id])
    assert merged.active[-1].theme == by_theme["tea"].theme
    project.close()


def interviewer_keys(project: Project) -> set[tuple[str, int, int]]:
    return {s.key for s in project.segments() if s.role == "interviewer"}


def test_by_default_ward_groups_and_the_interviewer_is_context(study) -> None:
    found = find(study)
    asked = interviewer_keys(study)
    assert len(asked) == 3 and found.n_segments == 27
    assert not asked & {k for c in found for k in c.segments}
    assert found.params["interviewer"] == "context" and found.params["cluster"] == "ward"


def test_separate_gives_the_interviewer_one_candidate_of_their_own(study) -> None:
    found = find(study, interviewer="separate")
    asked = interviewer_keys(study)
    own = [c for c in found if c.source == "interviewer"]
    assert len(own) == 1 and set(own[0].segments) == asked
    assert own[0].label.startswith("Interviewer's turns")
    assert "interviewer's segments as a candidate of their own" in found.summary()
    assert own[0].quotes and own[0].keywords and "visit" in own[0].keywords
    assert found.n_segments == 30 and found.unassigned == 0
    for candidate in found:  # the participants' candidates are as before, and pure
        if candidate is not own[0]:
            assert not asked & set(candidate.segments)
            assert len({theme_of(study, key) for key in candidate.segments}) == 1
    # fewer of the interviewer's segments than min_size: no candidate for them
    assert not [c for c in find(study, interviewer="separate", min_size=4)
                if c.source == "interviewer"]


def test_include_groups_the_interviewer_with_the_participants(study) -> None:
    found = find(study, interviewer="include", n_candidates=4)
    grouped = {k for c in found for k in c.segments}
    assert found.n_segments == 30 and interviewer_keys(study) <= grouped
    assert all(c.source == "topics" for c in found)


@pytest.mark.parametrize("cluster", ["ward", "kmeans"])
def test_each_clustering_recovers_the_planted_topics(study, cluster) -> None:
    found = find(study, cluster=cluster)
    assert len(found) == 3
    for candidate in found:
        assert len({theme_of(study, key) for key in candidate.segments}) == 1


def test_ward_above_its_exact_limit_follows_a_neighbour_graph(monkeypatch) -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(3, 8) * 5
    vectors = np.concatenate([c + rng.normal(0, 0.3, (20, 8)) for c in centres])
    texts = [f"{word} {word}s here" for word in ("tea", "dog", "school") for _ in range(20)]
    exact = topics.TopicModel(n_topics=3, min_size=5).fit(texts, vectors).labels_
    monkeypatch.setattr(topics, "WARD_EXACT_LIMIT", 10)
    model = topics.TopicModel(n_topics=3, min_size=5)
    sparse = model.fit(texts, vectors).labels_
    assert model._models(60, 8)[1].exact is False
    for labels in (exact, sparse):
        assert sorted(np.bincount(labels).tolist()) == [20, 20, 20]
        assert len({tuple(labels[k * 20:(k + 1) * 20]) for k in range(3)}) == 3
        assert all(len(set(labels[k * 20:(k + 1) * 20])) == 1 for k in range(3))


def test_candidates_are_deterministic_for_a_seed(study) -> None:
    first = find(study, seed=3, context=0.5, save=False).to_dict()
    second = find(study, seed=3, context=0.5, save=False).to_dict()
    first.pop("created"), second.pop("created")
    assert first == second


def test_candidate_sets_round_trip_through_the_saved_file(study) -> None:
    found = find(study)
    path = candidates_path(study)
    assert path.name == "open.qualcode.candidates.json" and path.is_file()
    assert load_candidates(study) == found
    assert load_candidates(study.path).to_frame().equals(found.to_frame())


def test_a_handful_of_segments_gets_phrase_candidates_and_a_message(tmp_path, offline):
    project = Project.create(tmp_path / "tiny.qualcode")
    project.add_corpus(make_corpus({
        "a": "INTERVIEWER: Hi.\nAnna: The kettle was on.\nAnna: Another kettle story.",
        "b": "Ben: My kettle broke.\nBen: The garden was lovely.",
    }))
    found = candidates(project)
    assert found.method == "phrases" and "too few for topic modelling" in found.message
    assert [c.label for c in found] == ["Kettle"] and found[("c01")].size == 3
    assert "Only 4 segments" in found.to_markdown()
    project.close()


def test_no_shared_phrase_means_no_candidates_not_a_crash(tmp_path, offline) -> None:
    project = Project.create(tmp_path / "tiny.qualcode")
    project.add_corpus(make_corpus({"a": "Anna: Kettles.\nAnna: Gardens."}))
    found = candidates(project)
    assert len(found) == 0 and "there are no candidates" in found.message
    assert found.plot() is not None and "# Open coding" in found.to_markdown()
    project.close()


def test_a_project_without_segments_is_a_clear_error(tmp_path, offline) -> None:
    with Project.create(tmp_path / "empty.qualcode") as project, pytest.raises(
            ParameterError, match="ingest transcripts first"):
        candidates(project)


@pytest.mark.parametrize(("options", "message"), [
    ({"min_size": 1}, "'min_size' parameter of candidates()"),
    ({"seed": "0"}, "'seed' parameter"),
    ({"context": -1}, "'context' parameter"),
    ({"cluster": "lda"}, "'cluster' parameter"),
    ({"interviewer": "moderator"}, "'interviewer' parameter of candidates() must be one of "
                                   "context, separate, include"),
    ({"n_candidates": 1}, "'n_candidates' parameter"),
    ({"unit": "page"}, "'unit' parameter"),
    ({"unit": "sentences"}, "ingested by turn"),
    ({"precision": "int4"}, "'precision' parameter of candidates() must be one of "
                            "float32, int8"),
])
def test_candidates_check_their_parameters(study, options, message) -> None:
    with pytest.raises(ParameterError, match=re.escape(message)):
        candidates(study, **options)


def test_precision_reaches_every_embedding_and_is_kept_for_later_steps(
        study, monkeypatch) -> None:
    asked = []

    def recording(texts, **options):
        asked.append(options.get("precision", "float32"))
        return fake_embed(texts, **options)

    monkeypatch.setattr("qualcode.coders.embeddings.embed", recording)
    plain = find(study)
    assert "precision" not in plain.params and set(asked) == {"float32"}
    asked.clear()
    found = find(study, precision="int8", interviewer="separate")
    assert found.params["precision"] == "int8" and asked and set(asked) == {"int8"}
    assert CandidateSet.from_dict(found.to_dict()).params["precision"] == "int8"
    asked.clear()
    split_candidate(study, "c01", candidates=found)
    assert set(asked) == {"int8"}  # the split embeds as the set did


def test_frame_html_plot_and_report(study, tmp_path) -> None:
    from matplotlib.figure import Figure

    found = find(study)
    frame = found.to_frame()
    assert list(frame["id"]) == ["c01", "c02", "c03"]
    assert {"label", "segments", "documents", "keywords", "quote", "uncovered"} <= set(frame)
    assert "<table>" in found._repr_html_() and "&ldquo;" in found._repr_html_()
    assert isinstance(found.plot(), Figure)
    written = found.write_report(tmp_path / "report")
    assert sorted(written) == ["candidates.csv", "candidates.md", "candidates.png",
                               "candidates.svg"]
    markdown = written["candidates.md"].read_text(encoding="utf-8")
    assert "## c01:" in markdown and "> —" in markdown
    with pytest.raises(ParameterError, match="overwrite"):
        found.write_report(tmp_path / "report")
    found.write_report(tmp_path / "report", overwrite=True)


# -- working with candidates -------------------------------------------------------------
def test_accept_makes_a_code_suggested_codings_a_memo_and_a_version(study) -> None:
    found = find(study)
    first = found["c01"]
    updated = accept_candidates(study, "c01", name="Dogs at the door")
    assert [v["version"] for v in study.codebook_versions()] == [1]
    code = study.codebook.get("dogs_at_the_door")
    assert code.name == "Dogs at the door"
    assert code.examples == tuple(q.text for q in first.quotes)
    assert code.keywords == first.keywords[:8]
    suggested = study.codings(code="dogs_at_the_door")
    assert len(suggested) == first.size
    assert {(c.status, c.method, c.coder) for c in suggested} == {
        ("suggested", OPEN_CODER, OPEN_CODER)}
    assert all("candidate c01" in c.reason for c in suggested)
    assert "candidate c01" in study.memos()[0].text
    assert updated["c01"].status == "accepted" and updated["c01"].code == "dogs_at_the_door"
    assert load_candidates(study)["c01"].status == "accepted"
    with pytest.raises(ParameterError, match="already accepted"):
        accept_candidates(study, "c01")


def test_each_step_is_a_codebook_version_that_diff_shows(study) -> None:
    find(study)
    accept_candidates(study, ["c01", "c02"])
    rename_candidate(study, "c02", "Renamed")
    discard_candidates(study, "c03")
    versions = study.codebook_versions()
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert [v["codes"] for v in versions] == [2, 2, 2]
    assert versions[0]["note"].startswith("open coding: accepted c01")
    assert "renamed c02" in versions[1]["note"] and "discarded c03" in versions[2]["note"]
    changes = api.diff(f"{study.path}:1", f"{study.path}:2").to_dict()["changes"]
    assert [c["change"] for c in changes] == ["renamed"]
    assert [h["step"] for h in load_candidates(study).history] == [
        "accept", "rename", "discard"]


def test_rename_keeps_the_code_id(study) -> None:
    find(study)
    accept_candidates(study, "c01")
    code_id = load_candidates(study)["c01"].code
    found = rename_candidate(study, "c01", "Barking dogs")
    assert study.codebook.get(code_id).name == "Barking dogs"
    assert found["c01"].label == "Barking dogs"


def test_merging_open_candidates_makes_a_new_open_one(study) -> None:
    found = find(study)
    merged = merge_candidates(study, ["c01", "c02"], name="Home life")
    new = merged["c04"]
    assert new.status == "open" and new.parents == ("c01", "c02")
    assert set(new.segments) == set(found["c01"].segments) | set(found["c02"].segments)
    assert new.label == "Home life" and new.keywords and new.quotes
    assert merged["c01"].status == "merged" and merged["c01"].replaced_by == ("c04",)
    assert [c.id for c in merged.active] == ["c03", "c04"]
    assert len(study.codebook) == 0  # the codes did not change, the note records it
    assert "merged candidates c01, c02 into c04" in study.codebook_versions()[-1]["note"]
    with pytest.raises(ParameterError, match="merged into c04"):
        accept_candidates(study, "c01")


def test_merging_accepted_candidates_keeps_one_code_and_moves_its_codings(study) -> None:
    find(study)
    accept_candidates(study, ["c01", "c02"])
    first, second = (load_candidates(study)[i].code for i in ("c01", "c02"))
    person = study.codings(code=second)[0]
    study.accept(person.id, by="alice")
    merged = merge_candidates(study, ["c01", "c02"], by="alice")
    assert first in study.codebook and second not in study.codebook
    assert merged["c04"].status == "accepted" and merged["c04"].code == first
    assert not study.codings(code=second, status="suggested")
    moved = study.codings(code=first, coder="alice", status="accepted")
    assert [(c.document_id, c.start) for c in moved] == [(person.document_id, person.start)]
    assert len(study.codings(code=first, coder=OPEN_CODER)) == merged["c04"].size


def test_split_an_accepted_candidate_into_two_codes(study) -> None:
    found = merge_candidates(study, ["c01", "c02"], candidates=find(study))
    accept_candidates(study, "c04", name="Home life")
    split = split_candidate(study, "c04")
    parts = [split["c05"], split["c06"]]
    assert split["c04"].status == "split" and split["c04"].replaced_by == ("c05", "c06")
    assert sorted(p.size for p in parts) == [9, 9]
    assert {len({theme_of(study, k) for k in p.segments}) for p in parts} == {1}
    codes = [p.code for p in parts]
    assert codes[0] == "home_life" and codes[1] in study.codebook
    assert len(study.codebook) == 2
    moved = study.codings(code="home_life", status="suggested")
    assert {k for k in parts[0].segments} == {(c.document_id, c.start, c.end) for c in moved}
    assert len(study.codings(code=codes[1], status="suggested")) == 9
    assert found["c04"].size == 18


def test_discarding_an_accepted_candidate_removes_its_code(study) -> None:
    find(study)
    accept_candidates(study, "c01")
    code_id = load_candidates(study)["c01"].code
    found = discard_candidates(study, "c01", by="alice")
    assert code_id not in study.codebook and found["c01"].status == "discarded"
    assert {c.status for c in study.codings(code=code_id)} == {"rejected"}
    assert {d["by"] for d in study.decisions()} == {"alice"}


@pytest.mark.parametrize(("step", "error", "message"), [
    (lambda p: accept_candidates(p, "c9"), NotFoundError, "No candidate 'c9'"),
    (lambda p: accept_candidates(p, ["c01", "c02"], name="x"), ParameterError, "merge them"),
    (lambda p: accept_candidates(p, "c01", parent="nope"), NotFoundError, "No code 'nope'"),
    (lambda p: merge_candidates(p, ["c01"]), ParameterError, "at least 2"),
    (lambda p: rename_candidate(p, "c01", " "), ParameterError, "'name' parameter"),
    (lambda p: split_candidate(p, "c01", parts=9), ParameterError, "too few to split"),
])
def test_steps_name_what_is_wrong(study, step, error, message) -> None:
    find(study)
    with pytest.raises(error, match=re.escape(message)):
        step(study)
    assert study.codebook_versions() == []  # nothing was recorded


def test_a_stale_set_cannot_accept_a_candidate_twice(study) -> None:
    found = find(study)
    accept_candidates(study, "c01", candidates=found)
    with pytest.raises(ProjectError, match="out of date: 1 step"):
        accept_candidates(study, "c01", candidates=found)  # the notebook cell run again
    older = replace(found, created="2020-01-01T00:00:00+00:00")
    with pytest.raises(ProjectError, match="older than the one saved"):
        discard_candidates(study, "c02", candidates=older)
    assert len(study.codebook) == 1 and len(study.codings()) == found["c01"].size
    assert load_candidates(study)["c01"].status == "accepted"


def test_a_code_name_already_in_the_codebook_is_refused(study) -> None:
    study.set_codebook(Codebook("book", (Code("doorstep_wait", name="Waiting on the doorstep"),)))
    find(study)
    for name in ("waiting on the doorstep", "Doorstep_Wait"):
        with pytest.raises(ParameterError, match="already has a code named 'Waiting on the"):
            accept_candidates(study, "c01", name=name)
    accept_candidates(study, ["c01", "c02"])
    with pytest.raises(ParameterError, match="already has a code named"):
        rename_candidate(study, "c01", "Waiting on the doorstep")
    with pytest.raises(ParameterError, match="already has a code named"):
        merge_candidates(study, ["c01", "c02"], name="waiting on the doorstep")
    rename_candidate(study, "c01", load_candidates(study)["c01"].label.upper())  # its own
    names = [code.name.casefold() for code in study.codebook]
    assert len(names) == len(set(names)) == 3


def test_steps_need_a_set_made_from_the_current_documents(study, tmp_path) -> None:
    with pytest.raises(NotFoundError, match="open-code"):
        accept_candidates(study, "c01")
    find(study)
    study.add_corpus(make_corpus({"late": "Zoe: A new interview arrived."}))
    with pytest.raises(ProjectError, match="other documents"):
        load_candidates(study)


def test_candidates_flag_what_an_existing_codebook_does_not_cover(study) -> None:
    study.set_codebook(Codebook("book", (
        Code("pets", definition="Dogs barking at the door", examples=(THEMES["dog"],)),
        Code("absence", definition="Weeks of poor attendance at school"),
    )))
    dog = [s for s in study.segments() if "dog" in s.text]
    study.add_codings(Coding(s.document_id, s.start, s.end, "pets", coder="alice")
                      for s in dog)
    found = find(study)
    by_theme = {theme_of(study, c.segments[0]): c for c in found}
    assert by_theme["dog"].coverage == 1.0 and by_theme["dog"].covered_by == "pets"
    assert by_theme["dog"].uncovered is False
    assert by_theme["school"].nearest_code == "absence"
    assert by_theme["tea"].uncovered is True and by_theme["tea"].coverage == 0.0
    markdown = found.to_markdown()
    assert "not covered yet" in markdown
    # uncovered candidates come first in the report
    assert markdown.index(f"## {by_theme['tea'].id}:") < markdown.index(
        f"## {by_theme['dog'].id}:")


# -- command line -----------------------------------------------------------------------


def test_cli_open_code_then_candidate_steps(study, tmp_path, capsys) -> None:
    path = str(study.path)
    code, out, _ = run(capsys, "open-code", path, "--min-size", "3", "--candidates", "3",
                       "--context", "0", "--out", str(tmp_path / "r"), "--json")
    data = json.loads(out)
    assert code == 0 and len(data["candidates"]) == 3 and len(data["files"]) == 4
    assert data["candidates"][0]["quotes"]
    code, out, _ = run(capsys, "candidates", "accept", path, "c01", "--name", "Dogs")
    assert code == 0 and "Codebook version 1" in out and "as code dogs" in out
    code, out, _ = run(capsys, "candidates", "merge", path, "c02", "c03", "--json")
    assert code == 0 and json.loads(out)["step"] == "merge"
    code, out, _ = run(capsys, "candidates", "rename", path, "c04", "Home")
    assert code == 0
    code, out, _ = run(capsys, "candidates", "split", path, "c04")
    assert code == 0 and "split candidate c04" in out
    code, out, _ = run(capsys, "candidates", "discard", path, "c05")
    assert code == 0
    code, out, _ = run(capsys, "candidates", "show", path)
    assert code == 0 and "Dogs" in out and "v5:" in out
    code, out, _ = run(capsys, "codebook", "diff", f"{path}:1", f"{path}:2")
    assert code == 0
    code, _, err = run(capsys, "candidates", "accept", path, "c99")
    assert code == 4 and "No candidate 'c99'" in err and "Traceback" not in err


def test_cli_open_code_checks_out_before_replacing_the_candidates(study, tmp_path,
                                                                   capsys) -> None:
    path = str(study.path)
    args = ("open-code", path, "--min-size", "3", "--candidates", "3", "--context", "0",
            "--out", str(tmp_path / "r"))
    assert run(capsys, *args)[0] == 0
    assert run(capsys, "candidates", "accept", path, "c01", "--name", "Dogs")[0] == 0
    code, _, err = run(capsys, *args)  # the report is there: refused, and nothing redone
    assert code == 2 and "--overwrite" in err
    assert load_candidates(path)["c01"].status == "accepted"


def test_cli_open_code_precision(study, capsys) -> None:
    path = str(study.path)
    code, _, err = run(capsys, "open-code", path, "--precision", "int4")
    assert code == 2 and "'precision' parameter" in err
    code, out, _ = run(capsys, "open-code", path, "--min-size", "3", "--candidates", "3",
                       "--context", "0", "--precision", "int8", "--json")
    assert code == 0 and len(json.loads(out)["candidates"]) == 3
    assert load_candidates(path).params["precision"] == "int8"


def test_cli_open_code_on_a_tiny_project_says_why(tmp_path, offline, capsys) -> None:
    with Project.create(tmp_path / "t.qualcode") as project:
        project.add_corpus(make_corpus({"a": "Anna: The kettle.\nAnna: A kettle again."}))
    code, out, _ = run(capsys, "open-code", str(tmp_path / "t.qualcode"))
    assert code == 0 and "too few for topic modelling" in out


# -- the real models ---------------------------------------------------------------------
@pytest.mark.slow
def test_real_bertopic_path_on_the_bundled_study(tmp_path) -> None:
    from qualcode.ingest import load_corpus

    project = Project.create(tmp_path / "ap.qualcode")
    project.add_corpus(load_corpus(BUNDLED / "transcripts", cases=BUNDLED / "cases.csv",
                                   segment="turns"))
    documents = project.documents.ids[:12]  # a modest corpus: ~200 answers to embed
    found = candidates(project, min_size=8, context=0.0, seed=0, documents=documents)
    assert found.method == "topics" and found.n_documents == 12 and found.n_segments == len(
        [s for s in project.segments(document=documents) if s.role == "participant"])
    assert 4 <= len(found) <= 12
    words = {w for c in found for k in c.keywords for w in k.split()}
    assert words & {"tea", "door", "doorstep", "knock", "dog", "attendance", "police"}
    assert all(c.quotes and c.quotes[0].setting for c in found)  # settings from cases.csv
    assert all(c.label and c.label[0].isupper() for c in found)
    again = candidates(project, min_size=8, context=0.0, seed=0, documents=documents)
    assert again.to_frame().equals(found.to_frame())
    project.close()


@pytest.mark.slow
def test_real_noun_phrases_label_a_tiny_corpus(tmp_path) -> None:
    assert topics.noun_phrases(["The home visits were hard.", "Data tables!"]) == [
        ["home visit"], ["data table"]]
    project = Project.create(tmp_path / "tiny.qualcode")
    project.add_corpus(make_corpus({"a": "Anna: Home visits are long.\nAnna: We plan "
                                         "home visits weekly.\nAnna: Tea."}))
    found = candidates(project)
    assert [c.label for c in found] == ["Home visit"] and found.method == "phrases"
    project.close()


@pytest.mark.slow
def test_bertopic_and_noun_phrases_load_without_torch() -> None:
    """BERTopic imports spaCy, whose thinc imports torch when it can; neither the topics
    nor the labels need it, nor its start-up."""
    import subprocess
    import sys

    pytest.importorskip("spacy")
    pytest.importorskip("bertopic")
    code = ("import sys; from qualcode.coders import topics; topics._bertopic_class(); "
            "print(topics.noun_phrases(['The home visits were hard.']), "
            "'torch' in sys.modules, sys.modules.get('torch', 1) is None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[-2:] == ["False", "False"]  # not loaded, and not left blocked
    assert "visit']]" in out[-3]

