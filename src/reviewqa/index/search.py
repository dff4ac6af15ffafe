"""The loaded index: dense, BM25 and hybrid search over passages, and precomputed sentence vectors."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from reviewqa.corpus.ingest import read_passages
from reviewqa.errors import IndexNotReadyError, QuestionError, ReviewqaError
from reviewqa.index import store
from reviewqa.index.abbreviations import QueryExpander
from reviewqa.index.build_vectors import encoder_fits, query_encoder
from reviewqa.index.dense import load_dense, reconstruct, search_dense, set_ef_search
from reviewqa.index.embed import Encoder, QueryBatcher
from reviewqa.index.fusion import reciprocal_rank_fusion, top, weighted_fusion
from reviewqa.index.lexical import Bm25Index
from reviewqa.index.tokenize import DEFAULT_TOKENIZER
from reviewqa.lru import LRUCache
from reviewqa.models import CitedWork, Passage
from reviewqa.settings import Settings

if TYPE_CHECKING:
    import faiss

log = logging.getLogger(__name__)

T = TypeVar("T")
SEARCH_MODES = ("dense", "bm25", "hybrid")


class SearchModeError(ReviewqaError):
    """An unknown search mode or fusion method."""


@dataclass
class SearchHit:
    passage: Passage
    score: float  # the ranking score of the mode: cosine (dense), BM25 (bm25) or fused (hybrid)
    dense_score: float | None  # cosine similarity of query and passage, when the mode computed it
    bm25_score: float | None


@dataclass
class SearchIndex:
    settings: Settings
    manifest: dict[str, Any]
    passages: list[Passage]
    documents: dict[str, dict[str, Any]]
    bibliography: dict[str, CitedWork]
    # The pairs a query may use (unambiguous across the corpus), and each document's own definitions.
    abbreviations: dict[str, list[str]]
    dense: faiss.Index | None  # None until first needed when loaded lazily (see ``dense_index``)
    bm25: Bm25Index
    sentence_vectors: np.ndarray  # distinct sentences, normalised
    sentence_rows: np.ndarray  # per passage in order, the rows of its sentences
    encoder: Encoder
    dense_path: Path | None = None  # where a lazily loaded dense index is read from
    document_abbreviations: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    directory: Path | None = None  # where the artefacts were read from (derived ones are read from it too)
    # Per document, the entries of its own reference list naming another work than ``bibliography`` does.
    document_references: dict[str, dict[str, CitedWork]] = field(default_factory=dict)
    passage_by_id: dict[str, Passage] = field(init=False)
    query_cache: LRUCache[str, np.ndarray] = field(init=False)
    query_batcher: QueryBatcher = field(init=False, repr=False)
    expander: QueryExpander = field(init=False)
    _position: dict[str, int] = field(init=False, repr=False)
    _sentence_offsets: np.ndarray = field(init=False, repr=False)
    _neighbours: dict[str, tuple[str | None, str | None]] = field(init=False, repr=False)
    # Objects later stages derive from this index (the answer engine's statistics), built once per index
    # and released with it; see ``derived``.
    _derived: dict[str, Any] = field(init=False, repr=False, default_factory=dict)
    # Re-entrant: a derived object may be built from others (the answer engine uses per-document expanders).
    _derived_lock: threading.RLock = field(init=False, repr=False, default_factory=threading.RLock)
    _dense_lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.passage_by_id = {p.passage_id: p for p in self.passages}
        self._position = {p.passage_id: i for i, p in enumerate(self.passages)}
        counts = np.fromiter(
            (len(p.sentences) for p in self.passages), dtype=np.int64, count=len(self.passages)
        )
        self._sentence_offsets = np.concatenate([[0], np.cumsum(counts)])
        self._neighbours = _neighbour_map(self.passages)
        self.query_cache = LRUCache(self.settings.query_cache_size)
        # Concurrent threads' query vectors are encoded together (see QueryBatcher); per index, not global.
        # The encoder is looked up per batch: benchmarks swap in the build's encoder after loading.
        self.query_batcher = QueryBatcher(
            lambda texts: self.encoder.encode(texts), max_batch=self.settings.query_batch_max
        )
        self.expander = QueryExpander(self.abbreviations)

    def derived(self, name: str, build: Callable[[SearchIndex], T]) -> T:
        """The object ``build(self)`` made on first use under ``name`` (thread-safe, once per index)."""
        with self._derived_lock:
            if name not in self._derived:
                self._derived[name] = build(self)
            return self._derived[name]

    # ------------------------------------------------------------ text

    def tokenize(self, text: str) -> list[str]:
        """The BM25 tokens of ``text``: lower-cased, English words stemmed, biomedical tokens whole."""
        return DEFAULT_TOKENIZER(text)

    def expand_query(self, text: str) -> str:
        """``text`` plus the long form of each abbreviation it uses and the abbreviation of each long form
        (only pairs that mean the same in every document defining them)."""
        return self.expander(text)

    def expand_in_document(self, document: str, text: str) -> str:
        """``text`` of ``document`` expanded with that document's own abbreviations."""
        return self.derived(f"expander:{document}", _document_expander(document))(text)

    # ------------------------------------------------------------ vectors

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Normalised float32 query vectors, shape (len(texts), d); repeated texts come from the cache, and
        texts asked for by several threads at once are encoded in one batch."""
        vectors: list[np.ndarray | None] = [self.query_cache.get(t) for t in texts]
        missing = [i for i, v in enumerate(vectors) if v is None]
        if missing:
            encoded = self.query_batcher.encode([texts[i] for i in missing])
            for i, vector in zip(missing, encoded, strict=True):
                vectors[i] = vector
                self.query_cache.put(texts[i], vector)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([v for v in vectors if v is not None]).astype(np.float32, copy=False)

    @property
    def dimension(self) -> int:
        return int(self.manifest["model"]["dimension"])

    def sentence_vectors_for(self, passage: Passage) -> np.ndarray:
        """The precomputed vectors of the passage's sentences, in order: shape (len(sentences), d)."""
        position = self._position.get(passage.passage_id)
        if position is None or len(self.sentence_rows) == 0:
            # Not an indexed passage (or a benchmark index without sentence vectors): embed on demand.
            return self.encoder.encode([s.text for s in passage.sentences])
        start, end = self._sentence_offsets[position], self._sentence_offsets[position + 1]
        return self.sentence_vectors[self.sentence_rows[start:end]]

    def dense_index(self) -> faiss.Index:
        """The FAISS index, read on first use when the index was opened with ``lazy_dense`` (so a BM25-only
        command never imports faiss)."""
        if self.dense is None:
            with self._dense_lock:
                if self.dense is None:
                    if self.dense_path is None:
                        raise ReviewqaError("this index has no dense part")
                    self.dense = _read_dense(self.dense_path, self.settings, len(self.passages))
        return self.dense

    def cited_work(self, key: str, doc_id: str) -> CitedWork | None:
        """The work ``key`` names where document ``doc_id`` cites it: its own reference list's entry when
        that differs from the corpus-wide one, else the bibliography's."""
        return self.document_references.get(doc_id, {}).get(key) or self.bibliography.get(key)

    def neighbours(self, passage_id: str) -> tuple[str | None, str | None]:
        """The previous and next passage of the same document (None at either end)."""
        if passage_id not in self._neighbours:
            raise KeyError(f"unknown passage {passage_id!r}")
        return self._neighbours[passage_id]

    # ------------------------------------------------------------ search

    def search(
        self,
        query: str,
        k: int = 10,
        mode: str = "hybrid",
        query_vector: np.ndarray | None = None,
    ) -> list[SearchHit]:
        """The ``k`` best passages for ``query`` (abbreviations expanded both ways)."""
        if mode not in SEARCH_MODES:
            raise SearchModeError(f"unknown search mode {mode!r}: use one of {', '.join(SEARCH_MODES)}")
        if not query or not query.strip():
            raise QuestionError("the query is empty")
        k = max(0, min(k, len(self.passages)))
        if k == 0:
            return []
        expanded = self.expand_query(query)
        depth = max(k, self.settings.fusion_depth) if mode == "hybrid" else k

        dense_scores: dict[int, float] = {}
        lexical_all: np.ndarray | None = None
        vector: np.ndarray | None = None
        if mode in ("dense", "hybrid"):
            vector = self._query_vector(expanded, query_vector)
            dense_scores = self._dense_top(vector, depth)
        if mode in ("bm25", "hybrid"):
            lexical_all = self._bm25_scores(query)
        lexical_scores = _top_positive(lexical_all, depth) if lexical_all is not None else {}

        if mode == "dense":
            ranked = top(dense_scores, k)
        elif mode == "bm25":
            ranked = top(lexical_scores, k)
        else:
            ranked = top(self._fuse(dense_scores, lexical_scores), k)

        missing_dense = [d for d, _ in ranked if d not in dense_scores]
        if vector is not None and missing_dense:
            cosines = reconstruct(self.dense_index(), np.asarray(missing_dense)) @ vector
            dense_scores.update(zip(missing_dense, map(float, cosines), strict=True))
        return [
            SearchHit(
                passage=self.passages[d],
                score=float(score),
                dense_score=dense_scores.get(d) if vector is not None else None,
                bm25_score=float(lexical_all[d]) if lexical_all is not None else None,
            )
            for d, score in ranked
        ]

    def _bm25_scores(self, query: str) -> np.ndarray:
        """BM25 of the query where an abbreviation and its long form count once, whichever matches.

        Appending a long form to the query would add all its words to every document's score
        (a query saying IGF1R would favour passages spelling out "insulin-like growth factor
        receptor"); instead a document gets, per mention, the better of the two forms' scores.
        """
        scores = self.bm25.scores(query)
        for mention in self.expander.mentions(query):
            as_written = self.bm25.scores(mention.present)
            alternative = np.max([self.bm25.scores(other) for other in mention.others], axis=0)
            scores = scores + np.maximum(alternative - as_written, 0.0)
        return scores

    def _query_vector(self, expanded: str, given: np.ndarray | None) -> np.ndarray:
        if given is not None:
            vector = np.asarray(given, dtype=np.float32).reshape(-1)
            if vector.shape[0] != self.dimension:
                raise ReviewqaError(
                    f"query vector has dimension {vector.shape[0]}, the index {self.dimension}"
                )
            return vector
        return self.embed_queries([expanded])[0]

    def _dense_top(self, vector: np.ndarray, depth: int) -> dict[int, float]:
        scores, ids = search_dense(self.dense_index(), vector[None, :], depth)
        return {int(i): float(s) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0}

    def _fuse(self, dense_scores: dict[int, float], lexical_scores: dict[int, float]) -> dict[int, float]:
        if self.settings.fusion == "rrf":
            rankings = [[d for d, _ in top(s, len(s))] for s in (dense_scores, lexical_scores)]
            return reciprocal_rank_fusion(rankings, self.settings.rrf_k)
        if self.settings.fusion == "weighted":
            return weighted_fusion(dense_scores, lexical_scores, self.settings.dense_weight)
        raise SearchModeError(f"unknown fusion {self.settings.fusion!r}: use rrf or weighted")


