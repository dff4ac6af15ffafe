"""Crashes at every step of a swap, disk full, a read-only file system, file modes (issue 12, items 3 and 5).

After a crash at any point of a build or an ingest, the index loads and the corpus artifacts agree with each
other; a failed write is one line naming the path and the cause, and leaves what was there before.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from fault_support import REVIEWQA, CrashAfter, cli_env, copy_project, small_project

from reviewqa.corpus import ingest, ingested_fingerprint, load_clean_text, load_documents, load_passages
from reviewqa.corpus.ingest import ARTIFACTS, INGESTED_FOLDER
from reviewqa.fileio import NEARLY_FULL_BYTES, StorageError, storage_error
from reviewqa.index import build_index, load_index, store
from reviewqa.index.vector_cache import _as_os_errors
from reviewqa.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = small_project(tmp_path_factory.mktemp("faults-storage"))
    build_index(settings)
    return settings


def copying_write_index(source: Path):
    """A write_index that copies an already built index, marked as a new build: the swap is under test
    here, not the embedding, and every step then takes milliseconds."""

    def write_index(directory: Path, *args: object, **kwargs: object) -> dict:
        shutil.copytree(source, directory, dirs_exist_ok=True)
        manifest = json.loads((directory / "manifest.json").read_text())
        manifest["built_at"] = datetime.now(UTC).isoformat(timespec="microseconds")
        (directory / "manifest.json").write_text(json.dumps(manifest))
        return manifest

    return write_index


def to_old_layout(settings: Settings) -> None:
    """index/current as a plain folder and no builds/, as written before builds/ existed."""
    build = store.current_build(settings)
    (settings.index_dir / "current").unlink()
    shutil.move(build, settings.index_dir / "current")
    shutil.rmtree(settings.index_dir / "builds")


def leftovers(index_dir: Path) -> list[str]:
    hidden = [p for p in index_dir.rglob(".*") if p.name not in (".build.lock", ".ingest.lock")]
    return sorted(str(p.relative_to(index_dir)) for p in hidden)


@pytest.mark.parametrize("layout", ["builds", "old current folder"])
def test_a_crash_at_every_step_of_the_swap_leaves_a_loadable_index(
    built: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    source = shutil.copytree(store.current_build(built), tmp_path / "source-build")
    monkeypatch.setattr(store, "write_index", copying_write_index(source))
    passages, documents = load_passages(built), load_documents(built)
    fingerprint = ingested_fingerprint(built) or ""
    old_built_at = load_index(built).manifest["built_at"]

    def attempt(name: str, step: int | None) -> tuple[Settings, CrashAfter]:
        project = copy_project(built, tmp_path / name)
        if layout == "builds":  # an older build besides the previous one: the new build removes it
            shutil.copytree(source, project.index_dir / "builds" / "20000101T000000000000Z")
        else:
            to_old_layout(project)
        with monkeypatch.context() as patch:
            crash = CrashAfter(patch, step)
            crash.armed = True
            try:
                store.build_from_passages(project, passages, documents, fingerprint)
            except BaseException as exc:
                assert step is not None and type(exc).__name__ == "Crash", exc
        return project, crash

    _, dry_run = attempt("dry-run", None)
    steps = dry_run.count
    assert steps >= 4, "the swap should take several file operations"
    served = []
    for step in range(1, steps + 1):
        project, _ = attempt(f"crash-{step}", step)
        index = load_index(project)  # must load, whatever step the crash hit
        assert index.passages
        served.append("old" if index.manifest["built_at"] == old_built_at else "new")
        rebuilt = store.build_from_passages(project, passages, documents, fingerprint)
        assert load_index(project).manifest == rebuilt
        assert (project.index_dir / "current").is_symlink()
        assert leftovers(project.index_dir) == [], f"after a crash at step {step}"
        assert len(list((project.index_dir / "builds").iterdir())) <= 2
    # The early steps leave the old build in service, the late ones (removing the oldest build, after the
    # switch) the new: both sides of the switch were exercised.
    assert served[0] == "old", served
    if layout == "builds":
        assert served[-1] == "new", served


def artifact_folders(settings: Settings) -> set[Path]:
    return {Path(os.path.realpath(settings.index_dir / name)).parent for name in ARTIFACTS}


def assert_consistent(settings: Settings) -> None:
    """Every artifact comes from the same ingest run, and the passages' offsets fit the clean texts."""
    assert len(artifact_folders(settings)) == 1
    texts: dict[str, str] = {}
    for passage in load_passages(settings):
        text = texts.setdefault(passage.document, load_clean_text(settings, passage.document))
        assert text[passage.start : passage.end] == passage.text
    assert {d["doc_id"] for d in load_documents(settings)} == set(texts)


