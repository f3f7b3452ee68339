"""The rules coder: a codebook's keywords (matched on lemmas) and regular expressions.

Each code's ``keywords`` are lemmatised once at ``fit`` (``"hadn't been in"`` ->
``"have not be in"``), and every segment's text is lemmatised the same way (see
:mod:`qualcode.nlp`), so "visits", "visited" and "visiting" all match the keyword
"visit". All keywords of all codes are matched with one compiled regular expression over
the lemmas of a whole batch of texts (:meth:`~qualcode.nlp.English.lemma_batch`), and a
phrase that overlaps a longer one ("visit day" in "home visit day") is found as well; a
text held by several segments is coded once. A code's ``patterns`` (Python regular expressions,
matched case-insensitively on the segment's own text, by the regex package in its
re-compatible mode, which cannot get lost in a nested repeat) are tried as well: on the segments
that contain one of the pattern's *clues* (strings every match contains, read from the
pattern: ``"bailiff"`` for ``\\bbailiffs?\\b``), so most segments are ruled out by a plain
string search over the batch.

A large input is coded in worker processes, one per core (``n_jobs``; Linux only, where a
worker is a fork of this process and starts at once): each distinct text is coded on its
own, so the suggestions are the same however the work is spread.

A negation ("not", "never", "no", "n't") within ``negation_window`` words before a
keyword lowers its weight (``negation="lower"``), removes it (``"remove"``) or is ignored
(``"ignore"``). Confidence combines the matches of a code (noisy-or: one keyword 0.5, a
phrase of several words 0.6, a pattern 0.6; two keywords 0.75, ...).

>>> coder = RulesCoder(negation="remove").fit(project)         # doctest: +SKIP
>>> coder.suggest(project.segments())[0].reason                 # doctest: +SKIP
'matched "absent" (keyword: absent)'
"""

from __future__ import annotations

import bisect
import gc
import itertools
import multiprocessing
import operator
import os
import re
import signal
import sys
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from qualcode._bulk import collector_paused
from qualcode.coders.base import BaseCoder, FitReport, Suggestion, _as_project
from qualcode.errors import CodebookError, ParameterError, parameter_error
from qualcode.model import Codebook, Segment
from qualcode.nlp import JOINER

if TYPE_CHECKING:
    from qualcode.nlp import LemmaBatch
    from qualcode.project import Project

try:  # the regular-expression parser, to read a pattern's clues (an optimisation only)
    from re import _parser as _re_parser  # Python 3.11+
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _re_parser  # type: ignore[no-redef]

__all__ = ["RulesCoder", "trie_pattern"]

KEYWORD_WEIGHT = 0.5  # one single-word keyword
PHRASE_WEIGHT = 0.6  # a keyword of several words is more specific
PATTERN_WEIGHT = 0.6  # a researcher's regular expression
NEGATED_FACTOR = 0.3  # a negated match keeps this share of its weight ("lower")
# A pattern still searching one segment after this long is stopped with an error.
PATTERN_SECONDS = 10.0
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})
_PatternHit = tuple[str, Any, str]  # (code id, where it matched, the pattern)
_Code = tuple[str, float, str]  # (code id, confidence, reason) of one text
_TEXT = operator.itemgetter(0)  # the text of a (text, code, weight, note)
# Segments lemmatised and matched together: enough to make the work per segment small, few
# enough that their lemmas stay in the processor's cache.
_BATCH = 2000
# Distinct text (characters) below which ``n_jobs=None`` codes in this process: forking
# workers and sending them the texts costs more than they save on less.
_PARALLEL_CHARS = 2_000_000


