"""What the app holds between requests: the settings, the build of the index it serves for each collection
(each loaded on first use) and a cache of answers.

The build served is the only state that changes while the service runs. Each worker notices a new build
(``index/current`` names another folder, checked at most every ``reload_check_s``), loads and warms it in a
background thread and then swaps it in with one assignment: a request that already took the old build
finishes on it, the next one gets the new build. A build that fails to load leaves the old one in service.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewqa.corpus.ingest import FingerprintMemo
from reviewqa.errors import IndexNotReadyError, ReviewqaError
from reviewqa.lru import LRUCache
from reviewqa.settings import Settings

if TYPE_CHECKING:
    from reviewqa.index import SearchIndex
    from reviewqa.index.embed import Encoder
    from reviewqa.index.store import LoadedFiles

logger = logging.getLogger(__name__)

WARM_UP_QUESTION = "What is this review about?"


@dataclass(frozen=True)
class LoadedBuild:
    """One build of the index as this process serves it."""

    index: SearchIndex
    directory: Path | None  # the build folder, when known (an index handed to the app may come from anywhere)
    files: LoadedFiles | None  # for health: has the folder been damaged since the load?
    serial: int  # distinct per load in this process: answers cached for one build never serve another

    @property
    def build_id(self) -> str | None:
        return self.directory.name if self.directory is not None else None


class IndexHolder:
    """The build in service, or the reason there is none; notices, loads and swaps in new builds."""

    def __init__(
        self,
        settings: Settings,
        index: SearchIndex | None = None,
        *,
        encoders: Callable[[dict[str, Any]], Encoder | None] | None = None,
    ) -> None:
        self._settings = settings
        # Another loaded collection's query encoder for a manifest of the same model: one copy per worker.
        self._encoders = encoders
        self._serials = itertools.count(1)
        self._lock = threading.Lock()
        self._loader: threading.Thread | None = None
        self._last_check = -math.inf
        self._failed: tuple[Path, str] | None = None  # a build that would not load, and why
        self._last_error = "the index has not been loaded yet; run `reviewqa index`"
        self._loaded: LoadedBuild | None = None
        if index is not None:
            self._loaded = self._given(index)

    # ------------------------------------------------------------ what requests use

    def get(self) -> SearchIndex:
        """The index in service; raises IndexNotReadyError (with the reason) while there is none."""
        return self.build().index

    def build(self) -> LoadedBuild:
        """The build in service (a request keeps using the one it got, even if another is swapped in)."""
        self.refresh()
        loaded = self._loaded
        if loaded is None:
            raise IndexNotReadyError(self.pending() or self._last_error)
        return loaded

    def current(self) -> LoadedBuild | None:
        return self._loaded

    @property
    def loading(self) -> bool:
        loader = self._loader
        return loader is not None and loader.is_alive()

    def pending(self) -> str:
        """What is happening to a build other than the one in service: being loaded, or failed to load."""
        failed = self._failed
        if self.loading:
            return "a new build of the index is being loaded"
        if failed is not None:
            return f"build {failed[0].name} could not be loaded: {failed[1]}"
        return ""

    # ------------------------------------------------------------ noticing and loading builds

    def refresh(self) -> None:
        """At most every ``reload_check_s``: if ``index/current`` names another build than the one in
        service, load it in a background thread (one at a time; a build that failed is retried only once
        ``current`` changes again)."""
        if time.monotonic() - self._last_check < self._settings.reload_check_s:
            return
        with self._lock:
            if time.monotonic() - self._last_check < self._settings.reload_check_s:
                return
            self._last_check = time.monotonic()
            if self.loading:
                return
            directory = self._build_on_disk()
            if directory is None or self._serves(directory):
                return
            if self._failed is not None and self._failed[0] == directory:
                return
            self._loader = threading.Thread(
                target=self._load, args=(directory,), name="reviewqa-index-loader", daemon=True
            )
            self._loader.start()

    def reload(self) -> bool:
        """Load the build ``index/current`` names now, in this thread (start-up, SIGHUP in the gunicorn
        master); True if it is in service afterwards. A failure keeps the build in service, if any."""
        directory = self._build_on_disk()
        if directory is None:
            from reviewqa.index import index_status

            self._last_error = index_status(self._settings).reason
            return False
        if self._serves(directory):
            return True
        return self._load(directory)

    def wait_for_loader(self, timeout: float) -> None:
        """Block until a background load has finished (tests)."""
        loader = self._loader
        if loader is not None:
            loader.join(timeout)

    def _build_on_disk(self) -> Path | None:
        from reviewqa.index.store import current_build

        directory = current_build(self._settings)
        return directory if directory.is_dir() else None

    def _serves(self, directory: Path) -> bool:
        loaded = self._loaded
        return loaded is not None and loaded.directory == directory

    def _load(self, directory: Path) -> bool:
        from reviewqa.index.build_vectors import encoder_fits
        from reviewqa.index.search import load_build
        from reviewqa.index.store import LoadedFiles, read_manifest

        started = time.perf_counter()
        old = self._loaded
        try:
            # The model is the heavy part and the same for every build made with it: reuse the loaded one.
            manifest = read_manifest(directory)
            same_model = old is not None and encoder_fits(old.index.encoder, manifest)
            encoder = old.index.encoder if old is not None and same_model else None
            if encoder is None and self._encoders is not None:
                encoder = self._encoders(manifest)
            index = load_build(self._settings, directory, up_to_date=False, encoder=encoder)
            warm_up(index)
        except ReviewqaError as exc:
            return self._load_failed(directory, str(exc))
        except Exception as exc:  # a bug must not kill the loader silently; the old build stays in service
            logger.exception("loading build %s failed", directory.name)
            return self._load_failed(directory, f"unexpected error ({type(exc).__name__})")
        loaded = LoadedBuild(index, directory, LoadedFiles(directory, index.manifest), next(self._serials))
        self._loaded, self._failed = loaded, None
        logger.info(
            "serving build %s (built %s, %d passages), loaded in %.1f s",
            directory.name,
            index.manifest.get("built_at"),
            len(index.passages),
            time.perf_counter() - started,
        )
        return True

    def _load_failed(self, directory: Path, reason: str) -> bool:
        self._failed, self._last_error = (directory, reason), reason
        serving = self._loaded
        kept = f"; still serving build {serving.build_id}" if serving is not None else ""
        logger.warning("cannot load build %s: %s%s", directory.name, reason, kept)
        return False

    def _given(self, index: SearchIndex) -> LoadedBuild:
        """An index handed to the app: its build folder is ``current``'s if that holds the same manifest."""
        from reviewqa.index.store import LoadedFiles, read_manifest

        directory = self._build_on_disk()
        try:
            same = directory is not None and read_manifest(directory) == index.manifest
        except IndexNotReadyError:
            same = False
        if directory is None or not same:
            return LoadedBuild(index, None, None, next(self._serials))
        return LoadedBuild(index, directory, LoadedFiles(directory, index.manifest), next(self._serials))


