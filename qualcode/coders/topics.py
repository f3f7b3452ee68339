"""Candidate codes from the data: topic modelling over sentence embeddings, and noun phrases.

This is the engine of open coding (:mod:`qualcode.opencoding` works with its results). It
knows nothing of projects: it takes texts and their vectors and returns groups of segment
indices with keywords, labels and representative quotes.

Two sources of candidates:

- **Topics** (:class:`TopicModel`): BERTopic over precomputed sentence embeddings (from
  :mod:`qualcode.coders.embeddings`; BERTopic is never given a model it could download),
  clustered by Ward's hierarchical clustering (default), k-means, HDBSCAN, or UMAP +
  HDBSCAN (BERTopic's own default), all seeded. Keywords are BERTopic's class-based TF-IDF
  (c-TF-IDF) words and phrases.
- **Noun phrases** (:func:`noun_phrases`, :func:`phrase_groups`): spaCy part-of-speech tags
  (through :func:`qualcode.nlp.english`) give each candidate readable labels, and give
  corpora too small to model (a handful of segments) candidates of their own: segments that
  share a noun phrase.

Why Ward by default: on interview transcripts HDBSCAN leaves most segments unassigned or
puts nearly everything in one cluster, and UMAP's first call in a process compiles numba
code for a minute or more. Ward and k-means both assign every segment and take the number
of topics asked for. Ward (merge, step by step, the two groups whose union adds least
within-group variance) does not depend on a random start: on the swj2022 usability study
its candidates matched the researchers' codes as well as k-means' or better, on average
over seeds, at every number of candidates tried (16 to 31), and its figure moved by at
most one code of 25 from seed to seed where k-means' moved by up to four (see
``benchmarks/bench_opencoding.py``). It needs memory for all pairwise
distances, so above :data:`WARD_EXACT_LIMIT` segments merges are limited to each segment's
nearest neighbours (a sparse graph; memory grows linearly).
``cluster="umap-hdbscan"`` gives BERTopic's default pipeline.

Context: a sentence such as "Yes, that was clear" means little alone. :func:`context_vectors`
adds to each segment's vector the vector of the question it answers (the task heading
before it in a think-aloud protocol, else the interviewer's turn; see
:func:`find_context`) and of its neighbours in the same turn, weighted by ``context``, so
answers to one question, and the sentences of one answer, are placed near each other. On
the swj2022 usability study this is what lets candidates line up with the researchers'
codes at all (see ``benchmarks/bench_opencoding.py``).

>>> model = TopicModel(min_size=10, seed=0).fit(texts, vectors)    # doctest: +SKIP
>>> model.labels_[:5], model.keywords_[0][:3]                      # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from qualcode.errors import DependencyError, ParameterError, parameter_error
from qualcode.model import Segment

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "CLUSTER_METHODS",
    "WARD_EXACT_LIMIT",
    "TopicModel",
    "can_model",
    "context_vectors",
    "ctfidf_keywords",
    "default_topic_count",
    "find_context",
    "keyword_text",
    "noun_phrases",
    "phrase_groups",
    "readable_label",
    "representatives",
    "stop_words",
    "strip_annotations",
]

CLUSTER_METHODS: tuple[str, ...] = ("ward", "kmeans", "hdbscan", "umap-hdbscan")
MIN_SEGMENTS = 20  # fewer than this is no corpus for topic modelling, whatever min_size says
# Exact Ward keeps all pairwise distances (8 bytes each: 400 MB at 10,000 segments); above
# this, merges follow a graph of each segment's nearest neighbours.
WARD_EXACT_LIMIT = 10_000
_WARD_NEIGHBOURS = 15
_EXTRA = "pip install 'qualcode[topics]'"

# Words that carry no topic in spoken English: English stop words plus the fillers and
# hedges of transcribed speech ("yeah", "okay", "gonna"), which otherwise top every topic.
_FILLER_WORDS = """
yeah yes yep yup okay ok oh ah uh um erm er hmm mm mhm right alright like just really
actually basically literally probably maybe kind sort bit lot lots thing things stuff
gonna wanna gotta got get gets getting go goes going went know think thought mean guess
say said says saying tell told let lets ll ve don didn doesn isn wasn aren weren won
wouldn couldn shouldn im ive id youre theyre thats theres whats cos cause quite pretty
want wanted way make makes made need needs sure good great nice fine dont doesnt didnt
isnt wasnt cant wont couldnt wouldnt shouldnt mmm mmmm eh ehm hm ups did does doing done
"""
_FILLERS = frozenset(_FILLER_WORDS.split())


def stop_words() -> list[str]:
    """The words left out of keywords: scikit-learn's English list plus speech fillers."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return sorted(ENGLISH_STOP_WORDS | _FILLERS)


