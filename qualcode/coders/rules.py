"""The rules coder: a codebook's keywords (matched on lemmas) and regular expressions.

Each code's ``keywords`` are lemmatised once at ``fit`` (``"hadn't been in"`` ->
``"have not be in"``), and every segment's text is lemmatised the same way (see
:mod:`qualcode.nlp`), so "visits", "visited" and "visiting" all match the keyword
"visit". All keywords of all codes are matched with one compiled regular expression over
a segment's lemma string. A code's ``patterns`` (Python regular expressions, matched
case-insensitively on the segment's own text) are tried as well.

A negation ("not", "never", "no", "n't") within ``negation_window`` words before a
keyword lowers its weight (``negation="lower"``), removes it (``"remove"``) or is ignored
(``"ignore"``). Confidence combines the matches of a code (noisy-or: one keyword 0.5, a
phrase of several words 0.6, a pattern 0.6; two keywords 0.75, ...).

>>> coder = RulesCoder(negation="remove").fit(project)         # doctest: +SKIP
>>> coder.suggest(project.segments())[0].reason                 # doctest: +SKIP
'matched "absent" (keyword: absent)'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from qualcode.coders.base import BaseCoder, FitReport, Suggestion, _as_project
from qualcode.errors import CodebookError, ParameterError, parameter_error
from qualcode.model import Codebook, Segment

if TYPE_CHECKING:
    from qualcode.project import Project

__all__ = ["RulesCoder", "trie_pattern"]

KEYWORD_WEIGHT = 0.5  # one single-word keyword
PHRASE_WEIGHT = 0.6  # a keyword of several words is more specific
PATTERN_WEIGHT = 0.6  # a researcher's regular expression
NEGATED_FACTOR = 0.3  # a negated match keeps this share of its weight ("lower")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})


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
    ) -> None:
        self.codes = codes
        self.negation = negation
        self.negation_window = negation_window
        self.negations = negations
        self.speakers = speakers
        self.attributes = attributes
        self.skip_interviewer = skip_interviewer
        self.min_confidence = min_confidence

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
        book = self._codebook_from(project_or_data, codebook)
        wanted = self._rule_codes(book)

        nlp = english()
        # lemma phrase -> {code: (keyword as written, its lemma phrase)}
        phrase_codes: dict[str, dict[str, tuple[str, str]]] = {}
        patterns: list[tuple[str, re.Pattern[str], str]] = []
        methods, skipped = {}, {}
        for code_id in wanted:
            code = book.get(code_id)
            for keyword in code.keywords:
                phrase = nlp.lemma_string(keyword.translate(_QUOTES))
                if phrase:
                    phrase_codes.setdefault(phrase, {}).setdefault(code_id, (keyword, phrase))
            for source in code.patterns:
                try:
                    compiled = re.compile(source, re.IGNORECASE)
                except re.error as exc:
                    raise CodebookError(
                        f"Code '{code_id}' has an invalid pattern {source!r}: {exc}.",
                        field="patterns",
                    ) from exc
                patterns.append((code_id, compiled, source))
            if code.keywords or code.patterns:
                methods[code_id] = self.method
            else:
                skipped[code_id] = "no keywords or patterns"

        self.codebook_ = book
        self.codes_ = tuple(methods)
        self.phrases_ = _close_over_subphrases(phrase_codes)
        self.keyword_regex_ = (
            re.compile(trie_pattern(self.phrases_)) if self.phrases_ else None
        )
        self.patterns_ = tuple(patterns)
        self.any_pattern_ = _any_of([source for _, _, source in patterns])
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
        from qualcode.nlp import english, word_spans

        self._check_fitted()
        todo = [s for s in self._segments_in(segments, self.skip_interviewer) if self._wanted(s)]
        if not todo:
            return []
        nlp = english()
        texts = [s.text.translate(_QUOTES) for s in todo]
        lemma_strings = nlp.lemma_strings(texts)
        regex, phrases, patterns = self.keyword_regex_, self.phrases_, self.patterns_
        any_pattern = self.any_pattern_
        out: list[Suggestion] = []
        for segment, text, lemmas in zip(todo, texts, lemma_strings, strict=True):
            keyword_hits = list(regex.finditer(lemmas)) if regex is not None else []
            pattern_hits = [
                (code_id, m, source) for code_id, compiled, source in patterns
                if (m := compiled.search(text))
            ] if any_pattern is None or any_pattern.search(text) else []
            if not keyword_hits and not pattern_hits:
                continue
            if keyword_hits:
                # Offsets only up to the last word matched: a long turn is not re-read.
                last = lemmas.count(" ", 0, keyword_hits[-1].end()) + 1
                tokens = word_spans(text, last)
                lemma_list = lemmas[: keyword_hits[-1].start()].split(" ")
            evidence: dict[str, list[tuple[float, str]]] = {}
            for match in keyword_hits:
                first = lemmas.count(" ", 0, match.start())
                size = match.group().count(" ") + 1
                quote = text[tokens[first][0] : tokens[first + size - 1][1]]
                negator = self._negator(lemma_list, first)
                for code_id, (keyword, phrase) in phrases[match.group()].items():
                    weight = PHRASE_WEIGHT if " " in phrase else KEYWORD_WEIGHT
                    note = f'"{quote}" (keyword: {keyword})'
                    if negator is not None:
                        if self.negation == "remove":
                            continue
                        if self.negation == "lower":
                            weight *= NEGATED_FACTOR
                            note += f', after "{negator}"'
                    evidence.setdefault(code_id, []).append((weight, note))
            for code_id, match, source in pattern_hits:
                evidence.setdefault(code_id, []).append(
                    (PATTERN_WEIGHT, f'"{match.group()}" (pattern: {source})')
                )
            for code_id in self.codes_:  # codebook order, so output is deterministic
                items = evidence.get(code_id)
                if not items:
                    continue
                weights: dict[str, float] = {}  # one weight per distinct piece of evidence
                for weight, note in items:
                    weights[note] = max(weight, weights.get(note, 0.0))
                confidence = _noisy_or(weights.values())
                if confidence < self.min_confidence:
                    continue
                notes = list(weights)
                out.append(Suggestion(segment, code_id, confidence,
                                      "matched " + "; ".join(notes), self.method, self.name))
        return out

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

    def _negator(self, lemma_list: list[str], first: int) -> str | None:
        if self.negation == "ignore" or not self.negation_window:
            return None
        for lemma in reversed(lemma_list[max(0, first - self.negation_window) : first]):
            if lemma in self.negation_lemmas_:
                return lemma
        return None


def _any_of(sources: list[str]) -> re.Pattern[str] | None:
    """One regex matching wherever any pattern does: a single scan rules most segments out.

    None when there are no patterns, or they cannot be joined (e.g. numbered
    back-references); then each pattern is tried on its own.
    """
    if not sources:
        return None
    if any(re.search(r"\\[1-9]|\(\?P=", source) for source in sources):
        return None
    try:
        return re.compile("|".join(f"(?:{source})" for source in sources), re.IGNORECASE)
    except re.error:
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
    trie: dict[str, Any] = {}
    for phrase in phrases:
        node = trie
        for ch in phrase:
            node = node.setdefault(ch, {})
        node[""] = {}  # end of a phrase
    if not trie:
        raise parameter_error("phrases", "trie_pattern()", "a non-empty collection", [])
    return r"(?<![^ ])(?:" + _trie_regex(trie) + r")(?![^ ])"


def _trie_regex(node: dict[str, Any]) -> str:
    ends_here = "" in node
    branches = [re.escape(ch) + _trie_regex(child) for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends_here:
        return f"(?:{body})?"
    return body
