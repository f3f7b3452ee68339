"""Light coders for the Dask engine tests (imported by the workers too: tests/ is on their
path, so a pickled coder of these classes unpickles there).

They load no language model, so a worker that restarts is ready at once.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from qualcode.coders.base import BaseCoder, Suggestion
from qualcode.model import content_hash


class KeywordCoder(BaseCoder):
    """Suggest a code when one of its keywords occurs in a segment (plain substrings).

    ``delay``: seconds to sleep per call (a slow coder, so a run is still going when a
    test kills a worker). ``kill_marker``: a file path; the first call that finds no file
    there creates it and kills its own process (a worker dying mid-partition).
    """

    method = "keywords"

    def __init__(self, *, delay: float = 0.0, kill_marker: str | None = None) -> None:
        self.delay = delay
        self.kill_marker = kill_marker

    def fit(self, project_or_data=None, codebook=None) -> KeywordCoder:
        book = self._codebook_from(project_or_data, codebook)
        self.keywords_ = {c.id: tuple(k.lower() for k in c.keywords) for c in book.leaves()
                          if c.keywords}
        return self

    def suggest(self, segments, *, cache=None) -> list[Suggestion]:
        self._check_fitted()
        if self.kill_marker is not None and not Path(self.kill_marker).exists():
            Path(self.kill_marker).write_text(str(os.getpid()), encoding="utf-8")
            os.kill(os.getpid(), signal.SIGKILL)
        if self.delay:
            time.sleep(self.delay)
        out = []
        for segment in self._segments_in(segments, True):
            text = segment.text.lower()
            for code_id, words in self.keywords_.items():
                hits = [w for w in words if w in text]
                if hits:
                    out.append(Suggestion(segment, code_id, 0.5, f'matched "{hits[0]}"',
                                          self.method, self.name))
        return out


class FakeEmbeddingCoder(BaseCoder):
    """Uses the embedding cache as the semantic coder does (``cached_embeddings`` then
    ``store_embeddings``), with made-up vectors; each reason says how many vectors this
    call had to compute."""

    method = "fake-embeddings"
    model = "fake-model"

    def __init__(self) -> None:
        pass  # no parameters

    def fit(self, project_or_data=None, codebook=None) -> FakeEmbeddingCoder:
        book = self._codebook_from(project_or_data, codebook)
        self.codes_ = tuple(c.id for c in book.leaves())
        return self

    def suggest(self, segments, *, cache=None) -> list[Suggestion]:
        todo = self._segments_in(segments, True)
        hashes = list(dict.fromkeys(content_hash(s.text) for s in todo))
        found = cache.cached_embeddings(self.model, hashes) if cache is not None else {}
        new = {h: bytes.fromhex(h) for h in hashes if h not in found}  # "embedding" it
        if cache is not None and new:
            cache.store_embeddings(self.model, new)
        vectors = {**found, **new}
        out = []
        for segment in todo:
            vector = vectors[content_hash(segment.text)]
            code = self.codes_[vector[0] % len(self.codes_)]
            out.append(Suggestion(segment, code, 0.5, f"computed {len(new)} vectors",
                                  self.method, self.name))
        return out


def load_lemmatiser() -> str:
    """Load spaCy's lemmatiser in this process (a worker), as the rules coder will."""
    from qualcode.nlp import english

    return english().source