def _document_expander(document: str) -> Callable[[SearchIndex], QueryExpander]:
    return lambda index: QueryExpander(index.document_abbreviations.get(document, {}))


def _top_positive(scores: np.ndarray, depth: int) -> dict[int, float]:
    """The ``depth`` highest positive scores (BM25 gives 0 to documents sharing no query token)."""
    positive = np.flatnonzero(scores > 0)
    if len(positive) > depth:
        positive = positive[np.argpartition(-scores[positive], depth - 1)[:depth]]
    return {int(i): float(scores[i]) for i in positive}


def _neighbour_map(passages: list[Passage]) -> dict[str, tuple[str | None, str | None]]:
    by_document: dict[str, list[Passage]] = {}
    for passage in passages:
        by_document.setdefault(passage.document, []).append(passage)
    neighbours: dict[str, tuple[str | None, str | None]] = {}
    for document_passages in by_document.values():
        ordered = sorted(document_passages, key=lambda p: (p.start, p.end))
        for i, passage in enumerate(ordered):
            previous = ordered[i - 1].passage_id if i > 0 else None
            following = ordered[i + 1].passage_id if i + 1 < len(ordered) else None
            neighbours[passage.passage_id] = (previous, following)
    return neighbours


# ---------------------------------------------------------------- loading


