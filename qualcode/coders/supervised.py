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
kappa (or F1).

Settings are chosen honestly, inside the training data, never by looking at the
documents to be coded. By default (``"auto"``) one classifier per code is fitted for each
regularisation ``C`` (2, 0.5, 8) and weight of the ``definitions`` features (3, 1), and
their probabilities are averaged (``combine="average"``: steadier than picking one on a
few documents); the cap ``max_rate`` on how often a code may be predicted (1.2, 1, 1.5,
2, none) is then chosen by grouped cross-validation over the training documents (a
document's segments never sit on both sides of a split): each fold is coded with
thresholds chosen on the other folds alone, and the candidate with the best macro kappa
(or F1) over the codes wins. ``combine="select"`` chooses ``C`` and the weight the same
way instead of averaging. The fitted coder shows what it used, and why, in ``chosen_``
and ``selection_``. With fewer than three training documents there are too few for
grouped folds: nothing is chosen, the first ``max_rate`` candidate is used (and, with
``"select"``, the first of the others; ``chosen_["selected"]`` is False).

Codes with fewer than ``min_examples`` positive segments are not learned: ``fit``
reports them, and the ``auto`` coder codes them another way.

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
    embedding_cache,
    training_data_from,
)
from qualcode.coders.embeddings import DEFAULT_MODEL, embed, model_key, sentences_of
from qualcode.errors import ParameterError, parameter_error
from qualcode.model import Codebook, Segment

if TYPE_CHECKING:
    from qualcode.project import Project

__all__ = ["AUTO_GRIDS", "FEATURES", "SupervisedCoder"]

FEATURES = ("text", "sentences", "definitions", "neighbours", "prompt", "task", "position",
            "form", "tfidf")
