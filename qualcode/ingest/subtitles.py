"""Caption files: WebVTT (``.vtt``) and SubRip (``.srt``), as Zoom, Teams and
transcription services write them.

Each cue's speaker comes from a voice tag (``<v Anna Smith>``) or a ``Name:`` prefix
(the label grammar of :mod:`qualcode.ingest.turns`); consecutive cues with the same speaker
(or none) are merged into one turn that keeps the first cue's start and the last cue's end
time. Markup (``<i>``, ``<c.yellow>``, ``{\\an8}``, inline timestamps) is removed and HTML
entities are decoded.

The document text is a transcript built from the turns: ``Speaker: text`` (or the text
alone when the speaker is not known), one turn per paragraph, paragraphs separated by a
blank line, the cues of a turn joined by spaces. Times are not written into the text; they
are on the turns and segments.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from qualcode.errors import ReaderError
from qualcode.ingest.base import ParsedSource, Turn, register_reader
from qualcode.ingest.encoding import read_text_file
from qualcode.ingest.turns import classify_label

__all__ = ["read_srt", "read_vtt"]

_TIME = r"(?:\d+:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"  # hand-edited files drop the fraction
_TIMING = re.compile(rf"^[ \t]*({_TIME})[ \t]+-->[ \t]+({_TIME})(?:[ \t].*)?$")
# A timing line with its arrow mistyped ("->", "-- >", none): two times that cannot be
# clock times in a caption's words ("10:30 to 11:45"), joined by no more than punctuation.
_FULL_TIME = r"(?:\d+:\d{2}:\d{2}(?:[.,]\d{1,3})?|\d{1,2}:\d{2}[.,]\d{1,3})"
_TWO_TIMES = re.compile(rf"[ \t]*{_FULL_TIME}[^\w\n]*{_FULL_TIME}")
_BLOCKS = re.compile(r"(\n(?:[ \t]*\n)+)")  # captured: the line count goes on
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?[ \t]+([^>]*)>")
_TAG = re.compile(r"</?[A-Za-z][^>]*>|<\d[^>]*>|\{\\[^}]*\}")
_SPACE = re.compile(r"\s+")
_PREFIX = re.compile(r"^(?:>>[ \t]*)?([^:\n]{1,60}):[ \t]+")


@dataclass
class _Cue:
    start: float
    end: float
    speaker: str | None
    role: str | None
    text: str


def _seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    seconds = float(parts[-1])
    minutes = int(parts[-2])
    hours = int(parts[-3]) if len(parts) == 3 else 0
    return hours * 3600 + minutes * 60 + seconds


def _utterances(raw: str) -> list[tuple[str | None, str | None, str]]:
    """(speaker, role, text) of a cue's text: one per voice tag, else one."""
    voices = list(_VOICE.finditer(raw))
    pieces: list[tuple[str | None, str]] = []
    if voices:
        if raw[: voices[0].start()].strip():
            pieces.append((None, raw[: voices[0].start()]))
        for i, voice in enumerate(voices):
            stop = voices[i + 1].start() if i + 1 < len(voices) else len(raw)
            pieces.append((voice.group(1).strip() or None, raw[voice.end():stop]))
    else:
        pieces.append((None, raw))
    out: list[tuple[str | None, str | None, str]] = []
    for speaker, chunk in pieces:
        text = _SPACE.sub(" ", html.unescape(_TAG.sub("", chunk))).strip()
        role = None
        if speaker is None:
            prefix = _PREFIX.match(text)
            label = classify_label(prefix.group(1)) if prefix else None
            if prefix and label is not None:
                speaker, role = label.speaker, label.role
                text = text[prefix.end():].strip()
        else:
            label = classify_label(speaker)
            role = label.role if label is not None else "participant"
        if text:
            out.append((speaker, role, text))
    return out


def _parse_cues(text: str, path: Path, kind: str) -> list[_Cue]:
    cues: list[_Cue] = []
    pieces = _BLOCKS.split(text)
    line_number = 1
    for block, gap in zip(pieces[::2], [*pieces[1::2], ""], strict=True):
        block_line, line_number = line_number, line_number + block.count("\n") + gap.count("\n")
        lines = block.split("\n")
        timing_at = next((i for i, line in enumerate(lines[:3])
                          if "-->" in line or _TWO_TIMES.match(line)), None)
        if timing_at is None:
            continue  # the WEBVTT header, NOTE, STYLE and REGION blocks, stray text
        timing = _TIMING.match(lines[timing_at])
        if timing is None:  # skipping it would silently lose the cue's words
            raise ReaderError(
                f"This timing line cannot be read: {lines[timing_at].strip()!r}. A timing "
                "line is 'start --> end' with times such as 00:01:02.500 (hours optional); "
                "correct it in a text editor.",
                path=path, line=block_line + timing_at,
            )
        start, end = _seconds(timing.group(1)), _seconds(timing.group(2))
        raw = "\n".join(lines[timing_at + 1:])
        for speaker, role, utterance in _utterances(raw):
            cues.append(_Cue(start, end, speaker, role, utterance))
    if not cues:
        raise ReaderError(
            f"No cues with text were found; is this really a {kind} caption file? A cue "
            "is a timing line such as '00:00:01.000 --> 00:00:04.000' followed by its text.",
            path=path,
        )
    return cues


def _source(document_id: str, cues: list[_Cue], path: Path, fmt: str,
            encoding: str) -> ParsedSource:
    merged: list[_Cue] = []
    for cue in cues:
        if merged and merged[-1].speaker == cue.speaker:
            last = merged[-1]
            last.text = f"{last.text} {cue.text}"
            last.end = max(last.end, cue.end)
        else:
            merged.append(_Cue(cue.start, cue.end, cue.speaker, cue.role, cue.text))
    parts: list[str] = []
    turns: list[Turn] = []
    position = 0
    for cue in merged:
        if parts:
            parts.append("\n\n")
            position += 2
        prefix = f"{cue.speaker}: " if cue.speaker else ""
        parts.append(prefix + cue.text)
        start = position + len(prefix)
        position = start + len(cue.text)
        turns.append(Turn(start, position, cue.speaker, cue.role, cue.start, cue.end))
    return ParsedSource(document_id, "".join(parts), tuple(turns), {}, str(path), fmt, encoding)


@register_reader(".vtt")
def read_vtt(path: Path, *, document_id: str, encoding: str | None = None) -> list[ParsedSource]:
    """A WebVTT caption file."""
    text, used = read_text_file(path, encoding=encoding)
    if not text.lstrip().startswith("WEBVTT") and "-->" not in text:
        raise ReaderError(
            "This is not a WebVTT file: it should start with 'WEBVTT' and hold timed cues.",
            path=path,
        )
    return [_source(document_id, _parse_cues(text, path, "WebVTT"), path, "vtt", used)]


@register_reader(".srt")
def read_srt(path: Path, *, document_id: str, encoding: str | None = None) -> list[ParsedSource]:
    """A SubRip caption file."""
    text, used = read_text_file(path, encoding=encoding)
    return [_source(document_id, _parse_cues(text, path, "SubRip"), path, "srt", used)]
