"""Speaker turns in plain transcript text: the label grammar.

A turn starts at a line that begins with a speaker label and a colon followed by a space
(or the end of the line)::

    Sarah: ...                         speaker "Sarah"
    Sarah, Ash Grove: ...              speaker "Sarah" (the part after the comma is a setting)
    INTERVIEWER: ...  NAME: ...        speakers in capitals
    [00:03:12] Dave, Southfield: ...   with a start time (also ``00:03:12 Name:``, ``(03:12)``)
    Q: ...  A: ...  I: ...  R: ...  P4: ...  Speaker 2: ...  Interviewer 1: ...
    Moderator (Anna): ...              speaker "Anna", role interviewer
    **Sarah:** ...                     Markdown bold

A line without a label continues the current turn; text before the first label is a turn
whose speaker is None. The role is ``interviewer`` for labels such as interviewer,
moderator, facilitator, researcher, Q, I, Int (case-insensitive) and ``participant`` for
every other label.

Prose must not become a speaker: ``The point is: we went``, ``Note: ...``, ``Heat map:``
or ``Location: Cork.`` are text. A label is at most 60 characters and a few words; its
words are capitalised names, capitals, or a known role; it has no sentence punctuation;
its first word is not a common English word (``The``, ``So``, ``Note``, ``Location``, ...).
A plain capitalised name (``Anna:``, the weakest kind of label) must also recur in the
document, or sit next to another label, or open the document. Stage directions in
parentheses (``(laughs)``, ``[inaudible]``) never start a label.

Transcripts that label only the interviewer (think-aloud sessions: ``MODERATOR:`` lines
between the participant's unlabelled paragraphs, as in the SWJ 2022 usability study) are
recognised: with ``unlabelled="auto"`` (the default), when every label is an interviewer's,
each labelled turn is its own paragraph and the unlabelled paragraphs between them are the
participant's (speaker None, role participant); numbered task prompts (``1 Read the...``,
``3.a Please explain...``, ``c.ii Data Lineage``) are turns of their own with no speaker and
no role. ``unlabelled="continue"`` or ``"participant"`` forces either reading.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from qualcode.errors import parameter_error
from qualcode.ingest.base import Turn

__all__ = [
    "UNLABELLED_MODES",
    "Label",
    "classify_label",
    "numbered_prompt",
    "paragraph_break",
    "paragraph_spans",
    "parse_time",
    "parse_turns",
]

UNLABELLED_MODES = ("auto", "continue", "participant")

_TS = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
# A candidate label line. The label text itself is checked in Python (classify_label):
# the regex only finds lines whose first 60 characters hold a colon followed by a space.
_LABEL_BODY = rf"""[ \t]*
    (?:[\[(]?[ \t]*(?:(?P<h>\d{{1,2}}):)?(?P<m>\d{{1,2}}):(?P<s>\d{{2}}(?:[.,]\d{{1,3}})?)
       [ \t]*[\])]?[ \t]*(?:[-–—|][ \t]*)?)?
    (?P<bold>\*\*|__)?
    (?P<label>[^\s:\[\]()*_<>][^:\n]{{0,59}})
    (?:[ \t]*(?:\[[ \t]*(?P<ts2>{_TS})[ \t]*\]|\([ \t]*(?P<ts3>{_TS})[ \t]*\)))?
    [ \t]*(?:\*\*|__)?:(?:\*\*|__)?
    (?:[ \t]+|$)"""
_LABEL_LINE = re.compile("^" + _LABEL_BODY, re.MULTILINE | re.VERBOSE)
# The same after a line end: a literal first character lets the regex engine skip ahead
# quickly, about twice as fast over a long text as "^" in multiline mode.
_LABEL_AFTER_NEWLINE = re.compile(r"\n" + _LABEL_BODY, re.MULTILINE | re.VERBOSE)

_INTERVIEWER_WORDS = frozenset({
    "interviewer", "interviewers", "int", "iv", "moderator", "mod", "facilitator",
    "researcher", "q", "question", "i", "host", "chair", "investigator", "observer",
})
_PARTICIPANT_WORDS = frozenset({
    "participant", "respondent", "interviewee", "ie", "ip", "a", "answer", "r", "p",
    "speaker", "subject", "resp", "part", "unknown", "other",
})
_ROLE_LABEL = re.compile(
    r"(?P<word>[A-Za-z]+)(?:[ \t_]*(?:#[ \t]*)?(?P<n>\d{1,3}|[A-Z]))?", re.ASCII
)
_CODE_LABEL = re.compile(r"[A-Z]{1,2}\d{1,3}")  # P4, R12, FG1, I2

# First words that make a "label" prose (lower-case; checked case-insensitively).
_STOP = frozenset((
    "a", "an", "the", "this", "that", "these", "those", "it", "its", "it's", "he", "she",
    "we", "they", "you", "i", "me", "my", "mine", "our", "ours", "his", "her", "hers",
    "their", "theirs", "him", "them", "us", "your", "yours", "there", "here", "what",
    "which", "who", "whom", "whose", "why", "how", "when", "where", "whether", "so", "and",
    "but", "or", "nor", "then", "than", "well", "yes", "yeah", "yep", "no", "nope", "nah",
    "ok", "okay", "oh", "ah", "um", "uh", "er", "erm", "hmm", "mm", "now", "also", "just",
    "because", "if", "as", "for", "in", "on", "at", "by", "with", "from", "to", "of",
    "into", "onto", "about", "after", "before", "during", "until", "while", "since",
    "though", "although", "unless", "one", "two", "three", "four", "five", "first",
    "second", "third", "last", "next", "all", "some", "any", "every", "each", "both",
    "either", "neither", "many", "much", "more", "most", "few", "several", "other",
    "another", "such", "same", "like", "said", "says", "say", "asked", "asks", "told",
    "tells", "thought", "think", "know", "knew", "mean", "means", "meant", "see", "saw",
    "look", "listen", "remember", "honestly", "basically", "anyway", "actually",
    "seriously", "obviously", "apparently", "maybe", "perhaps", "probably", "again",
    "still", "sometimes", "always", "never", "often", "only", "even", "really", "very",
    "quite", "rather", "please", "thanks", "thank", "dear", "hello", "hi", "hey", "bye",
    "note", "notes", "nb", "ps", "p.s", "fyi", "re", "edit", "edited", "update", "updated",
    "warning", "caution", "tip", "hint", "important", "example", "examples", "e.g", "i.e",
    "eg", "ie", "summary", "conclusion", "conclusions", "result", "results", "reason",
    "reasons", "problem", "problems", "issue", "issues", "solution", "answer", "answers",
    "location", "locations", "date", "dates", "time", "times", "duration", "place", "title",
    "subject", "topic", "task", "tasks", "step", "steps", "source", "sources", "context",
    "background", "aim", "aims", "goal", "goals", "purpose", "method", "methods", "comment",
    "comments", "feedback", "transcript", "transcription", "transcriber", "recording",
    "audio", "video", "file", "files", "page", "section", "chapter", "part", "total",
    "price", "cost", "status", "type", "name", "names", "address", "email", "phone", "tel",
    "url", "link", "website", "ref", "reference", "references", "key", "legend",
    "definition", "meaning", "translation", "aside", "quote", "quotes", "context", "agenda",
    "action", "actions", "outcome", "outcomes", "observation", "observations",
    "instructions", "instruction", "question", "questions", "topic", "theme", "themes",
    "code", "codes", "category", "categories", "keywords", "keyword", "monday", "tuesday",
    "wednesday", "thursday", "friday", "saturday", "sunday", "today", "yesterday",
    "tomorrow", "january", "february", "march", "july", "september", "october", "november",
    "december", "morning", "afternoon", "evening", "night", "week", "weekend", "month",
    "year",
))
# Lower-case particles allowed inside a name ("Ludwig van Beethoven", "Maria de Souza").
_PARTICLES = frozenset((
    "de", "van", "von", "der", "den", "da", "di", "du", "le", "la", "del", "dos", "das",
    "bin", "ibn", "al", "el", "ter", "ten", "y",
))
_HONORIFICS = frozenset((
    "dr", "mr", "mrs", "ms", "mx", "prof", "sr", "jr", "st", "rev",
))
_NUMBERED_PROMPT = re.compile(
    r"[ \t]*(?:\d{1,2}(?:\.(?:\d{1,2}|[a-z]{1,4}))*\.?|[a-z]\.[ivx]{1,5}\.?|[a-z]\))[ \t]+"
    r"[\"'‘“(]?[A-Z]"
)
_TOP_LEVEL_PROMPT = re.compile(r"[ \t]*\d{1,2}\.?[ \t]")


def numbered_prompt(text: str) -> int | None:
    """The level of a numbered protocol prompt (``"3 Submit a query"``: 1, ``"3.a Please
    explain"`` or ``"c.ii Data Lineage"``: 2), or None when ``text`` is not one."""
    if not _NUMBERED_PROMPT.match(text):
        return None
    return 1 if _TOP_LEVEL_PROMPT.match(text) else 2


@dataclass(frozen=True)
class Label:
    """A recognised speaker label: the speaker's name, role, and how sure the grammar is.

    ``strong`` labels (roles, capitals, codes like ``P4``, ``Name, Setting``, a timestamp)
    are always taken; a plain capitalised name is weak and needs support in the document.
    """

    speaker: str
    role: str
    strong: bool


def _role_of_word(word: str) -> str | None:
    folded = word.casefold()
    if folded in _INTERVIEWER_WORDS:
        return "interviewer"
    if folded in _PARTICIPANT_WORDS:
        return "participant"
    return None


def _role_label(text: str) -> str | None:
    """The role if ``text`` is a role label (``Interviewer``, ``P4``, ``Speaker 2``, ``Q``)."""
    match = _ROLE_LABEL.fullmatch(text)
    if match:
        role = _role_of_word(match["word"])
        if role is not None:
            # "A" and "I" alone are roles; "A 2" is not a thing
            if len(match["word"]) == 1 and match["n"] and not match["n"].isdigit():
                return None
            return role
    if _CODE_LABEL.fullmatch(text):
        return "interviewer" if text[0] in "IQ" and len(text) > 1 and text[1].isdigit() \
            else "participant"
    if len(text) == 1 and text.isupper():
        return "participant"
    return None


def _is_name_word(word: str, first: bool) -> bool:
    if not word:
        return False
    folded = word.casefold().rstrip(".")
    if word.endswith("."):
        # honorifics and initials only: "Dr.", "J."
        stem = word[:-1]
        return folded in _HONORIFICS or (len(stem) == 1 and stem.isupper())
    if not first and folded in _PARTICLES:
        return True
    if not word[0].isupper():
        return False
    rest = word[1:].replace("'", "").replace("’", "").replace("-", "")
    # "McDonald", "O'Brien", "Jean-Luc" pass; "iPhone", "ABC1" do not
    return all(ch.isalpha() for ch in rest) and (
        rest == "" or rest.islower() or _is_mixed_name(word)
    )


def _is_mixed_name(word: str) -> bool:
    parts = re.split(r"['’\-]", word)
    if all(p and p[0].isupper() and (p[1:] == "" or p[1:].islower()) for p in parts):
        return True
    return bool(re.fullmatch(r"(?:Mc|Mac)[A-Z][a-z]+", word))


def _is_caps_word(word: str) -> bool:
    bare = word.replace("'", "").replace("’", "").replace("-", "").replace(".", "")
    return bool(bare) and bare.isalpha() and bare.isupper()


def _name_kind(text: str) -> str | None:
    """``"caps"`` for ``DR SMITH``, ``"title"`` for ``Anna Smith``, None for anything else."""
    words = text.split()
    if not 1 <= len(words) <= 4:
        return None
    if words[0].casefold().rstrip(".") in _STOP:
        return None
    if all(_is_caps_word(w) for w in words):
        return "caps" if sum(len(w) for w in words) >= 2 else None
    if len(words) > 3 and words[0].casefold().rstrip(".") not in _HONORIFICS:
        return None
    if not all(_is_name_word(w, i == 0) for i, w in enumerate(words)):
        return None
    if not words[-1][0].isupper():
        return None  # "Maria de" is not a name
    if any(w.casefold() in _STOP for w in words[1:]):
        return None
    return "title"


def _qualifier_ok(text: str) -> bool:
    """The part after a comma: a setting or role such as ``Ash Grove`` or ``Head of Year 9``."""
    words = text.split()
    if not 1 <= len(words) <= 5:
        return False
    if not (words[0][0].isupper() or words[0][0].isdigit()):
        return False
    for word in words:
        bare = word.strip("&'’-")
        if not bare:
            continue
        if not (bare[0].isupper() or bare[0].isdigit() or bare.casefold() in
                {"of", "the", "and", "for", "on", "upon", "in", "under", "de", "la", "le"}):
            return False
        if not all(ch.isalnum() or ch in "'’-&." for ch in bare):
            return False
    return True


@lru_cache(maxsize=4096)  # a transcript repeats a handful of labels thousands of times
def classify_label(text: str) -> Label | None:
    """The :class:`Label` that ``text`` (the part before the colon) denotes, or None.

    >>> classify_label("Sarah, Ash Grove")
    Label(speaker='Sarah', role='participant', strong=True)
    >>> classify_label("Moderator (Anna)")
    Label(speaker='Anna', role='interviewer', strong=True)
    >>> classify_label("The point is") is None
    True
    """
    text = text.strip()
    if not text or len(text) > 60 or text[0] in "([{<\"'“‘-*_#>":
        return None
    paren = None
    match = re.fullmatch(r"(.+?)[ \t]*\(([^()]{1,40})\)", text)
    if match:
        text, paren = match[1].strip(), match[2].strip()
    if any(ch in text for ch in "()?!;\"“”…/\\|=+<>{}[]@#"):
        return None
    name, comma, qualifier = text.partition(",")
    name, qualifier = name.strip(), qualifier.strip()
    if comma and not all(_qualifier_ok(q.strip()) for q in qualifier.split(",")):
        return None
    role = _role_label(name)
    speaker = name
    if role is not None:
        strong = True
    else:
        kind = _name_kind(name)
        if kind is None:
            return None
        strong = bool(comma) or kind == "caps"
        # "Interviewer Anna", "Researcher Smith": a role word opening a name
        opening_role = _role_of_word(name.split()[0])
        role = "interviewer" if opening_role == "interviewer" else None
    if paren is not None:
        paren_role = _role_label(paren)
        if paren_role is not None:
            # "Anna (Moderator)": the parenthesis says the role
            if role is None or paren_role == "interviewer":
                role = paren_role
            strong = True
        elif _name_kind(paren) is not None:
            strong = True
            if _role_label(name) is not None:
                speaker = paren  # "Moderator (Anna)": Anna is the name
        elif paren[:1].isupper() or paren[:1].isdigit():
            return None
        # otherwise a lower-case aside such as "(laughing)" or "(she/her)": ignored
    return Label(speaker, role or "participant", strong)


_TIME_PARTS = re.compile(r"(?:(\d+):)?(\d+):(\d+(?:[.,]\d+)?)")


def parse_time(text: str | None) -> float | None:
    """Seconds in ``hh:mm:ss``, ``mm:ss``, ``hh:mm:ss.mmm`` or ``hh:mm:ss,mmm`` (brackets
    allowed); None for None or text without a time."""
    match = _TIME_PARTS.search(text) if text else None
    if match is None:
        return None
    hours, minutes, seconds = match.groups()
    return (int(hours) * 3600 if hours else 0) + int(minutes) * 60 + float(
        seconds.replace(",", "."))


_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_PARAGRAPH_BREAK_BLANK = re.compile(r"\n(?:[ \t]*\n)+")
_PARAGRAPH_BREAK_LINE = re.compile(r"\n")


def paragraph_break(text: str) -> re.Pattern[str]:
    """The paragraph separator of a document: blank lines if it has any, else line ends.

    Files that separate paragraphs with blank lines may wrap long lines; files without a
    single blank line put one paragraph on each line.
    """
    return _PARAGRAPH_BREAK_BLANK if _BLANK_LINE.search(text) else _PARAGRAPH_BREAK_LINE


def paragraph_spans(
    text: str, start: int = 0, end: int | None = None, separator: re.Pattern[str] | None = None
) -> list[tuple[int, int]]:
    """``(start, end)`` of each non-empty paragraph in ``text[start:end]``, without the
    whitespace around it."""
    end = len(text) if end is None else end
    separator = separator or paragraph_break(text)
    spans = []
    position = start
    for match in separator.finditer(text, start, end):
        spans.append(_strip(text, position, match.start()))
        position = match.end()
    spans.append(_strip(text, position, end))
    return [(s, e) for s, e in spans if s < e]


_LEADING_SPACE = re.compile(r"\s*")


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``[start, end)`` to exclude surrounding whitespace (no copy of the text)."""
    if start >= end:
        return start, start
    if text[start].isspace():
        start = _LEADING_SPACE.match(text, start, end).end()  # type: ignore[union-attr]
    if start >= end:
        return start, start
    # search backwards cheaply: only the tail can be whitespace
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


class _Candidate(NamedTuple):
    line_start: int
    content_start: int
    label: Label
    start_time: float | None


def _candidates(text: str) -> list[_Candidate]:
    found = []
    append = found.append
    first = _LABEL_LINE.match(text)
    for match in itertools.chain([first] if first else [], _LABEL_AFTER_NEWLINE.finditer(text)):
        raw, minutes, ts2, ts3, bold = match.group("label", "m", "ts2", "ts3", "bold")
        label = classify_label(raw.rstrip("*_ \t"))  # "**Sarah**:" has its bold inside
        if label is None:
            continue
        if minutes is not None:  # a leading timestamp, the common case: no second parse
            hours, seconds = match.group("h", "s")
            time: float | None = (int(hours) * 3600 if hours else 0) + int(minutes) * 60 + (
                float(seconds) if "," not in seconds else float(seconds.replace(",", ".")))
        else:
            time = parse_time(ts2 or ts3)
        if (time is not None or bold) and not label.strong:
            label = Label(label.speaker, label.role, True)
        start, end = match.span()
        if match is not first:
            start += 1  # the line starts after the "\n" the match begins with
        append(_Candidate(start, end, label, time))
    return found


def _line_bounds_before(text: str, position: int) -> tuple[int, int] | None:
    """The previous non-blank line before ``position`` (a line start), or None."""
    end = position - 1
    while end > 0:
        start = text.rfind("\n", 0, end) + 1
        if text[start:end].strip():
            return start, end
        end = start - 1
    return None


def _line_bounds_after(text: str, position: int) -> tuple[int, int] | None:
    """The next non-blank line after the line that starts at ``position``, or None."""
    start = text.find("\n", position)
    while start != -1:
        start += 1
        end = text.find("\n", start)
        end = len(text) if end == -1 else end
        if text[start:end].strip():
            return start, end
        start = end if end < len(text) else -1
    return None


def _is_label_line(text: str, bounds: tuple[int, int] | None) -> bool:
    if bounds is None:
        return False
    match = _LABEL_LINE.match(text, bounds[0], bounds[1])
    return bool(match and classify_label(match["label"].rstrip("*_ \t")))


def _accepted(text: str, candidates: list[_Candidate]) -> list[_Candidate]:
    """Keep strong labels, and weak ones that recur, neighbour a label, or open the text."""
    counts: dict[str, int] = {}
    for c in candidates:
        counts[c.label.speaker] = counts.get(c.label.speaker, 0) + 1
    first_text = _LEADING_SPACE.match(text).end()  # type: ignore[union-attr]
    kept = []
    for c in candidates:
        if (
            c.label.strong
            or counts[c.label.speaker] > 1
            or text.rfind("\n", 0, first_text) + 1 == c.line_start
            or _is_label_line(text, _line_bounds_before(text, c.line_start))
            or _is_label_line(text, _line_bounds_after(text, c.line_start))
        ):
            kept.append(c)
    return kept


def parse_turns(text: str, *, unlabelled: str = "auto") -> tuple[list[Turn], list[str]]:
    """Speaker turns of a transcript's (normalised) text, and notes on how it was read.

    Each :class:`Turn` spans the turn's content: after the label, without surrounding
    whitespace. ``unlabelled`` says what a paragraph without a label is: ``"continue"``
    (part of the turn before it), ``"participant"`` (the participant speaking, when only
    the interviewer is labelled) or ``"auto"`` (the second when every label in the text is
    an interviewer's, else the first).
    """
    if unlabelled not in UNLABELLED_MODES:
        raise parameter_error("unlabelled", "read_document()",
                              f"one of {', '.join(UNLABELLED_MODES)}", unlabelled)
    labels = _accepted(text, _candidates(text))
    notes: list[str] = []
    interviewer_only = bool(labels) and all(c.label.role == "interviewer" for c in labels)
    if unlabelled == "participant" or (unlabelled == "auto" and interviewer_only):
        turns = _interviewer_only_turns(text, labels)
        if unlabelled == "auto" and any(t.speaker is None and t.role == "participant"
                                        for t in turns):
            notes.append(
                "Only the interviewer is labelled, so unlabelled paragraphs were read as the "
                "participant speaking (pass unlabelled='continue', or --unlabelled continue, to "
                "read them as continuing the interviewer's turn)."
            )
        return turns, notes
    turns = []
    bounds = [c.line_start for c in labels[1:]] + ([len(text)] if labels else [])
    if labels:
        start, end = _strip(text, 0, labels[0].line_start)
        if start < end:
            turns.append(Turn(start, end))
            notes.append("The text before the first speaker label has no speaker.")
    else:
        start, end = _strip(text, 0, len(text))
        if start < end:
            turns.append(Turn(start, end))
            notes.append(
                "No speaker labels were found; the document is one turn with no speaker.")
    for candidate, bound in zip(labels, bounds, strict=True):
        start, end = _strip(text, candidate.content_start, bound)
        if start < end:
            label = candidate.label
            turns.append(Turn(start, end, label.speaker, label.role, candidate.start_time))
    return turns, notes


def _interviewer_only_turns(text: str, labels: list[_Candidate]) -> list[Turn]:
    """Each labelled paragraph is a turn; numbered prompts are turns without a speaker;
    the other paragraphs, merged while consecutive, are the participant's."""
    turns: list[Turn] = []
    pending: tuple[int, int] | None = None  # the participant's paragraphs so far

    def emit(candidate: _Candidate | None, start: int, end: int) -> None:
        nonlocal pending
        start, end = _strip(text, start, end)
        if start >= end:
            return
        if candidate is None and not _NUMBERED_PROMPT.match(text, start, end):
            pending = (pending[0] if pending else start, end)
            return
        if pending is not None:
            turns.append(Turn(pending[0], pending[1], None, "participant"))
            pending = None
        if candidate is None:
            turns.append(Turn(start, end))  # a numbered task prompt
        else:
            label = candidate.label
            turns.append(Turn(start, end, label.speaker, label.role, candidate.start_time))

    next_label = 0
    for start, end in paragraph_spans(text, 0, len(text), paragraph_break(text)):
        # a label line inside a paragraph (no blank line before it) still starts a turn
        paragraph_line = text.rfind("\n", 0, start) + 1
        owner: _Candidate | None = None
        cursor = start
        while next_label < len(labels) and labels[next_label].line_start < end:
            candidate = labels[next_label]
            next_label += 1
            if candidate.line_start > paragraph_line:
                emit(owner, cursor, candidate.line_start)
            owner, cursor = candidate, candidate.content_start
        emit(owner, cursor, end)
    if pending is not None:
        turns.append(Turn(pending[0], pending[1], None, "participant"))
    return turns