# A bracketed note, or the part of one a sentence boundary cut off at either end.
_ANNOTATION = re.compile(r"\([^()\n]{0,400}\)|\[[^\[\]\n]{0,400}\]"
                         r"|^[^()\n]{0,400}\)|\([^()\n]{0,400}$")


def strip_annotations(text: str) -> str:
    """``text`` without bracketed transcriber's notes (``(laughs)``, ``[inaudible]``,
    ``(The participant reads the task)``), which would otherwise top the keywords."""
    return _ANNOTATION.sub(" ", text)


# A clitic after an apostrophe: BERTopic drops apostrophes before counting words, which
# would turn "he'd", "they'll", "I'll" into the words "hed", "theyll" and "ill".
_CLITIC = re.compile(r"(?<=[^\W\d_])['’](?:s|d|ll|re|ve|m|t)\b", re.IGNORECASE)
_NOT = re.compile(r"(?<=[^\W\d_])n['’]t\b", re.IGNORECASE)


def keyword_text(text: str) -> str:
    """``text`` as keywords are counted in: without transcriber's notes and without
    clitics (``"he'd"`` -> ``"he"``, ``"didn't"`` -> ``"did"``)."""
    return _CLITIC.sub("", _NOT.sub("", strip_annotations(text)))


# Words: letters only (digits and timestamps are not topics), at least two of them.
_TOKEN_PATTERN = r"(?u)\b[^\W\d_][^\W\d_]+\b"