class RulesCoder(BaseCoder):
    """Suggest codes whose keywords or patterns occur in a segment.

    Parameters
    ----------
    codes : code ids to use (default: every code with keywords or patterns).
    negation : ``"lower"`` (default), ``"remove"`` or ``"ignore"`` negated keywords.
    negation_window : how many words before a keyword a negation is looked for (3).
    negations : the lemmas that negate (``not`` covers "n't").
    speakers : only code segments of these speakers (names as in the transcript).
    attributes : only code documents whose case attributes match, e.g.
        ``{"setting": ["Oakview", "Broadtown"]}`` (needs ``fit(project)``).
    skip_interviewer : leave interviewer turns uncoded (default True).
    min_confidence : drop suggestions below this confidence (default 0).
    n_jobs : processes to code in. None (default): one per core when the distinct text
        to code is large (about 2 million characters; a few seconds' work), else this
        process; 1: this process only; -1: one per core; k: k processes. Workers are forks
        of this process (Linux only; elsewhere, and inside a daemon process such as a Dask
        worker, the coder stays in this process). The suggestions are the same either way.
    """

    method = "rules"

    def __init__(
        self,
        *,
        codes: Sequence[str] | None = None,
        negation: str = "lower",
        negation_window: int = 3,
        negations: Sequence[str] = ("not", "never", "no"),
        speakers: Sequence[str] | None = None,
        attributes: Mapping[str, str | Sequence[str]] | None = None,
        skip_interviewer: bool = True,
        min_confidence: float = 0.0,
        n_jobs: int | None = None,
    ) -> None:
        self.codes = codes
        self.negation = negation
        self.negation_window = negation_window
        self.negations = negations
        self.speakers = speakers
        self.attributes = attributes
        self.skip_interviewer = skip_interviewer
        self.min_confidence = min_confidence
        self.n_jobs = n_jobs

    # -- fit -------------------------------------------------------------------------------
    def fit(self, project_or_data: Any = None, codebook: Codebook | None = None) -> RulesCoder:
        """Compile the keywords and patterns of ``codebook`` (default: the project's).

        ``project_or_data`` is a :class:`~qualcode.project.Project` (its codebook and, for
        ``attributes=``, its documents' case attributes), or None with ``codebook=``.
        """
        from qualcode.nlp import english

        self._check_choice("negation", ("lower", "remove", "ignore"))
        self._check_number("negation_window", 0, 50, integer=True)
        self._check_number("min_confidence", 0.0, 1.0)
        if self.n_jobs is not None and self.n_jobs != -1:
            self._check_number("n_jobs", 1, 1024, integer=True)
        book = self._codebook_from(project_or_data, codebook)
        wanted = self._rule_codes(book)

        nlp = english()
        # lemma phrase -> {code: (keyword as written, its lemma phrase)}
        phrase_codes: dict[str, dict[str, tuple[str, str]]] = {}
        patterns: list[tuple[str, Any, str]] = []
        methods, skipped = {}, {}
        for code_id in wanted:
            code = book.get(code_id)
            for keyword in code.keywords:
                phrase = nlp.lemma_string(keyword.translate(_QUOTES))
                if phrase:
                    phrase_codes.setdefault(phrase, {}).setdefault(code_id, (keyword, phrase))
            for source in code.patterns:
                patterns.append((code_id, _compile_pattern(source, code_id), source))
            if code.keywords or code.patterns:
                methods[code_id] = self.method
            else:
                skipped[code_id] = "no keywords or patterns"

        self.codebook_ = book
        self.codes_ = tuple(methods)
        # lemma phrase -> (code, keyword as written, weight) of each code it is evidence of
        self.phrases_ = {
            phrase: tuple((code_id, keyword, PHRASE_WEIGHT if " " in lemmas else KEYWORD_WEIGHT)
                          for code_id, (keyword, lemmas) in codes.items())
            for phrase, codes in _close_over_subphrases(phrase_codes).items()
        }
        self.keyword_regex_ = _batch_regex(self.phrases_) if self.phrases_ else None
        self.overlaps_ = _overlap_words(self.phrases_)
        self.patterns_ = tuple(patterns)
        self.pattern_clues_ = tuple(_clues(source) for _, _, source in patterns)
        self.any_pattern_ = _any_of([source for (_, _, source), clues
                                     in zip(patterns, self.pattern_clues_, strict=True)
                                     if clues is None])
        self.negation_lemmas_ = frozenset(nlp.lemma_string(n) for n in self.negations)
        self.document_attributes_ = self._document_attributes(project_or_data)
        self.nlp_source_ = nlp.source
        self.report_ = FitReport(
            "rules", methods, skipped,
            notes=(f"lemmas from {nlp.source}; {len(phrase_codes)} keyword phrases, "
                   f"{len(patterns)} patterns",),
        )
        return self

    def _rule_codes(self, book: Codebook) -> list[str]:
        if self.codes is None:
            return [c.id for c in book.codes if c.keywords or c.patterns]
        return self._select_codes(book)

    def _document_attributes(self, project_or_data: Any) -> dict[str, Mapping[str, str]] | None:
        if not self.attributes:
            return None
        project = _as_project(project_or_data)
        if project is None:
            raise ParameterError(
                "RulesCoder(attributes=...) filters by case attributes, which live in a "
                "project: call fit(project)."
            )
        return {doc.id: dict(doc.attributes) for doc in project.documents}

    # -- suggest ---------------------------------------------------------------------------
    def suggest(
        self, segments: Iterable[Segment], *, cache: Project | None = None
    ) -> list[Suggestion]:
        """Suggestions for the segments that match a code's keywords or patterns.

        ``cache`` is accepted for a uniform interface and unused (nothing to cache).
        """
        return [s for batch in self.suggest_each([segments]) for s in batch]

    def suggest_each(
        self, batches: Iterable[Iterable[Segment]], *, cache: Project | None = None
    ) -> Iterator[list[Suggestion]]:
        """What :meth:`suggest` gives for each batch of segments, batch by batch, as a
        generator (close it to stop early). Each distinct text is coded once across all
        batches; in worker processes (``n_jobs``) later batches are coded while the caller
        stores earlier ones."""
        self._check_fitted()
        todos = [self._todo(batch) for batch in batches]
        # Each distinct text is coded once, however many segments hold it ("No.", "N/A"),
        # numbered in order of first appearance: batch k needs the texts up to its highest.
        number_of: dict[str, int] = {}
        numbered = [[number_of.setdefault(s.text, len(number_of)) for s in todo]
                    for todo in todos]
        texts = list(number_of)
        jobs = [(texts[first : first + _BATCH], first) for first in range(0, len(texts), _BATCH)]
        processes = self._processes(texts, len(jobs))
        results = (_in_workers(self, processes, jobs) if processes > 1
                   else (self._code_texts(*job) for job in jobs))
        coded: dict[int, tuple[_Code, ...]] = {}
        ready = 0  # texts coded so far
        try:
            for todo, numbers in zip(todos, numbered, strict=True):
                # A segment can be done once every text up to its own is coded: the
                # segments before the first whose running highest number is not coded yet.
                # So suggestions are made while workers code the texts after them.
                highest = list(itertools.accumulate(numbers, max))
                suggestions: list[Suggestion] = []
                done = 0  # segments of this batch done
                while True:
                    with collector_paused():  # 100,000s of small values: see qualcode._bulk
                        stop = bisect.bisect_left(highest, ready, done)
                        suggestions += self._suggestions(todo[done:stop], numbers[done:stop],
                                                         coded)
                        done = stop
                        if done == len(todo):
                            break
                        coded.update(next(results))
                    ready += _BATCH
                yield suggestions
        finally:
            results.close()  # workers still coding are stopped

    def _todo(self, segments: Iterable[Segment]) -> list[Segment]:
        """The segments to code: interviewer turns left out when asked, then the speakers
        and case attributes asked for."""
        todo = self._segments_in(segments, self.skip_interviewer)
        if self.speakers is not None or self.attributes:
            todo = [s for s in todo if self._wanted(s)]
        return todo

    def _suggestions(self, todo: list[Segment], numbers: list[int],
                     coded: Mapping[int, tuple[_Code, ...]]) -> list[Suggestion]:
        method, name, make = self.method, self.name, Suggestion.from_checked
        # confidences are noisy-or floats in [0, 1] and reasons start "matched"
        return [make((segment, code_id, confidence, reason, method, name))
                for segment, number in zip(todo, numbers, strict=True)
                for code_id, confidence, reason in coded.get(number, ())]

    def _processes(self, texts: list[str], batches: int) -> int:
        """How many processes to code ``texts`` in (``batches`` of them): 1 is this one."""
        if self.n_jobs == 1 or batches < 2 or not _can_fork():
            return 1
        if self.n_jobs is None and sum(map(len, texts)) < _PARALLEL_CHARS:
            return 1
        cores = len(os.sched_getaffinity(0))
        return min(batches, cores if self.n_jobs in (None, -1) else self.n_jobs)

    def _code_texts(self, texts: list[str], first: int) -> dict[int, tuple[_Code, ...]]:
        """``(code, confidence, reason)`` of each text of a batch that has any, by the
        text's number (``first`` is the number of ``texts[0]``), in codebook order."""
        from qualcode.nlp import english

        # Curly quotes are non-ASCII: an ASCII text has none to straighten.
        texts = [t if t.isascii() else t.translate(_QUOTES) for t in texts]
        # Flat (text, code, weight, note) tuples, grouped by text after one stable sort:
        # cheaper to make than a dict of lists per text.
        notes = ([] if self.keyword_regex_ is None
                 else self._keyword_notes(english().lemma_batch(texts)))
        for i, hits in self._pattern_hits(texts).items():
            notes.extend((i, code_id, PATTERN_WEIGHT, f'"{match.group()}" (pattern: {source})')
                         for code_id, match, source in hits)
        notes.sort(key=_TEXT)  # stable: a text's keywords in order, then its patterns
        order = {code_id: k for k, code_id in enumerate(self.codes_)}
        min_confidence = self.min_confidence
        coded: dict[int, tuple[_Code, ...]] = {}
        for i, of_text in itertools.groupby(notes, _TEXT):
            by_code: dict[str, dict[str, float]] = {}  # code -> weight of each distinct note
            for _, code_id, weight, note in of_text:
                weights = by_code.get(code_id)
                if weights is None:
                    by_code[code_id] = {note: weight}
                elif weights.get(note, 0.0) < weight:  # the note's largest weight (all > 0)
                    weights[note] = weight
            found = tuple(
                (code_id, confidence, "matched " + "; ".join(by_code[code_id]))
                for code_id in (sorted(by_code, key=order.__getitem__) if len(by_code) > 1
                                else by_code)
                if (confidence := _noisy_or(by_code[code_id].values())) >= min_confidence
            )
            if found:
                coded[first + i] = found
        return coded

    def _keyword_notes(self, batch: LemmaBatch) -> list[tuple[int, str, float, str]]:
        """``(text, code, weight, note)`` for each code of each keyword matched in the
        batch (one regular expression over all its texts' lemmas), in text order."""
        assert self.keyword_regex_ is not None
        texts, phrases, remove = batch.texts, self.phrases_, self.negation == "remove"
        found = [(m.start(), m.end(), m.group())
                 for m in _batch_matches(self.keyword_regex_, batch.string, self.overlaps_)]
        if not found:
            return []
        begins, ends, groups = zip(*found, strict=True)
        window = 0 if self.negation == "ignore" else self.negation_window
        negators = batch.nearest_before(begins, window, frozenset(
            n for n in self.negation_lemmas_ if n and " " not in n))  # words
        notes = []
        for i, start, end, group, negator in zip(*batch.locate_all(begins, ends), groups,
                                                 negators, strict=True):
            if negator is not None and remove:
                continue
            quote = texts[i][start:end]
            for code_id, keyword, weight in phrases[group.replace(JOINER, "")[1:]]:
                if negator is None:
                    notes.append((i, code_id, weight, f'"{quote}" (keyword: {keyword})'))
                else:  # "lower"
                    notes.append((i, code_id, weight * NEGATED_FACTOR,
                                  f'"{quote}" (keyword: {keyword}), after "{negator}"'))
        return notes

    def _pattern_hits(self, texts: Sequence[str]) -> dict[int, list[_PatternHit]]:
        """Pattern matches by text: ``(code, match, pattern)`` in codebook order."""
        if not self.patterns_:
            return {}
        tries: dict[int, set[int]] = {}  # text -> the patterns worth trying on it
        clued = [(p, clues) for p, clues in enumerate(self.pattern_clues_) if clues is not None]
        if clued:
            # No clue holds "\x00", so none is found across two texts. Clues are ASCII and
            # case is ignored: only ASCII text lower-cases safely (one character for one).
            joined = "\x00".join(texts)
            if joined.isascii():
                joined = joined.lower()
                starts = list(itertools.accumulate(map((1).__add__, map(len, texts)),
                                                   initial=0))
            else:
                lowered = [t.lower() if t.isascii() else "" for t in texts]
                joined = "\x00".join(lowered)
                starts = list(itertools.accumulate(map((1).__add__, map(len, lowered)),
                                                   initial=0))
                everything = {p for p, _ in clued}
                for i, text in enumerate(texts):
                    if not text.isascii():  # tried with every pattern
                        tries.setdefault(i, set()).update(everything)
            for p, clues in clued:
                for clue in clues:
                    at = joined.find(clue)
                    while at != -1:
                        i = bisect.bisect_right(starts, at) - 1
                        tries.setdefault(i, set()).add(p)
                        at = joined.find(clue, starts[i + 1])
        unclued = [p for p, clues in enumerate(self.pattern_clues_) if clues is None]
        if unclued:
            for i, text in enumerate(texts):
                if self.any_pattern_ is None or self.any_pattern_.search(
                        text, timeout=PATTERN_SECONDS):
                    tries.setdefault(i, set()).update(unclued)
        hits = {}
        for i, tried in tries.items():
            found = []
            for p in sorted(tried):
                code_id, compiled, source = self.patterns_[p]
                try:
                    match = compiled.search(texts[i], timeout=PATTERN_SECONDS)
                except TimeoutError:
                    raise CodebookError(
                        f"The pattern {source!r} of code '{code_id}' took more than "
                        f"{PATTERN_SECONDS:g} s on one segment ({len(texts[i]):,} characters) "
                        "and was stopped. Simplify it: a repeat inside a repeat, as in "
                        "(a+)+, is the usual cause.", field="patterns") from None
                if match:
                    found.append((code_id, match, source))
            if found:
                hits[i] = found
        return hits

    def _wanted(self, segment: Segment) -> bool:
        if self.speakers is not None and segment.speaker not in self.speakers:
            return False
        if self.attributes:
            attrs = (self.document_attributes_ or {}).get(segment.document_id)
            if attrs is None:
                return False
            for key, allowed in self.attributes.items():
                values = [allowed] if isinstance(allowed, str) else list(allowed)
                if attrs.get(key) not in values:
                    return False
        return True


