"""Embedding backends (torch fp32, onnx int8), the manifest's record of them, incremental builds through
the vector cache, and the cache's safety against torn writes. Real model, real review text."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reviewqa.errors import IndexNotReadyError
from reviewqa.fileio import file_sha256
from reviewqa.index import build_index, index_status, load_index
from reviewqa.index import build_vectors as bv
from reviewqa.index.embed import Encoder, ModelNotFoundError
from reviewqa.index.onnx_model import int8_model
from reviewqa.index.store import retrieval_text
from reviewqa.index.vector_cache import VectorCache
from reviewqa.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.slow

REVIEW_PATH = PROJECT_ROOT / "corpus" / "documents" / "igf1r-review.txt"
GOLD_PATH = PROJECT_ROOT / "eval" / "gold.jsonl"


class CountingEncoder(Encoder):
    """The real encoder, remembering every text it was asked to embed."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.seen: list[str] = []

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        self.seen.extend(texts)
        return super().encode(texts, progress=progress)


def small_project(root: Path, chars: int = 3500, **changes: object) -> Settings:
    settings = Settings.load(corpus_dir=root / "corpus", index_dir=root / "index", **changes)
    settings.documents_dir.mkdir(parents=True)
    text = REVIEW_PATH.read_text(encoding="utf-8")[:chars]
    (settings.documents_dir / "small-review.txt").write_text(text, encoding="utf-8")
    return settings


@pytest.fixture(scope="module")
def encoders() -> dict[str, Encoder]:
    settings = Settings.load()
    return {
        backend: bv.build_encoder(settings.replace(embed_backend=backend))
        for backend in ("torch", "onnx-int8")
    }


# ---------------------------------------------------------------- backends


@pytest.fixture(scope="module")
def review_passage_vectors(review_index, encoders) -> dict[str, np.ndarray]:
    passages = [retrieval_text(p) for p in review_index.passages]
    return {backend: encoder.encode(passages) for backend, encoder in encoders.items()}


def gold_questions() -> list[str]:
    return [json.loads(line)["question"] for line in GOLD_PATH.read_text(encoding="utf-8").splitlines()]


def test_onnx_int8_vectors_match_torch_on_real_texts(review_index, encoders, review_passage_vectors) -> None:
    texts = [s.text for p in review_index.passages[:12] for s in p.sentences] + gold_questions()[:20]
    fp32 = np.vstack([review_passage_vectors["torch"], encoders["torch"].encode(texts)])
    int8 = np.vstack([review_passage_vectors["onnx-int8"], encoders["onnx-int8"].encode(texts)])
    cosines = np.sum(fp32 * int8, axis=1)
    assert len(cosines) > 100
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)
    assert cosines.min() >= 0.98, int(np.argmin(cosines))
    # A text alone or among others gets the same int8 vector (no batch-dependent quantisation).
    assert np.allclose(
        encoders["onnx-int8"].encode([texts[3]])[0], int8[len(review_index.passages) + 3], atol=1e-6
    )


def test_onnx_int8_ranks_review_passages_like_torch(encoders, review_passage_vectors) -> None:
    """Dense rankings of the review's passages for its gold questions: the review is one topic, so close
    passages swap places; most questions keep their top passage and nearly all their top 5."""
    questions = gold_questions()
    fp32 = review_passage_vectors["torch"] @ encoders["torch"].encode(questions).T
    int8 = review_passage_vectors["onnx-int8"] @ encoders["onnx-int8"].encode(questions).T
    fp32_top, int8_top = np.argsort(-fp32, axis=0)[:5].T, np.argsort(-int8, axis=0)[:5].T
    same_first = np.mean(fp32_top[:, 0] == int8_top[:, 0])
    overlap5 = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(fp32_top, int8_top, strict=True)])
    first_in_top3 = np.mean([b[0] in a[:3] for a, b in zip(fp32_top, int8_top, strict=True)])
    assert same_first >= 0.8 and overlap5 >= 0.85 and first_in_top3 >= 0.95, (same_first, overlap5)


def test_export_from_scratch_is_reproducible_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    settings = Settings.load()
    exported = int8_model(settings.model_path, tmp_path)
    assert exported.is_file() and exported.stat().st_size > 1_000_000
    assert sorted(p.name for p in exported.parent.iterdir()) == ["model_int8.onnx", "source.json"]
    assert not list(tmp_path.glob(".exporting-*"))
    shared = int8_model(settings.model_path, bv.onnx_cache_dir(settings))
    assert file_sha256(exported) == file_sha256(shared)  # same versions, same bytes: checksums mean something
    with pytest.raises(ModelNotFoundError, match="model_path"):
        int8_model(str(tmp_path / "no-model"), tmp_path)


