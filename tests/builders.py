"""Small builders the tests share (imported as `builders`; tests/ is on pythonpath)."""

from __future__ import annotations

from qualcode.model import Corpus, Document, Segment


def make_corpus(texts: dict[str, str]) -> Corpus:
    """Documents whose turns are their non-empty lines (``Speaker: text``)."""
    documents, segments = [], []
    for doc_id, text in texts.items():
        document = Document(doc_id, text)
        documents.append(document)
        offset = 0
        for line in text.split("\n"):
            speaker, _, _ = line.partition(": ")
            start = offset + len(speaker) + 2
            if line.strip():
                segments.append(Segment.of(
                    document, start, offset + len(line), index=len(
                        [s for s in segments if s.document_id == doc_id]),
                    speaker=speaker,
                    role="interviewer" if speaker == "INTERVIEWER" else "participant"))
            offset += len(line) + 1
    return Corpus(tuple(documents), tuple(segments))