def warm_up(index: SearchIndex) -> None:
    """Answer one question, so the answer engine's statistics for this index are built before it serves
    (in the master before forking, they are shared by every worker copy-on-write)."""
    from reviewqa.answer import answer

    answer(WARM_UP_QUESTION, index.settings, index)


CacheKey = tuple[str, int, str, int, str]


class AnswerCache(LRUCache[CacheKey, dict[str, Any]]):
    """Answer dicts by collection, build and question: a build gives the same answer to the same question."""

    @staticmethod
    def key(
        collection: str, build: LoadedBuild, question: str, top_k: int, history: list[dict[str, str]]
    ) -> CacheKey:
        return (collection, build.serial, question, top_k, json.dumps(history, sort_keys=True))


class HealthLog:
    """Logs the service's health when it changes (not on every probe): INFO when it becomes ready with
    nothing to report, WARNING otherwise."""

    def __init__(self) -> None:
        self._last: tuple[object, ...] | None = None
        self._lock = threading.Lock()

    def record(self, status: int, state: str, reason: str, warnings: list[str]) -> None:
        observed = (status, state, reason, tuple(warnings))
        with self._lock:
            if observed == self._last:
                return
            self._last = observed
        level = logging.INFO if status == 200 and not warnings else logging.WARNING
        details = "; ".join(warnings) if status == 200 else reason
        logger.log(level, "health: %d %s%s", status, state, f" ({details})" if details else "")


