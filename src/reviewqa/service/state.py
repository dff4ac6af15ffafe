"""What the app holds between requests: the settings, the loaded index and a cache of answers."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reviewqa.corpus.ingest import FingerprintMemo
from reviewqa.errors import IndexNotReadyError
from reviewqa.lru import LRUCache
from reviewqa.settings import Settings

if TYPE_CHECKING:
    from reviewqa.index import SearchIndex

logger = logging.getLogger(__name__)

# A missing index is looked for again at most this often, so a burst of requests does not hammer the disk.
INDEX_RETRY_INTERVAL_S = 5.0


class IndexHolder:
    """The loaded index, or the reason there is none; loads it on demand once it has been built."""

    def __init__(self, settings: Settings, index: SearchIndex | None = None) -> None:
        self._settings = settings
        self._index = index
        self._lock = threading.Lock()
        self._last_attempt = -math.inf
        self._last_error = "the index has not been loaded yet; run `reviewqa index`"

    def get(self) -> SearchIndex:
        """The index; raises IndexNotReadyError (with the reason) while it cannot be loaded."""
        index = self._index
        if index is not None:
            return index
        with self._lock:
            if self._index is None and time.monotonic() - self._last_attempt >= INDEX_RETRY_INTERVAL_S:
                self._try_load()
            if self._index is None:
                raise IndexNotReadyError(self._last_error)
            return self._index

    def _try_load(self) -> None:
        from reviewqa.index import load_index

        self._last_attempt = time.monotonic()
        try:
            self._index = load_index(self._settings)
            logger.info("index loaded: %d passages", len(self._index.passages))
        except IndexNotReadyError as exc:
            self._last_error = str(exc)
            logger.warning("index not ready: %s", exc)


CacheKey = tuple[str, int, str]


class AnswerCache(LRUCache[CacheKey, dict[str, Any]]):
    """Answer dicts by question: one loaded index gives the same answer to the same question."""

    @staticmethod
    def key(question: str, top_k: int, history: list[dict[str, str]]) -> CacheKey:
        return (question, top_k, json.dumps(history, sort_keys=True))


@dataclass
class ServiceState:
    settings: Settings
    index: IndexHolder
    answers: AnswerCache = field(default_factory=lambda: AnswerCache(0))
    # Health probes re-hash the corpus only when a document's size or mtime changed.
    fingerprints: FingerprintMemo = field(default_factory=FingerprintMemo)