def test_a_crash_at_every_step_of_an_ingest_leaves_consistent_artifacts(
    built: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def changed_project(name: str) -> Settings:
        project = copy_project(built, tmp_path / name)
        versions = project.index_dir / INGESTED_FOLDER  # an older version too: the new run removes it
        shutil.copytree(versions / "current", versions / "20000101T000000000000Z")
        with (project.documents_dir / "small-review.txt").open("a", encoding="utf-8") as fh:
            fh.write("\n\nSomatostatin analogues lower serum IGF1 in a new paragraph.\n")
        return project

    def attempt(project: Settings, step: int | None) -> CrashAfter:
        with monkeypatch.context() as patch:
            crash = CrashAfter(patch, step)
            crash.armed = True
            try:
                ingest(project)
            except BaseException as exc:
                assert step is not None and type(exc).__name__ == "Crash", exc
        return crash

    old = ingested_fingerprint(built)
    dry_run = changed_project("dry-run")
    steps = attempt(dry_run, None).count
    new = ingested_fingerprint(dry_run)
    assert steps >= 3 and new != old
    seen = []
    for step in range(1, steps + 1):
        project = changed_project(f"crash-{step}")
        attempt(project, step)
        assert_consistent(project)
        seen.append(ingested_fingerprint(project))
        assert seen[-1] in (old, new)
        ingest(project)
        assert_consistent(project)
        assert ingested_fingerprint(project) == new
        assert not list((project.index_dir / INGESTED_FOLDER).glob(".*")), f"after a crash at step {step}"
    assert seen[0] == old and seen[-1] == new


def test_an_index_written_before_versioned_folders_is_taken_over(built: Settings, tmp_path: Path) -> None:
    """Plain artifact files and a plain current/ folder (the earlier layout) become links and a build."""
    project = copy_project(built, tmp_path / "old")
    to_old_layout(project)
    for name in ARTIFACTS:
        path = project.index_dir / name
        target = Path(os.path.realpath(path))
        path.unlink()
        shutil.move(target, path)
    shutil.rmtree(project.index_dir / INGESTED_FOLDER)
    before = load_index(project).manifest  # the old layout loads as it is
    assert_consistent(project)
    ingest(project)
    assert_consistent(project)
    assert all((project.index_dir / name).is_symlink() for name in ARTIFACTS)
    build_index(project, force=True)
    assert (project.index_dir / "current").is_symlink()
    builds = sorted(p.name for p in (project.index_dir / "builds").iterdir())
    assert len(builds) == 2  # the old folder, kept as the previous build, and the new one
    assert store.read_manifest(project.index_dir / "builds" / builds[0]) == before


# ---------------------------------------------------------------- file systems that refuse writes


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A small tmpfs at ``path``, to fill up; skips (saying why) where it cannot be mounted."""
    if os.geteuid() != 0:
        pytest.skip("a full disk is simulated with a small tmpfs, which only root can mount; not root here")
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to simulate a full disk: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder: Path, leave_bytes: int) -> Path:
    """A file taking all the free space of ``folder``'s file system but ``leave_bytes``."""
    stats = os.statvfs(folder)
    remaining = max(0, stats.f_bavail * stats.f_frsize - leave_bytes)
    filler = folder / "filler"
    with filler.open("wb") as fh:
        while remaining > 0:
            piece = min(1 << 20, remaining)
            try:
                fh.write(b"\0" * piece)
                fh.flush()
            except OSError:  # full already
                break
            remaining -= piece
    return filler


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(REVIEWQA), *args], capture_output=True, text=True, env=cli_env(settings), timeout=300
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def on_tmpfs(built: Settings, tmp_path: Path, disk: Path) -> Settings:
    """A copy of the built project whose index folder is the mounted ``disk``."""
    project = copy_project(built, tmp_path / "project")
    shutil.rmtree(project.index_dir)
    shutil.copytree(built.index_dir, disk, symlinks=True, dirs_exist_ok=True)
    return project.replace(index_dir=disk)


def test_disk_full_during_a_build_is_one_line_and_keeps_the_index(built: Settings, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "96m") as disk:  # room for the 59 MB int8 model
        project = on_tmpfs(built, tmp_path, disk)
        before = store.read_manifest(store.current_build(project))
        filler = fill(disk, leave_bytes=16 * 1024)  # a build of this index takes ~100 KB

        error = assert_one_line_error(run_cli(project, "index", "--force"), "cannot write", "no space left")
        assert "the previous index is unchanged" in error
        assert load_index(project).manifest == before  # checksums verified: untouched
        assert leftovers(project.index_dir) == []

        filler.unlink()
        assert build_index(project, force=True)["built_at"] > before["built_at"]


