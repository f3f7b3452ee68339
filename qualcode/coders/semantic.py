"""The semantic coder: how close a segment is in meaning to each code's description.

Each code's definition, inclusion criteria and example quotes are embedded (sentence
embeddings, see :mod:`qualcode.coders.embeddings`). A segment's score for a code is the
highest cosine similarity between the segment (or one of its sentences) and any of that
code's texts; the code is suggested when the score reaches the code's threshold. No
training is needed, only a codebook whose codes are described.

Thresholds: one default (``threshold``), per-code overrides (``thresholds``), or, with
``calibrate=True``, chosen per code to maximise F1 against a person's accepted codings.

>>> coder = SemanticCoder(threshold=0.5).fit(project)         # doctest: +SKIP
>>> coder.suggest(project.segments(), cache=project)[0].reason  # doctest: +SKIP
'nearest example of attendance: "If they\\'re not in by ten ..." (similarity 0.61)'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from qualcode.coders.base import (
    BaseCoder,
    FitReport,
    Suggestion,
    embedding_cache,
    training_data_from,
)
from qualcode.coders.embeddings import DEFAULT_MODEL, embed, model_key, sentences_of
from qualcode.errors import CodebookError, parameter_error
from qualcode.model import Codebook, Segment

if TYPE_CHECKING:
    import numpy as np

    from qualcode.project import Project

__all__ = ["SemanticCoder", "code_texts"]

FIELDS = ("name", "definition", "include", "examples")
_LABEL = {"name": "name", "definition": "definition", "include": "inclusion criteria",
          "examples": "example"}


def code_texts(codebook: Codebook, code_ids: Sequence[str], use: Sequence[str]
               ) -> tuple[list[tuple[str, str, str]], list[str]]:
    """``(code, field, text)`` for every non-empty text of each code, and the codes that
    have none (they cannot be coded semantically)."""
    out, empty = [], []
    for code_id in code_ids:
        code = codebook.get(code_id)
        rows = []
        for field in use:
            if field == "examples":
                rows.extend((code_id, "examples", e) for e in code.examples if e.strip())
            elif field == "name":
                # An id-like name says little; only a name a person wrote is used.
                if code.name and code.name != code.id:
                    rows.append((code_id, "name", code.name))
            else:
                text = getattr(code, field)
                if text.strip():
                    rows.append((code_id, field, text.strip()))
        if not any(f != "name" for _, f, _ in rows):
            empty.append(code_id)
        out.extend(rows)
    return out, empty


class SemanticCoder(BaseCoder):
    """Suggest codes whose definition, criteria or examples a segment resembles.

    Parameters
    ----------
    model : a sentence-transformers model: ``all-MiniLM-L6-v2`` (default, offline) or a
        folder path.
    codes : code ids to use (default: the codebook's leaves).
    threshold : default cosine similarity a segment needs to be suggested a code (0.5).
    thresholds : per-code thresholds, ``{"attendance": 0.5}``, overriding ``threshold``.
    calibrate : choose each code's threshold to maximise F1 against accepted codings
        (of ``reference``; needs a project or training data in ``fit``).
    reference : whose accepted codings calibrate (a coder name; default every coder).
    max_codes : at most this many codes per segment, the most similar first (2).
    use : which texts of a code to compare with: ``definition``, ``include``,
        ``examples``, ``name``.
    sentences : also compare each sentence of a long segment (a turn often touches
        several things; its best sentence counts). Default True.
    skip_interviewer : leave interviewer turns uncoded (default True).
    batch_size : texts per encoding batch (64).
    device : ``cpu``, ``cuda``, ... (default: what torch picks).
    """

    method = "semantic"

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        codes: Sequence[str] | None = None,
        threshold: float = 0.5,
        thresholds: Mapping[str, float] | None = None,
        calibrate: bool = False,
        reference: str | None = None,
        max_codes: int = 2,
        use: Sequence[str] = ("definition", "include", "examples"),
        sentences: bool = True,
        skip_interviewer: bool = True,
        batch_size: int = 64,
        device: str | None = None,
    ) -> None:
        self.model = model
        self.codes = codes
        self.threshold = threshold
        self.thresholds = thresholds
        self.calibrate = calibrate
        self.reference = reference
        self.max_codes = max_codes
        self.use = use
        self.sentences = sentences
        self.skip_interviewer = skip_interviewer
        self.batch_size = batch_size
        self.device = device

    # -- fit -------------------------------------------------------------------------------
    def fit(self, project_or_data: Any = None, codebook: Codebook | None = None
            ) -> SemanticCoder:
        """Embed each code's texts (and calibrate thresholds when asked).

        ``project_or_data``: a project (its codebook; the embedding cache; codings to
        calibrate on), training data or ``(segments, codings)`` for calibration, or None
        with ``codebook=``.
        """
        import numpy as np

        self._check_number("threshold", -1.0, 1.0)
        self._check_number("max_codes", 1, 10_000, integer=True)
        bad = [f for f in self.use if f not in FIELDS]
        if bad or not self.use:
            raise parameter_error("use", "SemanticCoder", f"some of {', '.join(FIELDS)}",
                                  self.use)
        book = self._codebook_from(project_or_data, codebook)
        codes = self._select_codes(book)
        texts, empty = code_texts(book, codes, self.use)
        if empty:
            raise CodebookError(
                f"Code{'s' if len(empty) > 1 else ''} {', '.join(repr(c) for c in empty)} "
                "cannot be coded semantically: the coder compares segments with a code's "
                "definition, inclusion criteria and examples, and these have none. Add a "
                "definition or examples, leave the code out (codes=...), or use the auto "
                "method, which codes such codes by their keywords.",
                field="definition",
            )
        thresholds = {c: float(self.threshold) for c in codes}
        for code_id, value in (self.thresholds or {}).items():
            book.get(code_id)
            if not isinstance(value, (int, float)) or not -1.0 <= value <= 1.0:
                raise parameter_error("thresholds", "SemanticCoder",
                                      "a mapping of code ids to numbers in [-1, 1]",
                                      {code_id: value})
            if code_id in thresholds:
                thresholds[code_id] = float(value)

        cache = embedding_cache(project_or_data)
        vectors = embed([t for _, _, t in texts], model=self.model, cache=cache,
                        batch_size=self.batch_size, device=self.device)
        order = {c: i for i, c in enumerate(codes)}
        self.codebook_ = book
        self.codes_ = tuple(codes)
        self.code_texts_ = tuple(texts)
        self.code_vectors_ = vectors
        self.text_code_ = np.array([order[c] for c, _, _ in texts], dtype=np.int64)
        self.model_key_ = model_key(self.model)
        notes = [f"{len(texts)} code texts embedded with {self.model_key_}"]
        details: dict[str, dict[str, Any]] = {}
        if self.calibrate:
            data = training_data_from(project_or_data, coder=self.reference,
                                      where="SemanticCoder.fit(calibrate=True)")
            fitted = self._calibrated(data, thresholds, cache)
            for code_id, (value, f1, positives) in fitted.items():
                thresholds[code_id] = value
                details[code_id] = {"threshold": round(value, 4), "f1": round(f1, 4),
                                    "positives": positives}
            notes.append(f"thresholds calibrated for {len(fitted)} of {len(codes)} codes")
        self.thresholds_ = thresholds
        self.report_ = FitReport("semantic", {c: self.method for c in codes}, {},
                                 details, tuple(notes))
        return self

    def _calibrated(self, data: Any, thresholds: dict[str, float], cache: Project | None
                    ) -> dict[str, tuple[float, float, int]]:
        """Per code: (threshold, F1 at it, positives) chosen on labelled segments."""
        import numpy as np

        segments = self._segments_in(data.segments, self.skip_interviewer)
        labels = {s.key: lab for s, lab in zip(data.segments, data.labels(), strict=True)}
        if not segments:
            return {}
        scores, _, _ = self._scores(segments, cache)
        out = {}
        for j, code_id in enumerate(self.codes_):
            truth = np.array([code_id in labels[s.key] for s in segments])
            positives = int(truth.sum())
            if positives < 3:  # too few to choose a threshold; keep the default
                continue
            value, f1 = best_threshold(scores[:, j], truth)
            out[code_id] = (value, f1, positives)
        return out

    # -- suggest ---------------------------------------------------------------------------
    def _scores(self, segments: Sequence[Segment], cache: Project | None
                ) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
        """Per segment and code: the best similarity, the index of the code text giving it,
        and (per segment and code, flattened row-major) the sentence that gave it (None
        when the whole segment did)."""
        import numpy as np

        texts, starts = [], []
        for segment in segments:
            starts.append(len(texts))
            texts.append(segment.text)
            if self.sentences:
                parts = sentences_of(segment.text)
                if len(parts) > 1:  # a long turn: each sentence may match on its own
                    texts.extend(parts)
        starts.append(len(texts))
        vectors = embed(texts, model=self.model, cache=cache, batch_size=self.batch_size,
                        device=self.device)
        similarity = vectors @ self.code_vectors_.T  # cosine: both sides are normalised
        n_codes = len(self.codes_)
        piece_best = np.empty((len(texts), n_codes), dtype=np.float32)
        piece_text = np.empty((len(texts), n_codes), dtype=np.int64)
        for j in range(n_codes):
            columns = np.flatnonzero(self.text_code_ == j)
            block = similarity[:, columns]
            arg = block.argmax(axis=1)
            piece_best[:, j] = block[np.arange(len(texts)), arg]
            piece_text[:, j] = columns[arg]
        best = np.empty((len(segments), n_codes), dtype=np.float32)
        best_text = np.empty((len(segments), n_codes), dtype=np.int64)
        quoted: list[str | None] = []
        codes = np.arange(n_codes)
        for i in range(len(segments)):
            first, end = starts[i], starts[i + 1]
            winner = piece_best[first:end].argmax(axis=0) + first
            best[i] = piece_best[winner, codes]
            best_text[i] = piece_text[winner, codes]
            quoted.extend(None if k == first else texts[k] for k in winner.tolist())
        return best, best_text, quoted

    def suggest(
        self, segments: Iterable[Segment], *, cache: Project | None = None
    ) -> list[Suggestion]:
        """Suggestions for segments whose similarity to a code reaches its threshold.

        ``cache``: a project whose embedding cache is read and filled.
        """
        import numpy as np

        self._check_fitted()
        todo = self._segments_in(segments, self.skip_interviewer)
        if not todo:
            return []
        best, best_text, quoted = self._scores(todo, cache)
        n_codes = len(self.codes_)
        limits = np.array([self.thresholds_[c] for c in self.codes_], dtype=np.float32)
        out = []
        for i, segment in enumerate(todo):
            passing = np.flatnonzero(best[i] >= limits)
            if not passing.size:
                continue
            ranked = passing[np.argsort(-best[i, passing], kind="stable")][: self.max_codes]
            for j in ranked:
                code_id = self.codes_[j]
                similarity = float(best[i, j])
                limit = float(limits[j])
                confidence = 0.5 + 0.5 * (similarity - limit) / max(1.0 - limit, 1e-6)
                confidence = min(max(confidence, 0.0), 1.0)
                out.append(Suggestion(
                    segment, code_id, confidence,
                    self._reason(code_id, int(best_text[i, j]), similarity,
                                 quoted[i * n_codes + j]),
                    self.method, self.name,
                ))
        return out

    def _reason(self, code_id: str, text_index: int, similarity: float,
                sentence: str | None) -> str:
        _, field, text = self.code_texts_[text_index]
        which = "nearest example" if field == "examples" else f"closest to the {_LABEL[field]}"
        where = f', for "{_clip(sentence, 60)}"' if sentence else ""
        return (f'{which} of {code_id}: "{_clip(text)}" (similarity {similarity:.2f}'
                f"{where})")


def best_threshold(scores: Any, truth: Any) -> tuple[float, float]:
    """The score cut-off maximising F1 of ``scores >= cut`` against boolean ``truth``."""
    import numpy as np

    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    hits = np.cumsum(truth[order])
    predicted = np.arange(1, len(scores) + 1)
    positives = max(int(truth.sum()), 1)
    f1 = 2 * hits / (predicted + positives)
    # Only cut between distinct scores: equal scores are all in or all out.
    last_of_run = np.append(sorted_scores[1:] != sorted_scores[:-1], True)
    f1 = np.where(last_of_run, f1, -1.0)
    k = int(np.argmax(f1))
    return float(sorted_scores[k]), float(f1[k])


def _clip(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