@dataclass
class CollectionState:
    """One collection as a worker holds it: its settings and the build of its index in service."""

    settings: Settings
    index: IndexHolder
    # Health probes and listings re-hash the corpus only when a document's size or mtime changed.
    fingerprints: FingerprintMemo = field(default_factory=FingerprintMemo)
    health_log: HealthLog = field(default_factory=HealthLog)
    _first_load: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _loaded_once: bool = False

    @property
    def name(self) -> str:
        return self.settings.collection

    def ensure_loaded(self) -> None:
        """Load the build on first use, in the calling thread; other requests for the collection wait for
        it rather than answer 503. Later builds are noticed and loaded in the background (IndexHolder)."""
        if self._loaded_once:
            return
        with self._first_load:
            if not self._loaded_once:
                self.index.reload()
                self._loaded_once = True


class ServedCollections:
    """The collections a worker serves: the default one loaded at start (before the workers fork, so they
    share it), every other one on its first request, in the worker that gets it."""

    def __init__(self, settings: Settings, index: SearchIndex | None = None) -> None:
        self.settings = settings  # the default collection's
        default = CollectionState(settings, IndexHolder(settings, index, encoders=self.encoder_for))
        default._loaded_once = index is not None
        self._states: dict[str, CollectionState] = {settings.collection: default}
        self._lock = threading.Lock()
        # For listings of collections this worker has not loaded: their corpus is hashed once per change.
        self._fingerprints: dict[str, FingerprintMemo] = {}

    @property
    def default(self) -> CollectionState:
        return self._states[self.settings.collection]

    def get(self, name: str | None = None) -> CollectionState:
        """The collection ``name`` (default: the default collection), loaded if this is its first use;
        UnknownCollectionError (or SettingsError for a name that cannot be one) when there is none."""
        from reviewqa.collections.registry import collection_settings

        state = self._states.get(name or self.settings.collection)
        if state is None:
            settings = collection_settings(self.settings, name or self.settings.collection)
            with self._lock:
                state = self._states.get(settings.collection)
                if state is None:
                    holder = IndexHolder(settings, encoders=self.encoder_for)
                    state = self._states[settings.collection] = CollectionState(settings, holder)
        state.ensure_loaded()
        return state

    def fingerprints(self, name: str) -> FingerprintMemo:
        state = self._states.get(name)
        if state is not None:
            return state.fingerprints
        with self._lock:
            return self._fingerprints.setdefault(name, FingerprintMemo())

    def loaded(self, name: str) -> CollectionState | None:
        """The collection ``name`` if this worker has it, without loading it."""
        return self._states.get(name)

    def all_loaded(self) -> list[CollectionState]:
        return list(self._states.values())

    def reload(self) -> bool:
        """Load the current build of every collection this worker has (SIGHUP); True if the default
        collection's is in service afterwards."""
        for state in self.all_loaded():
            if state is not self.default:
                state.index.reload()
        return self.default.index.reload()

    def encoder_for(self, manifest: dict[str, Any]) -> Encoder | None:
        """The query encoder of a loaded build in the same vector space as ``manifest``, if any."""
        from reviewqa.index.build_vectors import encoder_fits

        for state in self.all_loaded():
            served = state.index.current()
            if served is not None and encoder_fits(served.index.encoder, manifest):
                return served.index.encoder
        return None


@dataclass
class ServiceState:
    collections: ServedCollections
    answers: AnswerCache = field(default_factory=lambda: AnswerCache(0))

    @property
    def settings(self) -> Settings:
        """The default collection's settings (the service's own settings are the same but for the paths)."""
        return self.collections.settings

    @property
    def index(self) -> IndexHolder:
        """The default collection's index holder."""
        return self.collections.default.index