def load_index(settings: Settings, *, lazy_dense: bool = False) -> SearchIndex:
    """The index in ``index/current``; IndexNotReadyError (saying to run `reviewqa index`) if missing,
    stale or corrupt. ``lazy_dense``: read the FAISS index on first dense search, not now."""
    return load_build(settings, store.current_build(settings), lazy_dense=lazy_dense)


def load_build(
    settings: Settings,
    directory: Path,
    *,
    up_to_date: bool = True,
    encoder: Encoder | None = None,
    lazy_dense: bool = False,
) -> SearchIndex:
    """The index in the build folder ``directory``, its checksums verified (see ``store.check_build`` for
    ``up_to_date``); ``encoder`` reuses an already loaded model (a service swapping in a new build)."""
    manifest = store.check_build(settings, directory, checksums=True, up_to_date=up_to_date)
    return open_index(directory, settings, manifest, encoder=encoder, lazy_dense=lazy_dense)


def open_index(
    directory: Path,
    settings: Settings,
    manifest: dict[str, Any] | None = None,
    *,
    encoder: Encoder | None = None,
    lazy_dense: bool = False,
) -> SearchIndex:
    """Load the artifacts of the index in ``directory`` (no staleness check: benchmarks use this)."""
    manifest = manifest or store.read_manifest(directory)
    dense_path = directory / store.DENSE
    try:
        passages = read_passages(directory / store.PASSAGES)
        documents = json.loads((directory / store.DOCUMENTS).read_text(encoding="utf-8"))
        abbreviations = json.loads((directory / store.ABBREVIATIONS).read_text(encoding="utf-8"))
        query_abbreviations, document_abbreviations = abbreviations["query"], abbreviations["documents"]
        bm25 = Bm25Index.load(directory / store.BM25_DIR, DEFAULT_TOKENIZER)
        sentence_vectors = np.load(directory / store.SENTENCE_VECTORS, allow_pickle=False)
        sentence_rows = np.load(directory / store.SENTENCE_ROWS, allow_pickle=False)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        # json and numpy raise ValueError on a damaged file.
        raise IndexNotReadyError(f"the index at {directory} is corrupt ({exc}). {store.RUN_INDEX}") from exc
    _check_consistent(directory, manifest["counts"]["passages"], len(passages), bm25.size)
    dense = None if lazy_dense else _read_dense(dense_path, settings, len(passages))
    if encoder is None or not encoder_fits(encoder, manifest):
        encoder = query_encoder(settings, directory, manifest)  # the backend the index was embedded with
    bibliography, document_references = _bibliography(settings, passages, documents)
    return SearchIndex(
        settings=settings,
        manifest=manifest,
        passages=passages,
        documents={d["doc_id"]: d for d in documents if isinstance(d, dict) and "doc_id" in d},
        bibliography=bibliography,
        document_references=document_references,
        abbreviations=query_abbreviations,
        document_abbreviations=document_abbreviations,
        dense=dense,
        bm25=bm25,
        sentence_vectors=sentence_vectors,
        sentence_rows=sentence_rows,
        encoder=encoder,
        dense_path=dense_path,
        directory=directory,
    )


