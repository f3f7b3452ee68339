"""Plain-text transcripts: ``.txt`` and ``.md``.

The document text is the file's decoded, normalised text. A Markdown file may open with
YAML front matter (``---`` lines around ``key: value`` pairs): its values become case
attributes and the document text starts after it. Speaker turns follow the label grammar
of :mod:`qualcode.ingest.turns`.
"""

from __future__ import annotations

import re
from pathlib import Path

from qualcode.errors import ReaderError
from qualcode.ingest.base import ParsedSource, register_reader
from qualcode.ingest.encoding import read_text_file
from qualcode.ingest.turns import parse_turns

__all__ = ["read_markdown", "read_text", "source_from_text"]

TRANSCRIPT_OPTIONS = ("unlabelled",)

# Front matter opens with "key: value"; a file that merely starts with a horizontal rule
# ("---") is text.
_KEY_LINE = re.compile(r"[A-Za-z_][\w \-]*:(?:[ \t]|$)", re.MULTILINE)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)


def source_from_text(
    document_id: str,
    text: str,
    path: str | Path | None,
    format: str,
    *,
    encoding: str | None = None,
    attributes: dict[str, str] | None = None,
    unlabelled: str = "auto",
) -> ParsedSource:
    """A :class:`ParsedSource` for transcript ``text`` (already normalised), turns parsed."""
    turns, notes = parse_turns(text, unlabelled=unlabelled)
    return ParsedSource(
        document_id, text, tuple(turns), attributes or {},
        None if path is None else str(path), format, encoding, tuple(notes),
    )


@register_reader(".txt", ".text", options=TRANSCRIPT_OPTIONS)
def read_text(path: Path, *, document_id: str, encoding: str | None = None,
              unlabelled: str = "auto") -> list[ParsedSource]:
    """A plain-text transcript."""
    text, used = read_text_file(path, encoding=encoding)
    return [source_from_text(document_id, text, path, "txt", encoding=used,
                             unlabelled=unlabelled)]


@register_reader(".md", ".markdown", options=TRANSCRIPT_OPTIONS)
def read_markdown(path: Path, *, document_id: str, encoding: str | None = None,
                  unlabelled: str = "auto") -> list[ParsedSource]:
    """A Markdown transcript, with optional YAML front matter as case attributes."""
    text, used = read_text_file(path, encoding=encoding)
    attributes: dict[str, str] = {}
    match = _FRONT_MATTER.match(text)
    if match and _KEY_LINE.match(match.group(1) or ""):
        attributes = _front_matter(match.group(1) or "", path)
        text = text[match.end():]
        if not text.strip():
            raise ReaderError("The file holds front matter but no transcript text.", path=path)
    return [source_from_text(document_id, text, path, "md", encoding=used,
                             attributes=attributes, unlabelled=unlabelled)]


def _front_matter(block: str, path: Path) -> dict[str, str]:
    import yaml

    try:
        data = yaml.safe_load(block) if block.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ReaderError(
            "The front matter (between the opening '---' lines) is not valid YAML; fix it "
            "or remove it.",
            path=path, line=None if mark is None else mark.line + 2,
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ReaderError(
            "The front matter must be 'key: value' lines (case attributes).", path=path, line=2
        )
    out = {}
    for key, value in data.items():
        if value is None or isinstance(value, (dict, list)):
            continue
        out[str(key)] = str(value)
    return out
