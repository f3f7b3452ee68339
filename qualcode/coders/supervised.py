"""The supervised coder: classifiers learned from a person's accepted codings.

A code is *present* in a segment when any of the reference coder's accepted codings of it
overlaps the segment. For each code with enough examples, one logistic regression (class
weights balanced, since most segments lack any given code) learns presence from:

``text``        the segment's sentence embedding;
``sentences``   the element-wise maximum and the mean of the embeddings of its sentences
                (a long turn touches several things, and the model reads only its
                first 256 word pieces; one sentence can carry a code);
``definitions`` how close the segment, or its closest sentence, comes to each code's
                name, definition, inclusion criteria and examples in the codebook (what
                the semantic coder measures; zero without a codebook);
``neighbours``  the embeddings of the previous and the next segment (a line alone lacks
                the context a human coder had);
``prompt``      the embedding of the latest interviewer/moderator turn before it;
``task``        the numbered protocol prompt it answers (``"3.b Are the query input
                options clear to you?"``) and the top-level task above it (``"3 Submit
                a query"``): in a protocol-led session, what a participant talks about
                depends on the task (zero where a transcript has no numbered prompts);
``position``    where in the session it falls (tasks follow a protocol);
``form``        whether it is an interviewer turn, a stage direction "(...)", a question,
                and its length;
``tfidf``       the words and word pairs of the segment (TF-IDF).

Each code's decision threshold is chosen by cross-validation over documents (so a
session's neighbouring lines never sit on both sides of a split) to maximise Cohen's
kappa (or F1). Codes with fewer than ``min_examples`` positive segments are not learned:
``fit`` reports them, and the ``auto`` coder codes them another way.

Context features come from the segments passed together: give ``suggest`` whole
documents (all their segments, interviewer turns included), as
:func:`qualcode.coding.code_project` does.

>>> coder = SupervisedCoder(reference="alice").fit(project)   # doctest: +SKIP
>>> print(coder.report_)                                       # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from qualcode.coders.base import (
    BaseCoder,
    FitReport,
    Suggestion,
    _as_project,
    training_data_from,
)
from qualcode.coders.embeddings import DEFAULT_MODEL, embed, model_key, sentences_of
from qualcode.errors import ParameterError, parameter_error
from qualcode.model import Codebook, Segment

if TYPE_CHECKING:
    import numpy as np

    from qualcode.project import Project

__all__ = ["FEATURES", "SupervisedCoder"]

FEATURES = ("text", "sentences", "definitions", "neighbours", "prompt", "task", "position",
            "form", "tfidf")
# A few similarities beside thousands of other columns: weighted up so that the shared
# regularisation does not drown them (1, 3 and 8 tried on the shared study: 3 was best).
_DEFINITIONS_WEIGHT = 3.0
_POSITION_CENTRES = 11  # Gaussian bumps along the session, 0.1 apart
_BLOCK_LABEL = {
    "text": "the segment's meaning", "sentences": "one of its sentences",
    "definitions": "the codebook's definitions", "neighbours": "the neighbouring segments",
    "prompt": "the interviewer's last prompt", "task": "the task being attempted",
    "position": "its place in the session",
    "form": "its form (role, question, length)",
}


class SupervisedCoder(BaseCoder):
    """Learn each code from accepted codings; suggest it where the classifier is confident.

    Parameters
    ----------
    model : the sentence-transformers model for embeddings (default all-MiniLM-L6-v2).
    reference : whose accepted codings to learn from (a coder name, or a list; default
        every coder's accepted codings).
    codes : code ids to learn (default: every code with enough examples).
    features : which feature groups to use (see the module docstring).
    min_examples : fewest positive segments a code needs to be learned (8).
    C : inverse regularisation strength of the logistic regressions (2.0).
    cv : cross-validation folds for choosing thresholds (4, grouped by document).
    metric : ``kappa`` or ``f1``: what the thresholds maximise.
    max_rate : a threshold never lets a code be predicted, in cross-validation, more than
        this many times as often as the reference coder applied it (1.2; None: no cap).
        A weak classifier's best-kappa threshold tends to over-predict, and a code the
        machine suggests three times as often as people apply it costs reviewers time.
    max_codes : at most this many codes per segment (None: no limit).
    skip_interviewer : leave interviewer turns uncoded; None (default) decides from the
        training codings (kept when the reference coded interviewer turns).
    random_state : seed for the solver and the folds (0).
    batch_size, device : passed to the embedding model.
    """

    method = "supervised"

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        reference: str | Sequence[str] | None = None,
        codes: Sequence[str] | None = None,
        features: Sequence[str] = FEATURES,
        min_examples: int = 8,
        C: float = 2.0,
        cv: int = 4,
        metric: str = "kappa",
        max_rate: float | None = 1.2,
        max_codes: int | None = None,
        skip_interviewer: bool | None = None,
        random_state: int = 0,
        batch_size: int = 64,
        device: str | None = None,
    ) -> None:
        self.model = model
        self.reference = reference
        self.codes = codes
        self.features = features
        self.min_examples = min_examples
        self.C = C
        self.cv = cv
        self.metric = metric
        self.max_rate = max_rate
        self.max_codes = max_codes
        self.skip_interviewer = skip_interviewer
        self.random_state = random_state
        self.batch_size = batch_size
        self.device = device

    # -- fit -------------------------------------------------------------------------------
    def fit(self, project_or_data: Any, codebook: Codebook | None = None) -> SupervisedCoder:
        """Learn one classifier per code with enough examples.

        ``project_or_data``: a project (accepted codings of ``reference``; also the
        embedding cache), a :class:`~qualcode.coders.base.TrainingData`, or a
        ``(segments, codings)`` pair. ``codebook`` defaults to the project's; with
        training data and no codebook, the codes are those the codings use.
        """
        import numpy as np

        self._check_params()
        data = training_data_from(project_or_data, coder=self.reference,
                                  where="SupervisedCoder.fit()")
        book = self._optional_codebook(project_or_data, codebook)
        cache = _as_project(project_or_data)
        segments = _in_document_order(data.segments)
        if not segments or not data.codings:
            who = "" if self.reference is None else f" by {self.reference!r}"
            raise ParameterError(
                f"SupervisedCoder.fit() found no accepted codings{who} to learn from. Accept "
                "some codings first, or use the semantic or rules coder (or auto, which "
                "picks for each code)."
            )
        label_of = dict(zip((s.key for s in data.segments), data.labels(), strict=True))
        labels = [label_of[s.key] for s in segments]
        if book is not None:
            candidates = self._select_codes(book) if self.codes is not None else [
                c.id for c in book.leaves()]
        else:
            candidates = sorted(set().union(*labels)) if self.codes is None else list(self.codes)
        skip = self.skip_interviewer
        if skip is None:  # keep interviewer turns only if the reference coded some
            skip = not any(lab for s, lab in zip(segments, labels, strict=True)
                           if s.role == "interviewer")
        rows = np.array([not (skip and s.role == "interviewer") for s in segments])
        documents = np.array([s.document_id for s in segments])

        featuriser = _Featuriser(tuple(self.features), self.model, self.batch_size,
                                 self.device)
        matrix, vectors = featuriser.fit_transform(segments, rows, cache, book)
        matrix = matrix[rows]
        row_docs = documents[rows]
        row_vectors = vectors[rows]
        row_texts = [s.text for s, keep in zip(segments, rows, strict=True) if keep]

        classifiers, thresholds, examples = {}, {}, {}
        methods, skipped, details = {}, {}, {}
        for code_id in candidates:
            truth = np.array([code_id in lab for lab, keep in zip(labels, rows, strict=True)
                              if keep])
            positives = int(truth.sum())
            if positives < self.min_examples:
                skipped[code_id] = (f"{positives} example{'s' * (positives != 1)} "
                                    f"(needs {self.min_examples})")
                continue
            if positives == len(truth):
                skipped[code_id] = "present in every segment: nothing to tell apart"
                continue
            scores = self._cross_validated(matrix, truth, row_docs)
            threshold, score = _best_threshold(scores, truth, self.metric, self.max_rate)
            classifiers[code_id] = self._classifier().fit(matrix, truth)
            thresholds[code_id] = threshold
            where = np.flatnonzero(truth)
            examples[code_id] = (row_vectors[where], tuple(row_texts[i] for i in where))
            methods[code_id] = self.method
            details[code_id] = {"examples": positives, "threshold": round(threshold, 4),
                                f"cv_{self.metric}": round(score, 4)}

        self.codebook_ = book
        self.codes_ = tuple(methods)
        self.classifiers_ = classifiers
        self.thresholds_ = thresholds
        self.examples_ = examples
        self.featuriser_ = featuriser
        self.skip_interviewer_ = skip
        self.model_key_ = model_key(self.model)
        notes = [f"learned from {int(rows.sum())} segments in "
                 f"{len(set(row_docs.tolist()))} documents"]
        if skipped:
            notes.append(f"{len(skipped)} codes have too few examples: left to other methods")
        self.report_ = FitReport("supervised", methods, skipped, details, tuple(notes))
        return self

    def _check_params(self) -> None:
        bad = [f for f in self.features if f not in FEATURES]
        if bad or not self.features:
            raise parameter_error("features", "SupervisedCoder",
                                  f"some of {', '.join(FEATURES)}", self.features)
        self._check_number("min_examples", 2, 1_000_000, integer=True)
        self._check_number("C", 1e-9, 1e9)
        self._check_number("cv", 2, 100, integer=True)
        self._check_choice("metric", ("kappa", "f1"))
        if self.max_rate is not None:
            self._check_number("max_rate", 1.0, 1e6)
        if self.max_codes is not None:
            self._check_number("max_codes", 1, 10_000, integer=True)

    def _optional_codebook(self, project_or_data: Any, codebook: Codebook | None
                           ) -> Codebook | None:
        if codebook is not None or _as_project(project_or_data) is not None:
            return self._codebook_from(project_or_data, codebook)
        return None

    def _classifier(self) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C, class_weight="balanced", max_iter=3000,
                                  random_state=self.random_state)

    def _cross_validated(self, matrix: Any, truth: np.ndarray, documents: np.ndarray
                         ) -> np.ndarray:
        """Out-of-fold probabilities: folds group whole documents when there are enough."""
        import numpy as np
        from sklearn.model_selection import GroupKFold, StratifiedKFold

        n_documents = len(set(documents.tolist()))
        if n_documents >= 2:
            splitter = GroupKFold(n_splits=min(self.cv, n_documents))
            folds = splitter.split(matrix, truth, documents)
        else:
            n_splits = max(2, min(self.cv, int(truth.sum()), int((~truth).sum())))
            splitter = StratifiedKFold(n_splits=n_splits, shuffle=True,
                                       random_state=self.random_state)
            folds = splitter.split(matrix, truth)
        scores = np.zeros(len(truth))
        for train, held_out in folds:
            if truth[train].all() or not truth[train].any():
                scores[held_out] = truth[train].mean()  # a fold with one class: its rate
                continue
            model = self._classifier().fit(matrix[train], truth[train])
            scores[held_out] = model.predict_proba(matrix[held_out])[:, 1]
        return scores

    # -- suggest ---------------------------------------------------------------------------
    def suggest(
        self, segments: Iterable[Segment], *, cache: Project | None = None
    ) -> list[Suggestion]:
        """Suggestions where a code's classifier passes its threshold.

        Pass whole documents: neighbours and prompts are looked up among the segments
        given. ``cache``: a project whose embedding cache is read and filled.
        """
        import numpy as np

        self._check_fitted()
        given = self._segments_in(segments, False)
        if not given or not self.classifiers_:
            return []
        ordered = _in_document_order(given)
        rows = np.array([not (self.skip_interviewer_ and s.role == "interviewer")
                         for s in ordered])
        if not rows.any():
            return []
        matrix, vectors = self.featuriser_.transform(ordered, cache)
        matrix, vectors = matrix[rows], vectors[rows]
        targets = [s for s, keep in zip(ordered, rows, strict=True) if keep]
        probabilities = np.column_stack([
            self.classifiers_[c].predict_proba(matrix)[:, 1] for c in self.codes_
        ])
        limits = np.array([self.thresholds_[c] for c in self.codes_])
        by_key: dict[tuple[str, int, int], list[Suggestion]] = {}
        for i, segment in enumerate(targets):
            passing = np.flatnonzero(probabilities[i] >= limits)
            if not passing.size:
                continue
            ranked = passing[np.argsort(-(probabilities[i, passing] - limits[passing]),
                                        kind="stable")]
            if self.max_codes is not None:
                ranked = ranked[: self.max_codes]
            for j in ranked:
                code_id = self.codes_[j]
                p, limit = float(probabilities[i, j]), float(limits[j])
                confidence = min(1.0, max(0.0, 0.5 + 0.5 * (p - limit) / max(1 - limit, 1e-6)))
                reason = self._reason(code_id, p, limit, vectors[i], matrix[i])
                by_key.setdefault(segment.key, []).append(
                    Suggestion(segment, code_id, confidence, reason, self.method, self.name))
        # Back in the order the segments were given.
        return [s for segment in given for s in by_key.pop(segment.key, [])]

    def _reason(self, code_id: str, probability: float, limit: float, vector: Any,
                row: Any) -> str:
        import numpy as np

        parts = [f"classifier for {code_id}: p={probability:.2f} (threshold {limit:.2f})"]
        example_vectors, example_texts = self.examples_[code_id]
        if len(example_texts) and vector.any():
            similarity = example_vectors @ vector
            k = int(np.argmax(similarity))
            parts.append(f'nearest training example: "{_clip(example_texts[k])}" '
                         f"(similarity {float(similarity[k]):.2f})")
        strongest = self.featuriser_.strongest(self.classifiers_[code_id], row)
        if strongest:
            parts.append("strongest features: " + ", ".join(strongest))
        return "; ".join(parts)


class _Featuriser:
    """Turns segments (in document order) into the feature matrix the classifiers use."""

    def __init__(self, features: tuple[str, ...], model: str, batch_size: int,
                 device: str | None) -> None:
        self.features = features
        self.model = model
        self.batch_size = batch_size
        self.device = device
        self.tfidf: Any = None
        self.words: Any = None
        self.blocks: list[tuple[str, int, int]] = []  # (feature, first column, end column)
        self.definition_codes: list[str] = []
        self.definition_column: list[int] = []
        self.definition_vectors: Any = None

    def fit_transform(self, segments: Sequence[Segment], rows: Any, cache: Project | None,
                      codebook: Codebook | None = None) -> tuple[Any, Any]:
        if "definitions" in self.features and codebook is not None:
            from qualcode.coders.semantic import FIELDS, code_texts

            rows_of_texts, _ = code_texts(codebook, [c.id for c in codebook.leaves()], FIELDS)
            if rows_of_texts:
                codes = list(dict.fromkeys(code for code, _, _ in rows_of_texts))
                self.definition_codes = codes
                self.definition_column = [codes.index(code) for code, _, _ in rows_of_texts]
                self.definition_vectors = embed(
                    [text for _, _, text in rows_of_texts], model=self.model, cache=cache,
                    batch_size=self.batch_size, device=self.device)
        if "tfidf" in self.features:
            from sklearn.feature_extraction.text import TfidfVectorizer

            texts = [s.text for s, keep in zip(segments, rows, strict=True) if keep]
            # min_df=2: a word seen once teaches nothing that generalises.
            self.tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                                         dtype=_float32())
            try:
                self.tfidf.fit(texts)
            except ValueError:  # too few texts for min_df=2: keep every word
                self.tfidf.set_params(min_df=1).fit(texts)
            self.words = self.tfidf.get_feature_names_out()
        matrix, vectors, self.blocks = self._features(segments, cache)
        return matrix, vectors

    def transform(self, segments: Sequence[Segment], cache: Project | None
                  ) -> tuple[Any, Any]:
        """(sparse feature matrix, segment embeddings) for segments in document order."""
        matrix, vectors, _ = self._features(segments, cache)
        return matrix, vectors

    def _features(self, segments: Sequence[Segment], cache: Project | None
                  ) -> tuple[Any, Any, list[tuple[str, int, int]]]:
        import numpy as np
        from scipy import sparse

        needs_vectors = {"text", "sentences", "definitions", "neighbours", "prompt", "task"
                         } & set(self.features)
        if needs_vectors:
            vectors = embed([s.text for s in segments], model=self.model, cache=cache,
                            batch_size=self.batch_size, device=self.device)
        else:
            vectors = np.zeros((len(segments), 1), dtype=np.float32)
        pieces = None
        if {"sentences", "definitions"} & set(self.features):
            pieces = self._pieces(segments, cache)
        parts, blocks, column = [], [], 0
        for feature in self.features:
            if feature == "tfidf":
                block = self.tfidf.transform([s.text for s in segments])
            elif feature == "sentences":
                block = sparse.csr_matrix(_pooled(vectors, *pieces))
            elif feature == "definitions":
                block = sparse.csr_matrix(_DEFINITIONS_WEIGHT
                                          * self._definitions(vectors, *pieces))
            elif feature == "text":
                block = sparse.csr_matrix(vectors)
            else:
                block = sparse.csr_matrix(_context(feature, segments, vectors))
            parts.append(block)
            blocks.append((feature, column, column + block.shape[1]))
            column += block.shape[1]
        return sparse.hstack(parts, format="csr", dtype=np.float64), vectors, blocks

    def _pieces(self, segments: Sequence[Segment], cache: Project | None
                ) -> tuple[Any, Any]:
        """Embeddings of the sentences of segments with more than one, and the row of the
        segment each belongs to."""
        import numpy as np

        pieces, owner = [], []
        for i, segment in enumerate(segments):
            parts = sentences_of(segment.text)
            if len(parts) > 1:
                pieces.extend(parts)
                owner.extend([i] * len(parts))
        if not pieces:
            return np.zeros((0, 1), dtype=np.float32), np.zeros(0, dtype=int)
        vectors = embed(pieces, model=self.model, cache=cache, batch_size=self.batch_size,
                        device=self.device)
        return vectors, np.array(owner)

    def _definitions(self, vectors: Any, piece_vectors: Any, owner: Any) -> Any:
        """Per segment and code: the highest similarity between the segment or one of its
        sentences and any of the code's texts."""
        import numpy as np

        n_codes = len(self.definition_codes)
        if not n_codes:
            return np.zeros((len(vectors), 0), dtype=np.float32)
        column = np.array(self.definition_column)

        def per_code(similarity: Any) -> Any:
            out = np.full((len(similarity), n_codes), -1.0, dtype=np.float32)
            for j in range(n_codes):
                out[:, j] = similarity[:, column == j].max(axis=1)
            return out

        best = per_code(vectors @ self.definition_vectors.T)
        if len(owner):
            pieces = per_code(piece_vectors @ self.definition_vectors.T)
            np.maximum.at(best, owner, pieces)
        return best

    def strongest(self, classifier: Any, row: Any, top: int = 3) -> list[str]:
        """The feature groups (and words) pushing this row hardest towards the code."""
        import numpy as np

        dense = row.toarray().ravel()
        contribution = classifier.coef_.ravel() * dense
        named: list[tuple[float, str]] = []
        for feature, start, end in self.blocks:
            if feature == "tfidf":
                words = self.words
                block = contribution[start:end]
                for k in np.argsort(-block)[:top]:
                    if block[k] > 0:
                        named.append((float(block[k]), f'the words "{words[k]}"'))
            else:
                total = float(contribution[start:end].sum())
                if total > 0:
                    named.append((total, _BLOCK_LABEL[feature]))
        named.sort(key=lambda x: -x[0])
        return [name for _, name in named[:top]]


def _pooled(vectors: Any, piece_vectors: Any, owner: Any) -> Any:
    """The element-wise maximum and the mean of each segment's sentence embeddings (its
    own embedding, twice, when it has one sentence)."""
    import numpy as np

    width = vectors.shape[1]
    out = np.concatenate([vectors, vectors], axis=1).astype(np.float32)
    if len(owner):
        starts = np.concatenate([[0], np.flatnonzero(np.diff(owner)) + 1])
        rows = owner[starts]
        out[rows, :width] = np.maximum.reduceat(piece_vectors, starts)
        counts = np.diff(np.append(starts, len(owner)))[:, None]
        out[rows, width:] = np.add.reduceat(piece_vectors, starts) / counts
    return out


def _context(feature: str, segments: Sequence[Segment], vectors: Any) -> Any:
    """Dense context features for segments in document order."""
    import numpy as np

    n = len(segments)
    if feature == "neighbours":
        out = np.zeros((n, 2 * vectors.shape[1]), dtype=np.float32)
        width = vectors.shape[1]
        for i in range(n):
            if i > 0 and segments[i - 1].document_id == segments[i].document_id:
                out[i, :width] = vectors[i - 1]
            if i + 1 < n and segments[i + 1].document_id == segments[i].document_id:
                out[i, width:] = vectors[i + 1]
        return out
    if feature == "prompt":
        out = np.zeros_like(vectors)
        last, document = None, None
        for i, segment in enumerate(segments):
            if segment.document_id != document:
                last, document = None, segment.document_id
            if last is not None:
                out[i] = vectors[last]
            if segment.role == "interviewer":
                last = i
        return out
    if feature == "task":
        from qualcode.ingest.turns import numbered_prompt

        width = vectors.shape[1]
        out = np.zeros((n, 2 * width), dtype=np.float32)
        task = top = None
        for i, segment in enumerate(segments):
            if i == 0 or segments[i - 1].document_id != segment.document_id:
                task = top = None
            if task is not None:
                out[i, :width] = vectors[task]
            if top is not None:
                out[i, width:] = vectors[top]
            level = (numbered_prompt(segment.text)
                     if segment.role is None and segment.speaker is None else None)
            if level is not None:
                task = i
                if level == 1:
                    top = i
        return out
    if feature == "position":
        positions = np.zeros(n)
        start = 0
        for i in range(1, n + 1):
            if i == n or segments[i].document_id != segments[start].document_id:
                size = i - start
                positions[start:i] = np.arange(size) / max(size - 1, 1)
                start = i
        centres = np.linspace(0.0, 1.0, _POSITION_CENTRES)
        return np.exp(-((positions[:, None] - centres[None, :]) ** 2) / (2 * 0.05**2))
    if feature == "form":
        return np.array([
            [segment.role == "interviewer",
             segment.text.lstrip().startswith("("),
             segment.text.rstrip().endswith("?"),
             math.log1p(len(segment.text)) / 10.0]
            for segment in segments
        ], dtype=np.float64)
    raise AssertionError(feature)


def _in_document_order(segments: Iterable[Segment]) -> list[Segment]:
    """Segments grouped by document (first appearance), each document in text order."""
    first_seen: dict[str, int] = {}
    for segment in segments:
        first_seen.setdefault(segment.document_id, len(first_seen))
    return sorted(segments, key=lambda s: (first_seen[s.document_id], s.start, s.end))


def _best_threshold(scores: Any, truth: Any, metric: str, max_rate: float | None = None
                    ) -> tuple[float, float]:
    """The probability cut-off maximising kappa or F1 of ``scores >= cut``, among those
    predicting at most ``max_rate`` times as many positives as ``truth`` holds."""
    import numpy as np

    n = len(truth)
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    tp = np.cumsum(truth[order]).astype(float)
    predicted = np.arange(1, n + 1, dtype=float)
    positives = float(truth.sum())
    fp = predicted - tp
    fn = positives - tp
    tn = n - tp - fp - fn
    if metric == "f1":
        values = 2 * tp / (predicted + positives)
    else:
        observed = (tp + tn) / n
        expected = (predicted * positives + (n - predicted) * (n - positives)) / (n * n)
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(expected < 1, (observed - expected) / (1 - expected), 0.0)
    # Cut only between distinct scores; equal scores are all in or all out.
    last_of_run = np.append(sorted_scores[1:] != sorted_scores[:-1], True)
    values = np.where(last_of_run, values, -np.inf)
    if max_rate is not None:
        allowed = predicted <= max(1.0, max_rate * positives)
        if (allowed & np.isfinite(values)).any():
            values = np.where(allowed, values, -np.inf)
    k = int(np.argmax(values))
    # Midway to the next lower score: a little room for unseen data.
    below = sorted_scores[k + 1] if k + 1 < n else sorted_scores[k]
    return float((sorted_scores[k] + below) / 2), float(values[k])


def _float32() -> Any:
    import numpy as np

    return np.float32


def _clip(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