def _read_dense(path: Path, settings: Settings, passages: int) -> faiss.Index:
    try:
        dense = load_dense(path)
    except (OSError, RuntimeError) as exc:  # faiss raises RuntimeError on a damaged file
        raise IndexNotReadyError(f"the index at {path.parent} is corrupt ({exc}). {store.RUN_INDEX}") from exc
    _check_consistent(path.parent, passages, dense.ntotal)
    set_ef_search(dense, settings.hnsw_ef_search)
    return dense


def _check_consistent(directory: Path, expected: int, *sizes: int) -> None:
    if any(size != expected for size in sizes):
        raise IndexNotReadyError(
            f"the index at {directory} is corrupt (its parts disagree on the number of passages). "
            f"{store.RUN_INDEX}"
        )


def _bibliography(
    settings: Settings, passages: list[Passage], documents: list[dict[str, Any]] | None = None
) -> tuple[dict[str, CitedWork], dict[str, dict[str, CitedWork]]]:
    """The bibliography file, over the reference lists parsed from the documents, plus a bare entry for
    every cited key neither has; and per document the entries of its own list that differ from those."""
    from reviewqa.refs.bibliography import load_bibliography, parsed_bibliography

    works, own_lists = parsed_bibliography(documents or [], load_bibliography(settings.references_path))
    for passage in passages:
        for key in passage.cited_works:
            works.setdefault(key, CitedWork(key=key))
    return works, own_lists