# -- worker processes ---------------------------------------------------------------------
_worker_coder: RulesCoder | None = None  # in a worker: the coder it codes with


def _can_fork() -> bool:
    """Whether workers can be forks of this process: on Linux (macOS forks unsafely, Windows
    not at all), and not inside a daemon process (a Dask or pool worker), which may not
    start processes of its own."""
    return (sys.platform.startswith("linux") and not multiprocessing.current_process().daemon
            and "fork" in multiprocessing.get_all_start_methods())


def _in_workers(coder: RulesCoder, processes: int,
                jobs: list[tuple[list[str], int]]) -> Iterator[dict[int, tuple[_Code, ...]]]:
    """Each job's ``_code_texts`` result, in order, coded by ``processes`` forks of this
    process. Word forms a worker lemmatised for the first time are added to this process's
    cache too, so the next call finds them as a single-process run would."""
    from qualcode.nlp import english

    nlp = english()
    context = multiprocessing.get_context("fork")
    # This process's objects (the project's segments, the lemma cache) are moved out of the
    # collector's sight while the workers run: the many values made here meanwhile would
    # otherwise set off full collections that walk all of them (0.2-0.3 s, now and then),
    # and the workers do not copy pages the collector would touch. Left alone if objects
    # are frozen already (the caller's: unfreezing would undo theirs too; Python 3.12.1
    # itself starts with 375 frozen, so there this is never done).
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    # A fork copies only the thread that forks. The cache's lock is held across the fork,
    # so no other thread of this process (a notebook's) is half-way through an update the
    # workers would copy; each worker frees its copy when it starts. Python 3.12 warns on
    # every fork of a process with threads: the workers run nothing but this coder.
    try:
        with nlp.held(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*fork")
            pool = context.Pool(processes, initializer=_start_worker, initargs=(coder,))
        try:
            for found, learned in pool.imap(_code_in_worker, jobs):
                nlp.adopt(learned)
                yield found
        finally:  # done, failed or interrupted: the workers go
            pool.terminate()
            pool.join()
    finally:  # a pool that could not start included
        if freeze:
            gc.unfreeze()


def _start_worker(coder: RulesCoder) -> None:
    from qualcode.nlp import english

    global _worker_coder
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent to handle
    english().release_after_fork()
    _worker_coder = coder


def _code_in_worker(job: tuple[list[str], int]) -> tuple[dict[int, tuple[_Code, ...]], Any]:
    from qualcode.nlp import english

    assert _worker_coder is not None
    texts, first = job
    nlp = english()
    mark = nlp.cache_mark()
    with collector_paused():
        found = _worker_coder._code_texts(texts, first)
    return found, nlp.learned_since(mark)


def _compile_pattern(source: str, code_id: str) -> Any:
    """A codebook pattern compiled by the regex package, in its re-compatible mode: it does
    not get lost in nested repeats as Python's re does, is faster at a case-ignoring
    search (0.6-11.5 microseconds a 300-character turn, most 1-3, against 9.1-14.4 with
    re, on the bundled codebook's patterns), and a search still running too long can be
    stopped."""
    import regex

    try:
        return regex.compile(source, regex.IGNORECASE | regex.V0)
    except regex.error as exc:
        raise CodebookError(
            f"Code '{code_id}' has an invalid pattern {source!r}: {exc}.", field="patterns",
        ) from exc


def _any_of(sources: list[str]) -> Any:
    """One regex matching wherever any pattern does: a single scan rules most segments out.

    None when there are no patterns, or they cannot be joined (e.g. numbered
    back-references); then each pattern is tried on its own.
    """
    import regex

    if not sources:
        return None
    if any(re.search(r"\\[1-9]|\(\?P=", source) for source in sources):
        return None
    try:
        return regex.compile("|".join(f"(?:{source})" for source in sources),
                             regex.IGNORECASE | regex.V0)
    except regex.error:
        return None


def _noisy_or(weights: Iterable[float]) -> float:
    # Independent pieces of evidence: 1 - prod(1 - w).
    remaining = 1.0
    for weight in weights:
        remaining *= 1.0 - weight
    return round(1.0 - remaining, 6)


def _close_over_subphrases(
    phrase_codes: dict[str, dict[str, tuple[str, str]]],
) -> dict[str, dict[str, tuple[str, str]]]:
    """Give each phrase the codes of every keyword phrase found inside it.

    One regex finds non-overlapping matches, longest first: when "food bank" matches,
    "bank" (another code's keyword) is not matched separately, so it is credited here.
    """
    closed: dict[str, dict[str, tuple[str, str]]] = {}
    for phrase, codes in phrase_codes.items():
        merged = dict(codes)
        words = phrase.split(" ")
        for i in range(len(words)):
            for j in range(i + 1, len(words) + 1):
                inner = " ".join(words[i:j])
                if inner != phrase and inner in phrase_codes:
                    for code_id, entry in phrase_codes[inner].items():
                        merged.setdefault(code_id, entry)
        closed[phrase] = merged
    return closed


def trie_pattern(phrases: Iterable[str]) -> str:
    """One regular expression matching any of ``phrases`` as whole space-separated words.

    Built as a character trie (``food(?: bank| parcel)?``), so the engine never tries the
    phrases one by one, and longer phrases win over their prefixes.
    """
    trie = _trie(phrases)
    if not trie:
        raise parameter_error("phrases", "trie_pattern()", "a non-empty collection", [])
    return r"(?<![^ ])(?:" + _trie_regex(trie) + r")(?![^ ])"


def _batch_regex(phrases: Iterable[str]) -> re.Pattern[str]:
    """Like :func:`trie_pattern`, over a :class:`~qualcode.nlp.LemmaBatch`'s string: every
    lemma has a space before it (then maybe a ``JOINER``) and after it. A match takes the
    space before its phrase: a pattern that starts with a literal character is searched
    for far faster than one that starts with a look-behind."""
    # Inside a phrase a JOINER may follow a space; at its start it is one more first
    # character of the trie's top branch, so a word that cannot start a phrase costs one
    # look at each alternative's first character.
    space = f"\\ {JOINER}?"
    top = [re.escape(ch) + _trie_regex(child, space)
           for ch, child in sorted(_trie(phrases).items()) if ch]
    starts = "|".join(top)
    return re.compile(f" (?:{starts}|{JOINER}(?:{starts}))(?= )")


def _overlap_words(phrases: Iterable[str]) -> dict[str, tuple[int, ...]]:
    """For each phrase of several words, the words of it (counting from 0) where another
    phrase can start that runs past its end: one whose first words are the phrase's words
    from there on (``"home visit"`` -> ``(1,)`` when ``"visit day"`` is a phrase too).
    Only there can :func:`_batch_matches` find an overlapping phrase."""
    split = [phrase.split(" ") for phrase in phrases]
    starts = {tuple(words[:k]) for words in split for k in range(1, len(words))}
    found = {}
    for words in split:
        at = tuple(k for k in range(1, len(words)) if tuple(words[k:]) in starts)
        if at:
            found[" ".join(words)] = at
    return found


def _batch_matches(regex: re.Pattern[str], lemmas: str,
                   overlaps: Mapping[str, tuple[int, ...]]) -> Iterator[re.Match[str]]:
    """The matches of a :func:`_batch_regex` over a batch's lemmas, in order, with the
    phrases that overlap a longer one.

    The regex finds non-overlapping matches, longest first: in "home visit day" it finds
    "home visit" and goes on after it, so "visit day" (another keyword) would be missed. So
    at each later word of a match where another phrase can start and run past it
    (``overlaps``, from :func:`_overlap_words`), a phrase starting there is looked for; one
    that runs past everything found so far counts too. A phrase that ends inside what was
    found is not a match of its own: it is inside a longer phrase, whose codes include it
    (:func:`_close_over_subphrases`). A keyword inside the words two overlapping phrases
    share is credited through each ("food" in "no food" and "food bank"), so it counts
    twice towards its code's confidence; none of the bundled codebook's 90 overlapping pairs
    shares a keyword.
    """
    reach = -1  # the end of the furthest match so far
    for match in regex.finditer(lemmas):
        if match.end() <= reach:
            continue  # inside a phrase found at one of an earlier match's words
        reach = match.end()
        found = [match]
        for each in found:  # grows while it is read: overlaps of overlaps
            yield each
            words = overlaps.get(each.group()[1:].replace(JOINER, ""))
            if words is None:
                continue
            space, word = each.start(), 0
            for k in words:  # the space before word k of the match
                while word < k:
                    space = lemmas.find(" ", space + 1)
                    word += 1
                inner = regex.match(lemmas, space)
                if inner is not None and inner.end() > reach:
                    found.append(inner)
                    reach = inner.end()


def _trie(phrases: Iterable[str]) -> dict[str, Any]:
    trie: dict[str, Any] = {}
    for phrase in phrases:
        node = trie
        for ch in phrase:
            node = node.setdefault(ch, {})
        node[""] = {}  # end of a phrase
    return trie


def _trie_regex(node: dict[str, Any], space: str = re.escape(" ")) -> str:
    """The regex of a trie; ``space``: what a space in a phrase becomes."""
    ends_here = "" in node
    branches = [(space if ch == " " else re.escape(ch)) + _trie_regex(child, space)
                for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends_here:
        return f"(?:{body})?"
    return body


# Parser opcodes: a repeat's body is required when it repeats at least once.
_REPEATS = tuple(getattr(_re_parser, name) for name in ("MAX_REPEAT", "MIN_REPEAT",
                                                        "POSSESSIVE_REPEAT")
                 if hasattr(_re_parser, name))
_ATOMIC_GROUP = getattr(_re_parser, "ATOMIC_GROUP", None)
_ZERO_WIDTH = (_re_parser.AT, _re_parser.ASSERT, _re_parser.ASSERT_NOT)
_MAX_CLUES = 4  # strings in one clue, at most (each is one more search of a batch)
_CLUE_LENGTH = 5  # characters in each string of a clue, if it can be had


def _clues(source: str) -> frozenset[str] | None:
    """Lower-case strings one of which every match of ``source`` contains (in an ASCII
    text, case ignored), or None when no such strings can be told.

    ``"\\bbailiffs?\\b"`` -> ``{"bailiff"}``; ``"short[- ]staffed"`` -> ``{"short-staffed",
    "short staffed"}``; ``"x*"`` -> None. Read from the parsed pattern: the strings a run of
    its parts can match, when they are few (literal characters, alternatives, optional or
    bounded repeats of those), and what a group, a branch or a repeat of at least one
    requires; the longest such strings make the clue.
    """
    try:
        clues = _required(_re_parser.parse(source, re.IGNORECASE))
    except Exception:  # the parser is private to re: if it changes, do without clues
        return None
    return None if clues is None else frozenset(c.lower() for c in clues)


def _required(items: Iterable[tuple[Any, Any]]) -> frozenset[str] | None:
    """The best clue of a sequence of parsed items (see :func:`_clues`), or None."""
    items = list(items)
    exact = [_exact(op, av) for op, av in items]
    options: list[frozenset[str]] = []  # each: one of these strings is in every match
    for i, (op, av) in enumerate(items):
        strings = frozenset([""])
        for choices in itertools.takewhile(lambda e: e is not None, exact[i:]):
            strings = _product(strings, choices)  # type: ignore[arg-type]
            if not strings:
                break
            options.append(strings)
        if exact[i] is None:
            inner = _inner_required(op, av)
            if inner:
                options.append(inner)
    # Only strings a plain search can stand for: not empty, ASCII (case folds simply) and
    # no NUL (texts are joined by NULs to be searched at once).
    usable = [o for o in options if all(c and c.isascii() and "\x00" not in c for c in o)]
    # The best clue costs fewest scans of a batch (one per string) while staying rare
    # enough (strings of _CLUE_LENGTH characters or more): a segment it lets through costs
    # one search of a few microseconds, a string one more scan of the whole batch.
    return max(usable, key=lambda o: (min(map(len, o)) >= _CLUE_LENGTH, -len(o),
                                      min(map(len, o))), default=None)


def _inner_required(op: Any, av: Any) -> frozenset[str] | None:
    if op is _re_parser.SUBPATTERN:
        return _required(av[-1])
    if op is _ATOMIC_GROUP:
        return _required(av)
    if op in _REPEATS and av[0] >= 1:
        return _required(av[2])
    if op is _re_parser.BRANCH:
        alternatives = [_required(branch) for branch in av[1]]
        if all(alternatives):
            return frozenset().union(*alternatives)  # type: ignore[arg-type]
    return None


def _exact(op: Any, av: Any) -> frozenset[str] | None:
    """Every string one parsed item can match, when they are few; else None."""
    if op is _re_parser.LITERAL:
        return frozenset([chr(av)])
    if op in _ZERO_WIDTH:
        return frozenset([""])
    if op is _re_parser.IN and all(o is _re_parser.LITERAL for o, _ in av):
        return frozenset(chr(v) for _, v in av)
    if op is _re_parser.SUBPATTERN:
        return _exact_sequence(av[-1])
    if op is _ATOMIC_GROUP:
        return _exact_sequence(av)
    if op is _re_parser.BRANCH:
        alternatives = [_exact_sequence(branch) for branch in av[1]]
        if any(a is None for a in alternatives):
            return None
        union = frozenset().union(*alternatives)  # type: ignore[arg-type]
        return union if len(union) <= _MAX_CLUES else None
    if op in _REPEATS and av[1] <= 4:  # x?, x{2}, x{1,3}
        least, most, body = av[0], av[1], _exact_sequence(av[2])
        if body is None:
            return None
        repeated = frozenset([""])  # body repeated `times` times
        strings = repeated if least == 0 else frozenset()
        for times in range(1, most + 1):
            repeated = _product(repeated, body)
            if not repeated:
                return None
            if times >= least:
                strings |= repeated
        return strings if len(strings) <= _MAX_CLUES else None
    return None


def _exact_sequence(items: Iterable[tuple[Any, Any]]) -> frozenset[str] | None:
    strings = frozenset([""])
    for op, av in items:
        choices = _exact(op, av)
        if choices is None:
            return None
        strings = _product(strings, choices)
        if not strings:
            return None
    return strings


def _product(heads: frozenset[str], tails: frozenset[str]) -> frozenset[str]:
    """Every head followed by every tail; empty when there would be too many."""
    if len(heads) * len(tails) > _MAX_CLUES:
        return frozenset()
    return frozenset(head + tail for head in heads for tail in tails)
