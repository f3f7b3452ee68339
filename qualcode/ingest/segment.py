"""Cut a document's turns into segments: turns, paragraphs or sentences.

Every segment is a :class:`~qualcode.model.Segment` whose text is
``document.text[start:end]`` (as ``Segment.of`` makes it; the turn's bounds are checked
once, for all its pieces), inside one turn, without the speaker label or the whitespace
around it, and carries the turn's speaker and role. Segments of a document are
ordered, do not overlap, and are numbered 0, 1, 2, ... A paragraph or sentence keeps the
turn's start time if it opens the turn and its end time if it closes it (times inside a
turn are not known).

Paragraphs are separated by blank lines (or by line ends, in a document without a single
blank line; see :func:`qualcode.ingest.turns.paragraph_break`). Sentences never cross a
paragraph; see :func:`sentence_spans` for the rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from qualcode.errors import parameter_error
from qualcode.ingest.base import Turn
from qualcode.ingest.turns import paragraph_break, paragraph_spans
from qualcode.model import Document, Segment, check_role, check_span

__all__ = ["UNITS", "normalise_unit", "segment_turns", "sentence_spans"]

UNITS = {"turns": "turn", "paragraphs": "paragraph", "sentences": "sentence"}



def _char_class(predicate: Callable[[str], bool]) -> str:
    """A regex character class of the BMP characters for which ``predicate`` holds."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF or not predicate(chr(code)):
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )


# A sentence ends at . ! ? or an ellipsis, with any closing quotes or brackets, followed
# by whitespace and a capital or a digit (perhaps behind an opening quote or bracket, or
# after a stage direction such as "(laughs)", which then opens the next sentence).
# Group 1 is the whitespace, so the next sentence starts at its end. Whether a single "."
# ends a sentence is then decided by the word before it (_ends_sentence).
_BOUNDARY = re.compile(
    r"(?P<term>[.!?…]+)[\"'”’»)\]]*"
    r"(?=(\s+)(?:[(\[][^()\[\]\n]{1,40}[)\]]\s+)*"  # stage directions: "(laughs) Then"
    r"[\"'“‘«(\[]*(?P<next>[0-9" + _char_class(str.isupper) + r"]))"
)
_OPENERS = "\"'“‘«(["
_ABBREVIATIONS = frozenset((
    "mr", "mrs", "ms", "mx", "dr", "prof", "sr", "jr", "st", "mt", "rev", "hon", "gen",
    "col", "lt", "sgt", "capt", "cpl", "rd", "ave", "vs", "cf", "approx", "dept", "est",
    "e.g", "i.e", "eg", "ie", "viz", "al", "a.m", "p.m", "am", "pm", "inc", "ltd", "co",
    "corp", "plc", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec", "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
))
_BEFORE_NUMBER = frozenset((
    "no", "nos", "p", "pp", "fig", "figs", "vol", "vols", "ch", "art", "sec", "para", "tel",
    "ex",
))


def normalise_unit(unit: str) -> str:
    """The segment kind for ``unit`` (``turns`` -> ``turn``; singular forms accepted)."""
    if unit in UNITS:
        return UNITS[unit]
    if unit in UNITS.values():
        return unit
    raise parameter_error("segment", "load_corpus()", "'turns', 'paragraphs' or 'sentences'",
                          unit)


def _ends_sentence(text: str, stop: int, lower_bound: int, next_char: str) -> bool:
    """Whether the full stop at ``stop`` ends a sentence (not an abbreviation or initial)."""
    word_start = max(text.rfind(" ", lower_bound, stop), text.rfind("\n", lower_bound, stop),
                     text.rfind("\t", lower_bound, stop)) + 1
    word = text[max(word_start, lower_bound):stop].lstrip(_OPENERS)
    folded = word.casefold()
    if folded in _ABBREVIATIONS:
        return False
    if folded in _BEFORE_NUMBER and next_char.isdigit():
        return False
    if len(word) == 1 and word.isupper():
        return False  # an initial: "J. Smith"
    return "." not in word  # "e.g", "U.K", "a.m" hold a dot: abbreviations


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence in ``text[start:end]`` (one paragraph), trimmed.

    A sentence ends at ``.``, ``!``, ``?`` or an ellipsis (with any closing quotes or
    brackets) followed by whitespace and a capital letter or digit, perhaps behind an
    opening quote or bracket or after a stage direction (``(laughs) Then``). A full stop
    does not end a sentence after an abbreviation (Mr., Dr., e.g., i.e., a.m., months),
    an initial (J. Smith), ``No.``/``p.``/``Fig.`` before a number, or a dotted
    abbreviation (U.K.); a decimal (3.5) has no space after its dot. Lower-case text after
    a full stop continues the sentence.
    """
    end = len(text) if end is None else end
    start, end = _trim(text, start, end)
    spans = []
    position = start
    for match in _BOUNDARY.finditer(text, start, end):
        if match.group("term") == "." and not _ends_sentence(
            text, match.start(), position, match.group("next")
        ):
            continue
        spans.append((position, match.end()))
        position = match.end(2)
    if position < end:
        spans.append((position, end))
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def segment_turns(document: Document, turns: Iterable[Turn], unit: str = "turns") -> list[Segment]:
    """Segments of ``document`` for its ``turns``, by ``unit`` (turns, paragraphs, sentences)."""
    kind = normalise_unit(unit)
    text = document.text
    separator = paragraph_break(text) if kind != "turn" else None
    segments: list[Segment] = []
    for turn in turns:
        # a corpus has hundreds of thousands of segments: check the turn once, not each
        # piece of it (pieces lie inside their turn and share its role; the kind is
        # normalised), slice the text directly, and make the segments from checked values
        check_span(document.id, len(text), turn.start, turn.end, "turn")
        if kind == "turn":  # the turn itself, times and all
            check_role(turn.role, "segment")
            segments.append(Segment.from_checked((
                document.id, turn.start, turn.end, text[turn.start:turn.end], kind,
                len(segments), turn.speaker, turn.role, turn.start_time, turn.end_time,
            )))
            continue
        pieces = paragraph_spans(text, turn.start, turn.end, separator)
        if kind == "sentence":
            pieces = [span for p in pieces for span in sentence_spans(text, p[0], p[1])]
        if pieces:
            check_role(turn.role, "segment")
        last = len(pieces) - 1
        for i, (start, end) in enumerate(pieces):
            segments.append(Segment.from_checked((
                document.id, start, end, text[start:end], kind, len(segments), turn.speaker,
                turn.role, turn.start_time if i == 0 else None,
                turn.end_time if i == last else None,
            )))
    return segments