# ---------------------------------------------------------------- manifest and staleness


def test_manifest_records_the_backend_and_a_backend_change_makes_the_index_stale(tmp_path: Path) -> None:
    settings = small_project(tmp_path, embed_backend="onnx-int8")
    manifest = build_index(settings)
    current = settings.index_dir / "current"
    embedding = manifest["embedding"]
    assert embedding["backend"] == "onnx-int8" and embedding["max_seq_length"] == 256
    assert embedding["model_sha256"] == file_sha256(current / bv.EMBED_MODEL)
    assert manifest["files"][bv.EMBED_MODEL]["sha256"] == embedding["model_sha256"]
    index = load_index(settings)
    assert index.encoder.backend == "onnx-int8"
    assert index.encoder.onnx_path.resolve() == (current / bv.EMBED_MODEL).resolve()

    torch_settings = settings.replace(embed_backend="torch")
    status = index_status(torch_settings)
    assert status.state == "stale" and "onnx-int8" in status.reason and "reviewqa index" in status.reason
    with pytest.raises(IndexNotReadyError, match="stale"):
        load_index(torch_settings)
    rebuilt = build_index(torch_settings)
    assert rebuilt["embedding"]["backend"] == "torch" and "model_sha256" not in rebuilt["embedding"]
    assert not (current / bv.EMBED_MODEL).exists()
    assert load_index(torch_settings).encoder.backend == "torch"
    assert index_status(settings).state == "stale"


def test_queries_use_the_backend_the_manifest_names(tmp_path: Path, encoders) -> None:
    from reviewqa.index.search import open_index

    settings = small_project(tmp_path, embed_backend="torch")
    build_index(settings)
    # open_index (no staleness check: benchmarks use it) still embeds queries as the index was embedded.
    index = open_index(settings.index_dir / "current", settings.replace(embed_backend="onnx-int8"))
    assert index.encoder.backend == "torch"
    query = "mammography screening"
    assert np.allclose(index.embed_queries([query])[0], encoders["torch"].encode([query])[0], atol=1e-5)
    # A service reloading a build reuses the previous encoder only when it embeds in the same space.
    directory = settings.index_dir / "current"
    assert open_index(directory, settings, encoder=encoders["torch"]).encoder is encoders["torch"]
    assert open_index(directory, settings, encoder=encoders["onnx-int8"]).encoder.backend == "torch"
    other_model = Encoder("/models/another-model", backend="torch")  # never loaded: it is not reused
    assert open_index(directory, settings, encoder=other_model).encoder is not other_model


# ---------------------------------------------------------------- incremental builds


def test_rebuild_embeds_only_the_texts_that_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = small_project(tmp_path)
    made: list[CountingEncoder] = []

    def counting_encoder(settings: Settings, threads: int = 0) -> Encoder:
        real = bv.build_encoder(settings, threads)
        made.append(CountingEncoder(real.model_path, real.batch_size, 1, real.backend, real.onnx_path))
        return made[-1]

    monkeypatch.setattr("reviewqa.index.store.build_encoder", counting_encoder)
    first = build_index(settings)
    before = load_index(settings)
    old_texts = {retrieval_text(p) for p in before.passages} | {
        s.text for p in before.passages for s in p.sentences
    }
    assert set(made[0].seen) == old_texts  # everything, each distinct text once
    assert len(made[0].seen) == len(old_texts)

    document = settings.documents_dir / "small-review.txt"
    document.write_text(
        document.read_text() + "\n\nSomatostatin analogues lower serum IGF1 in most patients.\n"
    )
    second = build_index(settings)
    after = load_index(settings)
    new_texts = {retrieval_text(p) for p in after.passages} | {
        s.text for p in after.passages for s in p.sentences
    }
    assert set(made[1].seen) == new_texts - old_texts
    assert 0 < len(made[1].seen) < len(new_texts) // 2
    counts = second["embedding"]["counts"]
    assert counts["passages"]["embedded"] + counts["sentences"]["embedded"] == len(made[1].seen)
    assert first["embedding"]["counts"]["passages"]["embedded"] == first["counts"]["passages"]
    # The cached vectors are the ones a fresh build computes.
    fresh = made[1].encode([retrieval_text(p) for p in after.passages])
    assert np.allclose(after.dense.reconstruct_n(0, after.dense.ntotal), fresh, atol=1e-6)


def test_cache_off_embeds_everything_and_writes_no_cache(tmp_path: Path) -> None:
    settings = small_project(tmp_path, embed_cache_builds=0)
    build_index(settings)
    manifest = build_index(settings, force=True)
    assert manifest["embedding"]["counts"]["passages"]["embedded"] == manifest["counts"]["passages"]
    assert not (settings.index_dir / "embed-cache").exists()