def default_topic_count(n_segments: int, min_size: int) -> int:
    """How many topics Ward or k-means looks for when none is given: about ``sqrt(n / 6)``
    (20 for 2,500 segments, 29 for 5,000), at most 60 and at most ``n / min_size``."""
    guess = round((n_segments / 6) ** 0.5)
    return max(2, min(guess, 60, n_segments // max(min_size, 1)))


def can_model(n_segments: int, min_size: int) -> bool:
    """Whether there are enough segments for topic modelling: at least two topics of
    ``min_size`` and at least 20 segments."""
    return n_segments >= max(MIN_SEGMENTS, 2 * min_size)


# -- context ------------------------------------------------------------------------------
def find_context(segments: Sequence[Segment]) -> tuple[list[int | None], list[int | None],
                                                       list[int | None]]:
    """For each segment, the index of the question it answers and of its neighbours.

    The *question* is the nearest earlier prompt of the same document: an unlabelled
    segment in a document whose other segments are labelled (a task or question heading,
    as in think-aloud protocols) when the document has any, else the interviewer's
    latest turn (the interviewer's asides within a task are not its question). Documents
    without participants (survey answers) have none. *Neighbours* are the previous and
    next segments of the same turn (same document and speaker, next to each other).
    ``segments`` must be in document then text order.
    """
    with_participants = {s.document_id for s in segments if s.role == "participant"}
    with_headings = {s.document_id for s in segments
                     if s.role is None and s.document_id in with_participants}
    question: list[int | None] = []
    previous: list[int | None] = []
    following: list[int | None] = [None] * len(segments)
    current: int | None = None
    for i, segment in enumerate(segments):
        first = i == 0 or segments[i - 1].document_id != segment.document_id
        if first:
            current = None
        same_turn = (not first and segments[i - 1].role == segment.role
                     and segments[i - 1].speaker == segment.speaker)
        previous.append(i - 1 if same_turn else None)
        if same_turn:
            following[i - 1] = i
        question.append(current)
        prompt_role = None if segment.document_id in with_headings else "interviewer"
        if segment.document_id in with_participants and segment.role == prompt_role:
            current = i
    return question, previous, following


def context_vectors(
    vectors: np.ndarray,
    question: Sequence[int | None],
    previous: Sequence[int | None],
    following: Sequence[int | None],
    weight: float,
) -> np.ndarray:
    """Each row of ``vectors`` plus ``weight`` times its question's vector and a quarter of
    that for each neighbour, normalised again. ``weight=0`` returns the vectors
    unchanged."""
    import numpy as np

    if weight == 0:
        return vectors
    out = vectors.astype(np.float64, copy=True)
    for i in range(len(out)):
        if question[i] is not None:
            out[i] += weight * vectors[question[i]]
        for j in (previous[i], following[i]):
            if j is not None:
                out[i] += 0.25 * weight * vectors[j]
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return (out / np.where(norms == 0, 1.0, norms)).astype(np.float32)


# -- BERTopic ---------------------------------------------------------------------------
_import_lock = threading.Lock()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence warnings the topic libraries raise about their own internals."""
    with warnings.catch_warnings():
        for module in ("bertopic", "sklearn", "umap", "hdbscan", "numba", "pynndescent"):
            warnings.filterwarnings("ignore", category=FutureWarning, module=module)
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=module)
        # UMAP: "n_jobs value 1 overridden to 1 by setting random_state" (we seed on purpose)
        warnings.filterwarnings("ignore", message=r".*overridden to 1 by setting random_state")
        yield


def _bertopic_class() -> Any:
    """``bertopic.BERTopic``, imported without the backends qualcode never uses.

    BERTopic imports sentence-transformers, transformers (and with them torch) and UMAP
    eagerly, for embedding backends, text generation and plots; qualcode hands it vectors
    from its own cached embeddings and its own reducer, so those imports only cost time
    (ten seconds or more). BERTopic guards each of them with ``except ModuleNotFoundError``,
    so they are blocked during its import when not already loaded, and unblocked straight
    after. torch too: BERTopic imports spaCy, whose thinc imports torch when it can (about
    3 s of CPU) and guards that with ``except ImportError``; with the ONNX embedding
    backend, open coding then never loads torch. scikit-learn and SciPy are imported
    first: they look for torch in ``sys.modules`` and must not see the block.
    """
    if "bertopic" in sys.modules:
        return sys.modules["bertopic"].BERTopic
    try:
        import scipy.stats  # noqa: F401
        import sklearn.base  # noqa: F401
    except ImportError as exc:  # pragma: no cover - both are core dependencies
        raise DependencyError(f"Topic modelling needs scikit-learn and SciPy ({exc}).") from exc
    with _import_lock:
        blocked = [name for name in ("sentence_transformers", "transformers", "umap", "torch")
                   if name not in sys.modules]
        for name in blocked:
            sys.modules[name] = None  # type: ignore[assignment]  # "import name" now fails
        try:
            with _quiet():
                from bertopic import BERTopic
        except ImportError as exc:
            raise DependencyError(
                f"Topic modelling needs BERTopic. Install it with: {_EXTRA}."
            ) from exc
        finally:
            for name in blocked:
                if name in sys.modules and sys.modules[name] is None:
                    del sys.modules[name]
    return BERTopic


def _vectorizer(n_documents: int, min_df: int = 2) -> Any:
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(
        stop_words=stop_words(), ngram_range=(1, 2), token_pattern=_TOKEN_PATTERN,
        min_df=min_df if n_documents >= 50 else 1, lowercase=True,
    )


class TopicModel:
    """Group segments into topics with BERTopic over their (precomputed) vectors.

    Parameters
    ----------
    n_topics : how many topics Ward or k-means looks for (default:
        :func:`default_topic_count`). Ignored by the HDBSCAN methods, which find their own
        number.
    min_size : the fewest segments a topic may hold; smaller topics are dissolved (their
        segments are left unassigned).
    seed : seeds PCA, k-means and UMAP: the same seed gives the same topics. (Ward itself
        has no random start: other seeds change its topics little, if at all.)
    cluster : ``ward`` (default; Ward's hierarchical clustering after PCA to 48
        dimensions), ``kmeans`` (the same, with k-means), ``hdbscan`` (scikit-learn's,
        after PCA to 10 dimensions) or ``umap-hdbscan`` (BERTopic's default pipeline; its
        first run in a process compiles numba code and takes a minute or more).
    top_words : how many c-TF-IDF keywords to keep per topic.

    After :meth:`fit`: ``labels_`` (one topic number per text, -1 for unassigned, topics
    numbered by size, largest first), ``keywords_`` (per topic, ``(word, weight)`` pairs),
    ``n_topics_`` and ``model_`` (the fitted ``BERTopic``).
    """

    def __init__(self, *, n_topics: int | None = None, min_size: int = 10, seed: int = 0,
                 cluster: str = "ward", top_words: int = 10) -> None:
        self.n_topics = n_topics
        self.min_size = min_size
        self.seed = seed
        self.cluster = cluster
        self.top_words = top_words

    def _check(self, n: int) -> None:
        where = "TopicModel()"
        if not isinstance(self.min_size, int) or self.min_size < 2:
            raise parameter_error("min_size", where, "an integer >= 2", self.min_size)
        if self.n_topics is not None and (not isinstance(self.n_topics, int)
                                          or self.n_topics < 2):
            raise parameter_error("n_topics", where, "an integer >= 2 or None", self.n_topics)
        if not isinstance(self.seed, int):
            raise parameter_error("seed", where, "an integer", self.seed)
        if self.cluster not in CLUSTER_METHODS:
            raise parameter_error("cluster", where, f"one of {', '.join(CLUSTER_METHODS)}",
                                  self.cluster)
        if not can_model(n, self.min_size):
            raise ParameterError(
                f"{n} segments are too few for topic modelling with min_size={self.min_size} "
                f"(it needs at least {max(MIN_SEGMENTS, 2 * self.min_size)}); use "
                "phrase_groups() or a smaller min_size."
            )

    def _models(self, n: int, dims: int) -> tuple[Any, Any]:
        """The reducer and the clusterer handed to BERTopic."""
        if self.cluster in ("ward", "kmeans"):
            from sklearn.decomposition import PCA

            # Clustering in 48 principal dimensions: as good as in all 384 and ~5x faster.
            k = min(self.n_topics or default_topic_count(n, self.min_size), n)
            reducer = PCA(n_components=min(48, n - 1, dims), svd_solver="randomized",
                          random_state=self.seed)
            if self.cluster == "ward":
                return reducer, _Ward(k, exact=n <= WARD_EXACT_LIMIT)
            from sklearn.cluster import KMeans

            return reducer, KMeans(n_clusters=k, random_state=self.seed, n_init=1)
        if self.cluster == "hdbscan":
            from sklearn.cluster import HDBSCAN
            from sklearn.decomposition import PCA

            return PCA(n_components=min(10, n - 1, dims), random_state=self.seed), HDBSCAN(
                min_cluster_size=self.min_size, min_samples=min(5, self.min_size), copy=True)
        try:
            from hdbscan import HDBSCAN as FastHDBSCAN
            from umap import UMAP
        except ImportError as exc:
            raise DependencyError(
                f"cluster='umap-hdbscan' needs umap-learn and hdbscan. Install them with: "
                f"{_EXTRA}."
            ) from exc
        return UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine",
                    random_state=self.seed, n_jobs=1), FastHDBSCAN(
            min_cluster_size=self.min_size, metric="euclidean", prediction_data=False)

    def fit(self, texts: Sequence[str], vectors: np.ndarray) -> TopicModel:
        """Fit on ``texts`` and their ``vectors`` (one row per text); returns the model.

        Keywords are counted in the texts without bracketed transcriber's notes and
        clitics (:func:`keyword_text`)."""
        import numpy as np

        texts = [keyword_text(t) for t in texts]
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise ParameterError(
                f"TopicModel.fit() needs one vector per text. Got {len(texts)} texts and "
                f"vectors of shape {vectors.shape}."
            )
        self._check(len(texts))
        bertopic = _bertopic_class()
        from bertopic.vectorizers import ClassTfidfTransformer
        from threadpoolctl import threadpool_limits

        reducer, clusterer = self._models(len(texts), vectors.shape[1])
        for min_df in (2, 1):  # a small or repetitive corpus may keep no word seen twice
            model = bertopic(
                embedding_model=None, umap_model=reducer, hdbscan_model=clusterer,
                vectorizer_model=_vectorizer(len(texts), min_df),
                ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
                top_n_words=self.top_words + 5, calculate_probabilities=False, verbose=False,
            )
            try:
                # One thread for BLAS/OpenMP: these matrices are small (thousands x 48), so
                # threads cost more in start-up and spinning than they save, and on a
                # shared machine they contend (measured: 9 s -> 6 s CPU for 5,000 segments).
                with _quiet(), threadpool_limits(limits=1):
                    topics, _ = model.fit_transform(texts, embeddings=vectors)
                break
            except ValueError as exc:
                if "no terms remain" not in str(exc) and "empty vocabulary" not in str(exc):
                    raise
        else:
            raise ParameterError(
                "The segments hold no words to describe topics with (only stop words?)."
            )
        labels = np.asarray(topics, dtype=int)
        sizes = Counter(labels[labels >= 0].tolist())
        # Renumber by size (largest first), dissolving topics smaller than min_size.
        kept = sorted((t for t, n in sizes.items() if n >= self.min_size),
                      key=lambda t: (-sizes[t], t))
        renumber = {old: new for new, old in enumerate(kept)}
        self.labels_ = np.array([renumber.get(t, -1) for t in labels.tolist()], dtype=int)
        self.keywords_ = [
            [(word, float(weight)) for word, weight in (model.get_topic(old) or [])
             if weight > 0 and _useful_keyword(word)][: self.top_words]
            for old in kept
        ]
        self.n_topics_ = len(kept)
        self.model_ = model
        return self


class _Ward:
    """Ward's hierarchical clustering into ``n_clusters`` groups, as BERTopic's clusterer
    (``fit(X)`` sets ``labels_``). Exact below :data:`WARD_EXACT_LIMIT` rows; above it,
    merges are limited to a graph of each row's nearest neighbours, so memory stays linear
    in the rows (scikit-learn's ``AgglomerativeClustering`` with ``connectivity``)."""

    def __init__(self, n_clusters: int, *, exact: bool = True) -> None:
        self.n_clusters = n_clusters
        self.exact = exact

    def fit(self, X: Any, y: Any = None) -> _Ward:
        from sklearn.cluster import AgglomerativeClustering

        connectivity = None
        if not self.exact:
            from sklearn.neighbors import kneighbors_graph

            connectivity = kneighbors_graph(X, min(_WARD_NEIGHBOURS, len(X) - 1),
                                            include_self=False)
        with warnings.catch_warnings():
            # A neighbour graph in several pieces is joined up by scikit-learn, with a
            # warning that says so: that is what is wanted here.
            warnings.filterwarnings("ignore", message=r".*connected components")
            model = AgglomerativeClustering(n_clusters=self.n_clusters, linkage="ward",
                                            connectivity=connectivity).fit(X)
        self.labels_ = model.labels_
        return self


def _useful_keyword(word: str) -> bool:
    """Not empty and not a word said twice (``"buttons buttons"``, from repetitions in
    speech)."""
    words = word.split()
    return bool(words) and len(set(words)) == len(words)


def ctfidf_keywords(groups: Sequence[Sequence[str]], top_words: int = 10
                    ) -> list[list[tuple[str, float]]]:
    """c-TF-IDF keywords of each group of texts against the others (for split and merged
    candidates, which have no fitted topic model of their own)."""
    import numpy as np

    _bertopic_class()
    from bertopic.vectorizers import ClassTfidfTransformer

    joined = [" ".join(texts) for texts in groups]
    vectorizer = _vectorizer(len(joined), min_df=1)
    try:
        counts = vectorizer.fit_transform(joined)
    except ValueError:  # nothing but stop words
        return [[] for _ in groups]
    with _quiet():
        weights = ClassTfidfTransformer(reduce_frequent_words=True).fit_transform(counts)
    words = vectorizer.get_feature_names_out()
    dense = weights.toarray()
    out = []
    for row in dense:
        order = np.argsort(-row, kind="stable")[: top_words + 5]
        out.append([(str(words[j]), float(row[j])) for j in order
                    if row[j] > 0 and _useful_keyword(str(words[j]))][:top_words])
    return out


# -- quotes -------------------------------------------------------------------------------
def representatives(
    vectors: np.ndarray,
    documents: Sequence[str],
    texts: Sequence[str],
    k: int = 5,
    min_words: int = 5,
) -> list[tuple[int, float]]:
    """The ``k`` members closest to the group's centroid, as ``(row, cosine)``.

    Quotes come from different documents while there are documents left, and fragments
    under ``min_words`` words are passed over while longer ones remain, so the quotes show
    the range of a candidate rather than one interview's phrasing or a bare "Yes.".
    """
    import numpy as np

    if len(vectors) == 0:
        return []
    centroid = vectors.mean(axis=0)
    norm = float(np.linalg.norm(centroid))
    sims = vectors @ (centroid / norm if norm else centroid)
    order = np.argsort(-sims, kind="stable").tolist()
    chosen: list[int] = []
    for pass_ in range(3):
        used = {documents[i] for i in chosen}
        for i in order:
            if len(chosen) >= k:
                break
            if i in chosen:
                continue
            long_enough = len(texts[i].split()) >= min_words
            if pass_ == 0 and (documents[i] in used or not long_enough):
                continue
            if pass_ == 1 and not long_enough:
                continue
            chosen.append(i)
            used.add(documents[i])
    chosen.sort(key=lambda i: -sims[i])
    return [(i, float(sims[i])) for i in chosen]


# -- noun phrases -------------------------------------------------------------------------
_PHRASE_POS = {"NOUN", "PROPN", "ADJ"}
_HEAD_POS = {"NOUN", "PROPN"}
_JUNK = re.compile(r"^[\W\d_]+$")


def _english() -> Any:
    """The shared spaCy pipeline (:func:`qualcode.nlp.english`), loaded without torch when
    torch is not loaded already. thinc (under spaCy) imports torch whenever it can, which
    costs seconds of start-up (about 3 s of CPU here, more than the pipeline itself), and
    spaCy's CPU pipelines never use it; with the ONNX embedding backend nothing else in
    open coding needs torch. thinc guards that import with ``except ImportError``, so it
    is blocked as for BERTopic (:func:`_bertopic_class`), SciPy and scikit-learn first."""
    from qualcode import nlp

    if "torch" in sys.modules or "thinc" in sys.modules:
        return nlp.english()
    try:
        import scipy.stats  # noqa: F401
        import sklearn.base  # noqa: F401
    except ImportError:  # pragma: no cover - both are core dependencies
        return nlp.english()
    with _import_lock:
        blocked = "torch" not in sys.modules
        if blocked:
            sys.modules["torch"] = None  # type: ignore[assignment]  # "import torch" fails
        try:
            return nlp.english()
        finally:
            if blocked and "torch" in sys.modules and sys.modules["torch"] is None:
                del sys.modules["torch"]


def noun_phrases(texts: Sequence[str], *, max_words: int = 3) -> list[list[str]]:
    """Noun phrases of each text, as lower-case lemmas (``"the time windows"`` ->
    ``"time window"``): runs of adjectives and nouns ending in a noun, at most
    ``max_words`` long (their final words when longer), stop words and fillers left out.

    Uses the tagger of the shared spaCy pipeline (:func:`qualcode.nlp.english`); with the
    blank fallback pipeline, which has no tagger, content lemmas stand in for phrases.
    """
    nlp = _english()
    pipeline = nlp.pipeline
    stops = set(stop_words())
    if not pipeline.has_pipe("tagger"):
        return [[lemma for lemma in nlp.lemmatise(text).lemmas
                 if lemma not in stops and len(lemma) > 2 and not _JUNK.match(lemma)]
                for text in texts]
    out = []
    for doc in pipeline.pipe(texts, batch_size=256):
        phrases: list[str] = []
        run: list[str] = []
        heads: list[bool] = []

        def flush(run: list[str] = run, heads: list[bool] = heads,
                  phrases: list[str] = phrases) -> None:
            while heads and not heads[-1]:  # a phrase ends in a noun
                run.pop()
                heads.pop()
            words = [w for w in run[-max_words:] if w not in stops]
            if words and any(len(w) > 2 for w in words):
                phrases.append(" ".join(words))
            run.clear()
            heads.clear()

        for token in doc:
            lemma = _noun_lemma(token.lower_, token.lemma_.lower().strip())
            if token.pos_ in _PHRASE_POS and lemma and not _JUNK.match(lemma):
                if lemma in stops and not run:
                    continue
                run.append(lemma)
                heads.append(token.pos_ in _HEAD_POS)
            else:
                flush()
        flush()
        out.append(phrases)
    return out


def _noun_lemma(word: str, lemma: str) -> str:
    """The lemma when it is the word's stem (``windows`` -> ``window``, ``analyses`` ->
    ``analysis``), else the word: ``data`` stays ``data``, not the dictionary's
    ``datum``."""
    if not lemma or lemma == word:
        return word
    shared = next((i for i, (a, b) in enumerate(zip(word, lemma, strict=False)) if a != b),
                  min(len(word), len(lemma)))
    return lemma if shared >= max(4, len(lemma) - 2) else word


def phrase_groups(phrases: Sequence[Sequence[str]], min_size: int = 2,
                  max_groups: int = 30) -> list[tuple[str, list[int]]]:
    """Candidates for corpora too small to model: ``(phrase, segment rows)`` for noun
    phrases shared by at least ``min_size`` segments, most shared first.

    Each segment joins at most one group (its most shared phrase), so groups do not
    overlap, like topics.
    """
    counts = Counter(p for row in phrases for p in set(row))
    shared = [p for p, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))
              if n >= min_size]
    taken: set[int] = set()
    groups = []
    for phrase in shared:
        rows = [i for i, row in enumerate(phrases) if phrase in row and i not in taken]
        if len(rows) >= min_size:
            groups.append((phrase, rows))
            taken.update(rows)
        if len(groups) >= max_groups:
            break
    return groups


def readable_label(keywords: Sequence[str], phrases: Sequence[str]) -> str:
    """A short label: the noun phrase that holds one of the top keywords and is most
    frequent (a phrase of several words counts for more: ``"heat map"`` over ``"map"``);
    a one-word phrase gets the next keyword beside it (``"Mum / referral"``); without such
    a phrase, the top three keywords (``"Lag / window / days"``)."""
    top = [k.lower() for k in keywords[:5]]
    top_words = {w for k in top for w in k.split()}
    counts = Counter(phrases)
    best, best_score = None, 0.0
    for phrase, n in counts.items():
        words = phrase.split()
        if n < 2 and len(counts) > 1:
            continue
        if not (set(words) & top_words or any(phrase in k or k in phrase for k in top)):
            continue
        score = n * (1 + 0.5 * min(len(words) - 1, 2))  # "heat map" over "map"
        if score > best_score or (score == best_score and best is not None
                                  and phrase < best):
            best, best_score = phrase, score
    if best is not None and " " not in best:
        # One word says little ("Door"): add the strongest keyword it does not hold.
        extra = next((k for k in top if best not in k.split() and k not in best), None)
        if extra:
            best = f"{best} / {extra}"
    if best is None:
        best = " / ".join(top[:3]) if top else (counts.most_common(1)[0][0] if counts else "")
    return best[:1].upper() + best[1:] if best else "Unlabelled"