def test_disk_full_during_an_ingest_keeps_the_previous_artifacts(built: Settings, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "96m") as disk:  # room for the 59 MB int8 model
        project = on_tmpfs(built, tmp_path, disk)
        fingerprint, folders = ingested_fingerprint(project), artifact_folders(project)
        with (project.documents_dir / "small-review.txt").open("a", encoding="utf-8") as fh:
            fh.write("\n\nA new paragraph that the failed ingest must not half-apply.\n")
        fill(disk, leave_bytes=0)

        assert_one_line_error(run_cli(project, "ingest"), "cannot write", "no space left", "unchanged")
        assert ingested_fingerprint(project) == fingerprint and artifact_folders(project) == folders
        assert_consistent(project)
        assert_one_line_error(run_cli(project, "index"), "no space left")  # it ingests first, and says so
        assert leftovers(project.index_dir) == []


def test_a_read_only_index_folder_is_one_line(built: Settings, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "96m") as disk:  # room for the 59 MB int8 model
        project = on_tmpfs(built, tmp_path, disk)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        assert_one_line_error(run_cli(project, "index", "--force"), str(disk), "read-only file system")
        assert load_index(project).passages


@pytest.mark.parametrize("free", [NEARLY_FULL_BYTES - 4096, NEARLY_FULL_BYTES], ids=["nearly-full", "enough"])
def test_a_write_failing_without_a_cause_is_a_full_disk_by_one_threshold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, free: int
) -> None:
    """numpy's tofile and SQLite's "disk I/O error" do not say the disk is full: the free space does, with
    the same threshold for the index's files and the vector cache."""
    monkeypatch.setattr(os, "statvfs", lambda path: SimpleNamespace(f_bavail=free // 4096, f_frsize=4096))
    full = free < NEARLY_FULL_BYTES
    error = storage_error(OSError("4096 requested and 0 written"), tmp_path / "passages.faiss", "unchanged")
    assert ("no space left on the device" in str(error)) == full, error
    with pytest.raises(OSError) as raised, _as_os_errors(tmp_path / "embed-cache" / "vectors.sqlite"):
        raise sqlite3.OperationalError("disk I/O error")
    assert raised.value.errno == (errno.ENOSPC if full else errno.EIO)


def test_a_full_disk_is_told_apart_before_the_half_written_build_is_removed(
    built: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Removing a half-written build frees the space that ran out: checked afterwards, a full disk looked
    like any faiss failure and its RuntimeError reached the user."""
    project = copy_project(built, tmp_path / "project")
    half_written: list[Path] = []

    def write_until_full(directory: Path, *args: object, **kwargs: object) -> None:
        half_written.append(directory)
        (directory / "passages.faiss").write_bytes(b"\0" * 4096)
        raise RuntimeError("fwrite(...) failed")  # how faiss says a write failed

    real_statvfs = os.statvfs

    def statvfs(path: object) -> SimpleNamespace:  # full while the half-written build is there
        stats = real_statvfs(path)
        full = any(folder.exists() for folder in half_written)
        return SimpleNamespace(f_bavail=0 if full else stats.f_bavail, f_frsize=stats.f_frsize)

    monkeypatch.setattr(store, "write_index", write_until_full)
    monkeypatch.setattr(os, "statvfs", statvfs)
    with pytest.raises(StorageError, match="no space left"):
        build_index(project, force=True)
    assert half_written and not half_written[0].exists()
    assert leftovers(project.index_dir) == []


# ---------------------------------------------------------------- file modes


def modes(folder: Path) -> set[str]:
    return {
        f"{'d' if path.is_dir() else 'f'}{stat.S_IMODE(path.stat().st_mode):o}"
        for path in [folder, *folder.rglob("*")]
    }


def test_index_and_ingest_files_are_readable_by_other_users_as_the_umask_allows(
    built: Settings, tmp_path: Path
) -> None:
    """A service running as another user (the systemd unit's User=reviewqa) must read an index an admin
    built: files 0644 and folders 0755 under umask 022, as open() and mkdir() make them; 027 gives
    0640/0750."""
    for folder in (
        store.current_build(built),
        Path(os.path.realpath(built.index_dir / "ingest.json")).parent,
    ):
        assert modes(folder) == {"d755", "f644"}, folder
    project = copy_project(built, tmp_path / "umask")
    with (project.documents_dir / "small-review.txt").open("a", encoding="utf-8") as fh:
        fh.write("\n\nOne more sentence, so that the corpus is ingested again.\n")
    previous = os.umask(0o027)
    try:
        build_index(project)
    finally:
        os.umask(previous)
    for folder in (
        store.current_build(project),
        Path(os.path.realpath(project.index_dir / "ingest.json")).parent,
    ):
        assert modes(folder) == {"d750", "f640"}, folder