def test_pool_of_processes_gives_the_vectors_of_one_process(
    encoders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [s.strip() for s in REVIEW_PATH.read_text(encoding="utf-8")[:6000].split(".") if s.strip()][:24]
    monkeypatch.setattr(bv, "POOL_MIN_TEXTS", 1)
    settings = Settings.load(index_dir=tmp_path, embed_workers=2)
    encoder = bv.build_encoder(settings)
    assert encoder.threads == 2
    vectors = bv.embed_for_index(settings, encoder, texts, None)
    assert np.allclose(vectors.passages, encoders["onnx-int8"].encode(texts), atol=1e-6)
    assert vectors.counts.to_dict() == {"passages": {"texts": len(texts), "embedded": len(set(texts))}}


# ---------------------------------------------------------------- the vector cache


def _vectors(count: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(count, 8)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


KILLED_WRITER = """
import os, signal, sys
import numpy as np
from pathlib import Path
from reviewqa.index import vector_cache as vc
cache = vc.VectorCache(Path(sys.argv[1]), "space", 8)
rng = np.random.default_rng(0)
vectors = rng.normal(size=(200, 8)).astype(np.float32)
cache.put_many([f"committed {i}" for i in range(100)], vectors[:100])
class DiesMidway:
    def __init__(self, db):
        self.db = db
    def execute(self, *args):
        return self.db.execute(*args)
    def executemany(self, sql, rows):
        rows = list(rows)
        self.db.executemany(sql, rows[: len(rows) // 2])  # half the rows written into the open transaction
        os.kill(os.getpid(), signal.SIGKILL)
cache._db = DiesMidway(cache._db)
cache.put_many([f"torn {i}" for i in range(100)], vectors[100:])
"""


def test_cache_survives_a_process_killed_mid_write(tmp_path: Path) -> None:
    path = tmp_path / "vectors.sqlite"
    script = tmp_path / "writer.py"
    script.write_text(KILLED_WRITER)
    result = subprocess.run([sys.executable, str(script), str(path)], capture_output=True, check=False)
    assert result.returncode == -9, result.stderr
    expected = np.random.default_rng(0).normal(size=(200, 8)).astype(np.float32)
    with VectorCache(path, "space", 8) as cache:
        committed = cache.get_many([f"committed {i}" for i in range(100)])
        torn = cache.get_many([f"torn {i}" for i in range(100)])
    assert len(committed) == 100 and not torn
    assert all(np.array_equal(committed[i], expected[i]) for i in range(100))


def test_damaged_rows_are_never_served_and_an_unreadable_cache_starts_empty(tmp_path: Path) -> None:
    path = tmp_path / "vectors.sqlite"
    texts = [f"text {i}" for i in range(10)]
    with VectorCache(path, "space", 8) as cache:
        cache.put_many(texts, _vectors(10))
    with sqlite3.connect(path) as db:  # a torn vector: right length, wrong bytes; and a short one
        keys = [row[0] for row in db.execute("SELECT key FROM vectors ORDER BY key LIMIT 2")]
        db.execute("UPDATE vectors SET vector = zeroblob(32) WHERE key = ?", (keys[0],))
        db.execute("UPDATE vectors SET vector = zeroblob(12) WHERE key = ?", (keys[1],))
    with VectorCache(path, "space", 8) as cache:
        found = cache.get_many(texts)
        assert len(found) == 8 and len(cache) == 8  # the two damaged rows dropped
        assert all(np.array_equal(found[i], _vectors(10)[i]) for i in found)
        assert VectorCache(path, "other space", 8).get_many(texts) == {}  # another model: no hit

    path.write_bytes(b"this is not a database" * 100)
    with VectorCache(path, "space", 8) as cache:
        assert cache.get_many(texts) == {} and len(cache) == 0
        cache.put_many(texts[:1], _vectors(1))
    assert list(tmp_path.glob("vectors.sqlite.damaged-*"))


def test_cache_keeps_only_what_the_last_two_builds_used(tmp_path: Path) -> None:
    path = tmp_path / "vectors.sqlite"
    for build, texts in enumerate([["a", "b"], ["b", "c"], ["c", "d"]]):
        with VectorCache(path, "space", 8) as cache:
            found = cache.get_many(texts)
            missing = [text for i, text in enumerate(texts) if i not in found]
            cache.put_many(missing, _vectors(len(missing), seed=build))
            cache.finish_build(keep_builds=2)
    with VectorCache(path, "space", 8) as cache:
        assert set(cache.get_many(["a", "b", "c", "d"])) == {1, 2, 3}  # only the first build used "a"
