"""Read sources into documents and segments: transcripts, captions and survey answers.

>>> from qualcode.ingest import load_corpus, read_document        # doctest: +SKIP
>>> corpus = load_corpus("transcripts/", cases="cases.csv")      # doctest: +SKIP
>>> corpus.report.documents_without_cases                         # doctest: +SKIP
>>> source = read_document("AP05_dave.txt")                       # doctest: +SKIP
>>> [(t.speaker, t.role, t.start_time) for t in source.turns][:2]  # doctest: +SKIP
[('INTERVIEWER', 'interviewer', 4.0), ('Dave', 'participant', 12.0)]

Formats (one reader registry, :func:`register_reader`): ``.txt``/``.md`` transcripts with
speaker labels (:mod:`~qualcode.ingest.turns`), ``.docx``, ``.odt``, ``.vtt``/``.srt``
captions, and ``.csv``/``.tsv``/``.xlsx`` survey tables (one document per row).

The offset rule
---------------
Every offset is a character (code point) index into :attr:`Document.text`, which is
built as follows, so that the same file always gives the same offsets:

- text files (``.txt``, ``.md``, ``.vtt``, ``.srt``, ``.csv``) are decoded (see
  :mod:`~qualcode.ingest.encoding`) and normalised with
  :func:`qualcode.model.normalise_text`: the byte-order mark is dropped and ``\\r\\n`` and
  ``\\r`` become ``\\n`` *before* any offset is counted. A ``.md`` file's YAML front matter
  is cut off (it becomes attributes); the text starts after it.
- ``.docx``/``.odt``: paragraphs (tables' cells in order) joined by one blank line
  (``\\n\\n``); a line break inside a paragraph is ``\\n``; empty paragraphs are left out.
- ``.vtt``/``.srt``: one paragraph per merged turn, ``Speaker: text``, joined by ``\\n\\n``.
- survey tables: the answer cell, normalised.

A turn's ``[start, end)`` and a segment's are the turn's content: after the speaker label,
without surrounding whitespace.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from qualcode.ingest.base import (
    ParsedSource,
    ReaderInfo,
    Turn,
    read_document,
    read_documents,
    reader_for,
    register_reader,
    supported_suffixes,
)
from qualcode.ingest.cases import CasesTable, read_cases
from qualcode.ingest.corpus import IngestReport, LoadedCorpus, SkippedFile, load_corpus
from qualcode.ingest.encoding import decode_bytes
from qualcode.ingest.segment import segment_turns, sentence_spans
from qualcode.ingest.tables import read_table
from qualcode.ingest.turns import classify_label, parse_turns

__all__ = [
    "CasesTable",
    "IngestReport",
    "LoadedCorpus",
    "ParsedSource",
    "ReaderInfo",
    "SkippedFile",
    "Turn",
    "classify_label",
    "decode_bytes",
    "load_corpus",
    "parse_turns",
    "read_cases",
    "read_document",
    "read_documents",
    "read_table",
    "reader_for",
    "register_reader",
    "segment_turns",
    "sentence_spans",
    "supported_suffixes",
]


class _CallablePackage(types.ModuleType):
    """``qualcode.ingest`` names both this package and the notebook one-liner
    ``qualcode.ingest(project, paths, ...)``. Importing a subpackage sets it as an attribute
    of its parent, replacing the function, so calling the package does what the function
    does (:func:`qualcode.api.ingest`)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from qualcode.api import ingest

        return ingest(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