# The candidates of an "auto" setting: averaged over (C, definitions_weight with
# combine="average") or chosen by grouped cross-validation inside the training data. The
# first of each is used when there are too few documents to choose (and wins ties). The
# definitions are a few similarities beside thousands of other columns: weighting them up
# keeps the shared regularisation from drowning them.
AUTO_GRIDS: dict[str, tuple[Any, ...]] = {
    "C": (2.0, 0.5, 8.0),
    "max_rate": (1.2, 1.0, 1.5, 2.0, None),
    "definitions_weight": (3.0, 1.0),
}
_MIN_SELECTION_DOCUMENTS = 3  # grouped folds need a few documents to say anything
_REDUCE_MAX_ROWS = 3000  # fit in the span of the training rows up to this many rows
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
    C : inverse regularisation strength of the logistic regressions: a number, a list of
        candidates, or ``"auto"`` (default: ``AUTO_GRIDS["C"]``, 2, 0.5 and 8; see
        ``combine``).
    cv : cross-validation folds for choosing thresholds and settings (4, grouped by
        document).
    metric : ``kappa`` or ``f1``: what the thresholds, and the settings, maximise.
    max_rate : a threshold never lets a code be predicted, in cross-validation, more than
        this many times as often as the reference coder applied it (None: no cap). A
        number, None, a list of candidates, or ``"auto"`` (default: chosen from 1.2, 1.0,
        1.5, 2 and None). A weak classifier's best-kappa threshold tends to over-predict,
        and a code the machine suggests three times as often as people apply it costs
        reviewers time.
    definitions_weight : how much the ``definitions`` features are scaled up beside the
        others: a number, a list of candidates, or ``"auto"`` (3 and 1).
    combine : what to do with several candidates of ``C`` and ``definitions_weight``:
        ``"average"`` (default) fits a classifier with each combination and averages
        their probabilities; ``"select"`` keeps the combination whose cross-validated
        macro score is best. ``max_rate`` candidates are always selected.
    max_codes : at most this many codes per segment (None: no limit).
    skip_interviewer : leave interviewer turns uncoded; None (default) decides from the
        training codings (kept when the reference coded interviewer turns).
    random_state : seed for the solver and the folds (0).
    batch_size, device : passed to the embedding model.

    After ``fit``, ``chosen_`` holds the settings used (``C``, ``max_rate``,
    ``definitions_weight``: a tuple where classifiers were averaged), whether they were
    chosen by cross-validation (``selected``), over how many documents and folds, and the
    cross-validated macro score of the winner; ``selection_`` lists every combination
    tried with its score (best first).
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
        C: float | Sequence[float] | str = "auto",
        cv: int = 4,
        metric: str = "kappa",
        max_rate: float | Sequence[float | None] | str | None = "auto",
        definitions_weight: float | Sequence[float] | str = "auto",
        combine: str = "average",
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
        self.definitions_weight = definitions_weight
        self.combine = combine
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
        cache = embedding_cache(project_or_data)
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

        truths, skipped = {}, {}
        for code_id in candidates:
            truth = np.array([code_id in lab for lab, keep in zip(labels, rows, strict=True)
                              if keep])
            positives = int(truth.sum())
            if positives < self.min_examples:
                skipped[code_id] = (f"{positives} example{'s' * (positives != 1)} "
                                    f"(needs {self.min_examples})")
            elif positives == len(truth):
                skipped[code_id] = "present in every segment: nothing to tell apart"
            else:
                truths[code_id] = truth

        with _one_thread():  # small problems: BLAS threads only contend
            best, scores, spaces = self._choose(matrix, featuriser, truths, row_docs)
            members = best["members"]
            classifiers, thresholds, examples = {}, {}, {}
            methods, details = {}, {}
            for code_id, truth in truths.items():
                threshold, score = _best_threshold(scores[code_id], truth, self.metric,
                                                   best["max_rate"])
                classifiers[code_id] = tuple(
                    spaces[weight].original(self._classifier(C).fit(spaces[weight].rows,
                                                                    truth))
                    for weight, C in members)
                thresholds[code_id] = threshold
                where = np.flatnonzero(truth)
                examples[code_id] = (row_vectors[where], tuple(row_texts[i] for i in where))
                methods[code_id] = self.method
                details[code_id] = {"examples": int(truth.sum()),
                                    "threshold": round(threshold, 4),
                                    f"cv_{self.metric}": round(score, 4)}

        self.codebook_ = book
        self.codes_ = tuple(methods)
        self.members_ = members
        self.classifiers_ = classifiers
        self.thresholds_ = thresholds
        self.examples_ = examples
        self.featuriser_ = featuriser
        self.weights_ = {code_id: self._weights(code_id) for code_id in classifiers}
        self.skip_interviewer_ = skip
        self.model_key_ = model_key(self.model)
        notes = [f"learned from {int(rows.sum())} segments in "
                 f"{len(set(row_docs.tolist()))} documents", self._chosen_note()]
        if skipped:
            notes.append(f"{len(skipped)} codes have too few examples: left to other methods")
        self.report_ = FitReport("supervised", methods, skipped, details, tuple(notes))
        return self

    def _choose(self, matrix: Any, featuriser: _Featuriser, truths: dict[str, Any],
                documents: Any) -> tuple[dict[str, Any], dict[str, Any], dict[float, _Space]]:
        """The settings to use, each code's out-of-fold scores under them, and the
        training rows under each definitions weight they use.

        Every candidate classifier (a ``definitions_weight`` and a ``C``) gets out-of-fold
        scores from folds grouping whole training documents. ``combine="select"``: each
        one is a combination; ``"average"``: their mean probability is the only one. Each
        combination, under each ``max_rate``, codes each fold with thresholds chosen on
        the other folds alone; the best macro ``metric`` over the codes of the pooled
        folds decides (the first combination wins ties). Sets ``chosen_`` and
        ``selection_``.
        """
        import numpy as np

        grids = {name: self._candidates(name) for name in AUTO_GRIDS}
        if not any(f == "definitions" and end > start for f, start, end in featuriser.blocks):
            # No definition columns (no codebook, or not a feature): weights change nothing.
            grids["definitions_weight"] = grids["definitions_weight"][:1]
        members = [(w, C) for w in grids["definitions_weight"] for C in grids["C"]]
        average = self.combine == "average"
        groups = [tuple(members)] if average else [(m,) for m in members]
        n_documents = len(set(documents.tolist()))
        n_folds = min(self.cv, n_documents)
        tried = len(groups) * len(grids["max_rate"])
        why = None
        if tried > 1 and n_documents < _MIN_SELECTION_DOCUMENTS:
            why = (f"{n_documents} training document{'s' * (n_documents != 1)}: too few "
                   f"for grouped folds (needs {_MIN_SELECTION_DOCUMENTS})")
        elif tried > 1 and not truths:
            why = "no code has enough examples"
        if why is not None:  # the first candidates (all of them, averaged)
            groups, grids["max_rate"] = groups[:1], grids["max_rate"][:1]
        select = why is None and tried > 1
        shared_folds = None
        if n_documents >= 2:
            from sklearn.model_selection import GroupKFold

            shared_folds = list(GroupKFold(n_splits=n_folds).split(
                documents, groups=documents))

        def folds_of(truth: Any) -> list[tuple[Any, Any]]:
            return shared_folds if shared_folds is not None else self._stratified(truth)

        used = sorted({m for group in groups for m in group}, key=members.index)
        spaces = {w: _Space(featuriser.weighted(matrix, w)) for w in dict.fromkeys(
            w for w, _ in used)}
        out_of_fold = {
            (w, C): {code: self._out_of_fold(spaces[w].rows, truth, folds_of(truth), C)
                     for code, truth in truths.items()}
            for w, C in used}
        key = f"cv_{self.metric}"
        selection: list[dict[str, Any]] = []
        best: dict[str, Any] = {}
        for group in groups:
            scores = {code: np.mean([out_of_fold[m][code] for m in group], axis=0)
                      for code in truths}
            for rate in grids["max_rate"]:
                row = {"C": _one_or_all([C for _, C in group]), "max_rate": rate,
                       "definitions_weight": _one_or_all([w for w, _ in group])}
                if select:
                    row[key] = float(np.mean([
                        _held_out_score(scores[code], truth, shared_folds, self.metric,
                                        rate)
                        for code, truth in truths.items()]))
                if not best or (select and row[key] > best["row"][key]):
                    best = {"row": row, "scores": scores, "members": group}
                selection.append(row)
        row = best["row"]
        self.chosen_ = {
            "C": row["C"], "max_rate": row["max_rate"],
            "definitions_weight": row["definitions_weight"], "combine": self.combine,
            "selected": select, "documents": n_documents,
            "folds": n_folds if select else None, key: row.get(key),
            "combinations": len(selection) if select else 1,
        }
        if why is not None:
            self.chosen_["reason"] = why
        self.selection_ = tuple(sorted(selection, key=lambda r: -r[key])) if select else ()
        return ({"max_rate": row["max_rate"], "members": tuple(best["members"])},
                best["scores"], spaces)

    def _chosen_note(self) -> str:
        chosen = self.chosen_
        settings = ", ".join(f"{name}={chosen[name]!r}" for name in AUTO_GRIDS)
        if len(self.members_) > 1:
            settings += f" (probabilities of {len(self.members_)} classifiers averaged)"
        if chosen["selected"]:
            return (f"settings chosen by grouped cross-validation over "
                    f"{chosen['documents']} documents ({chosen['folds']} folds, "
                    f"{chosen['combinations']} combinations): {settings} (cross-validated "
                    f"macro {self.metric} {chosen[f'cv_{self.metric}']:.3f})")
        if "reason" in chosen:
            return f"settings not chosen ({chosen['reason']}): {settings}"
        return f"settings: {settings}"

    def _candidates(self, name: str) -> tuple[Any, ...]:
        """The values a setting may take: its "auto" grid, the list given, or the one value."""
        value = getattr(self, name)
        if isinstance(value, str):
            if value == "auto":
                return AUTO_GRIDS[name]
            values: Any = None
        elif isinstance(value, (list, tuple)):
            values = tuple(value) if value else None
        else:
            values = (value,)
        low = 1.0 if name == "max_rate" else 1e-9
        if values is not None and all(
                (v is None and name == "max_rate")
                or (isinstance(v, (int, float)) and not isinstance(v, bool)
                    and not math.isnan(v) and low <= v <= 1e9) for v in values):
            return tuple(v if v is None else float(v) for v in values)
        what = "None, " if name == "max_rate" else ""
        raise parameter_error(name, "SupervisedCoder",
                              f'"auto", {what}a number in [{low}, 1e9] or a list of them',
                              value)

    def _check_params(self) -> None:
        bad = [f for f in self.features if f not in FEATURES]
        if bad or not self.features:
            raise parameter_error("features", "SupervisedCoder",
                                  f"some of {', '.join(FEATURES)}", self.features)
        self._check_number("min_examples", 2, 1_000_000, integer=True)
        self._check_number("cv", 2, 100, integer=True)
        self._check_choice("metric", ("kappa", "f1"))
        self._check_choice("combine", ("average", "select"))
        for name in AUTO_GRIDS:
            self._candidates(name)
        if self.max_codes is not None:
            self._check_number("max_codes", 1, 10_000, integer=True)

    def _optional_codebook(self, project_or_data: Any, codebook: Codebook | None
                           ) -> Codebook | None:
        if codebook is not None or _as_project(project_or_data) is not None:
            return self._codebook_from(project_or_data, codebook)
        return None

    def _classifier(self, C: float) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=C, class_weight="balanced", max_iter=3000,
                                  random_state=self.random_state)

    def _stratified(self, truth: Any) -> list[tuple[Any, Any]]:
        """Folds for one document's segments: stratified by the code (context features
        then leak between folds: a fallback)."""
        from sklearn.model_selection import StratifiedKFold

        n_splits = max(2, min(self.cv, int(truth.sum()), int((~truth).sum())))
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True,
                                   random_state=self.random_state)
        return list(splitter.split(truth, truth))

    def _out_of_fold(self, rows: Any, truth: Any, folds: list[tuple[Any, Any]], C: float
                     ) -> Any:
        """Out-of-fold probabilities of the code."""
        import numpy as np

        scores = np.zeros(len(truth))
        for train, held_out in folds:
            if truth[train].all() or not truth[train].any():
                scores[held_out] = truth[train].mean()  # a fold with one class: its rate
                continue
            model = self._classifier(C).fit(rows[train], truth[train])
            scores[held_out] = model.predict_proba(rows[held_out])[:, 1]
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
        weighted = {w: self.featuriser_.weighted(matrix, w)
                    for w in dict.fromkeys(w for w, _ in self.members_)}
        probabilities = np.column_stack([np.mean([
            model.predict_proba(weighted[w])[:, 1]
            for (w, _), model in zip(self.members_, self.classifiers_[c], strict=True)
        ], axis=0) for c in self.codes_])
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

    def _weights(self, code_id: str) -> Any:
        """The code's feature weights on the featuriser's columns (the mean over the
        classifiers averaged), for explaining suggestions."""
        import numpy as np
        from scipy import sparse

        return np.mean([
            self.featuriser_.weighted(sparse.csr_matrix(model.coef_), w).toarray().ravel()
            for (w, _), model in zip(self.members_, self.classifiers_[code_id], strict=True)
        ], axis=0)

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
        strongest = self.featuriser_.strongest(self.weights_[code_id], row)
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
        self.definitions_weight = 1.0  # classifiers reweight it (see weighted())

    def weighted(self, matrix: Any, weight: float) -> Any:
        """``matrix`` (made by this featuriser) with the definitions weighted ``weight``."""
        import numpy as np
        from scipy import sparse

        scale = np.ones(matrix.shape[1])
        for feature, start, end in self.blocks:
            if feature == "definitions":
                scale[start:end] = weight / self.definitions_weight
        if (scale == 1).all():
            return matrix
        return (matrix @ sparse.diags(scale)).tocsr()

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
                block = sparse.csr_matrix(self.definitions_weight
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

    def strongest(self, weights: Any, row: Any, top: int = 3) -> list[str]:
        """The feature groups (and words) pushing this row hardest towards the code, for
        a linear model with these weights on the columns."""
        import numpy as np

        dense = row.toarray().ravel()
        contribution = np.asarray(weights).ravel() * dense
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


class _Space:
    """Training rows re-expressed in their own span, for fitting faster.

    An L2-penalised linear model's weights lie in the span of its training rows, so with
    ``X X^T = U S^2 U^T`` a model fitted on the ``n`` columns of ``U S`` equals the one
    fitted on the ``d`` columns of ``X`` (``w = X^T U S^-1 beta``), on any subset of the
    rows. Used when there are fewer rows than columns, and not too many rows.
    """

    def __init__(self, matrix: Any) -> None:
        import numpy as np

        self.matrix = matrix
        self.back = None
        self.rows = matrix
        n, d = matrix.shape
        if not 0 < n <= _REDUCE_MAX_ROWS or n >= d:
            return
        gram = _gram(matrix)
        values, vectors = np.linalg.eigh(gram)
        keep = values > max(float(values.max()), 0.0) * 1e-10
        if not keep.any():
            return
        root = np.sqrt(values[keep])
        self.rows = vectors[:, keep] * root
        self.back = vectors[:, keep] / root

    def original(self, model: Any) -> Any:
        """A model fitted on ``rows``, made to take the original columns."""
        import numpy as np

        if self.back is not None:
            weights = self.matrix.T @ (self.back @ model.coef_.ravel())
            model.coef_ = np.asarray(weights, dtype=np.float64).reshape(1, -1)
            model.n_features_in_ = self.matrix.shape[1]
        return model


def _one_or_all(values: list[Any]) -> Any:
    """One value, or the tuple of several (each once)."""
    values = list(dict.fromkeys(values))
    return values[0] if len(values) == 1 else tuple(values)


def _gram(matrix: Any) -> Any:
    """``matrix @ matrix.T`` as a dense array: the dense columns (embeddings) by BLAS, the
    sparse ones (words) as sparse (a sparse product of dense columns is slow)."""
    import numpy as np
    from scipy import sparse

    if not sparse.issparse(matrix):
        return np.asarray(matrix @ matrix.T, dtype=np.float64)
    columns = matrix.tocsc()
    dense = np.diff(columns.indptr) > 0.05 * matrix.shape[0]
    block = columns[:, dense].toarray()
    rest = columns[:, ~dense].tocsr()
    return block @ block.T + (rest @ rest.T).toarray()


def _one_thread() -> Any:
    """A context in which BLAS and OpenMP use one thread (many small fits: threads only
    contend, the more so on a shared machine)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def _agreement(predicted: Any, truth: Any, metric: str) -> float:
    """Cohen's kappa or F1 of two boolean vectors."""
    import numpy as np

    predicted, truth = np.asarray(predicted, bool), np.asarray(truth, bool)
    if metric == "f1":
        total = predicted.sum() + truth.sum()
        return float(2 * (predicted & truth).sum() / total) if total else 0.0
    from qualcode.analysis.agreement import cohen_kappa

    kappa = cohen_kappa(predicted.astype(float), truth.astype(float))
    return 0.0 if kappa is None else kappa  # None: chance agreement is 1


def _held_out_score(scores: Any, truth: Any, folds: Sequence[tuple[Any, Any]], metric: str,
                    max_rate: float | None) -> float:
    """Kappa (or F1) of out-of-fold ``scores`` when each fold is cut at the threshold
    chosen on the other folds alone: what choosing thresholds is worth on unseen data."""
    import numpy as np

    predicted = np.zeros(len(truth), dtype=bool)
    for train, held_out in folds:
        threshold, _ = _best_threshold(scores[train], truth[train], metric, max_rate)
        predicted[held_out] = scores[held_out] >= threshold
    return _agreement(predicted, truth, metric)


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
