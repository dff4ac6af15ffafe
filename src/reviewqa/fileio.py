"""File helpers shared by the stages: atomic writes and swaps, so an interrupted run never leaves half a file
or a missing folder; modes that respect the umask; one-line messages for failed writes."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from reviewqa.errors import StorageError

log = logging.getLogger(__name__)

STAGING_PREFIX = ".building-"  # a version folder being written
REMOVING_PREFIX = ".removing-"  # a version folder being deleted

# What an operator reads for the errno values a write of the index or the corpus artefacts meets.
OS_ERROR_CAUSES = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.EIO: "input/output error",
}


def current_umask() -> int:
    """The process umask, read without changing it where Linux allows (os.umask can only set it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # not thread-safe, but only reached without /proc
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode ``open()`` gives a new file (0644 under the usual umask 022); mkstemp would give 0600."""
    return 0o666 & ~current_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, file_mode())  # readable by a service running as another user, as open() would be
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def fsync_tree(directory: Path) -> None:
    """Flush every file under ``directory`` and the folders themselves, before it is swapped in: a rename
    is atomic against crashes of the process, and after this against power loss too."""
    for path in sorted(directory.rglob("*"), reverse=True):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
        elif path.is_dir() and not path.is_symlink():
            fsync_dir(path)
    fsync_dir(directory)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_symlink(link: Path, target: str) -> None:
    """Point ``link`` at ``target`` in one step: a new link under a temporary name renamed over the old one,
    so readers find the old target or the new one, never nothing."""
    temporary = link.with_name(f".{link.name}.{uuid.uuid4().hex}.tmp")
    os.symlink(target, temporary)
    try:
        os.replace(temporary, link)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_dir(link.parent)


def new_version_name(folder: Path) -> str:
    """A name for the next version folder in ``folder`` that sorts after every earlier one: the UTC time to
    the microsecond (or, should the clock have gone back, the newest name with a suffix)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    newest = max((p.name for p in folder.iterdir() if not p.name.startswith(".")), default="")
    return stamp if stamp > newest else f"{newest}-{time.monotonic_ns()}"


def swap_in_version(staging: Path, link: Path) -> None:
    """Publish a complete version folder: rename ``STAGING_PREFIX<name>`` to ``<name>``, then point ``link``
    at it with one rename of a new symlink (relative, so the tree can be moved). The version ``link`` named
    before stays (readers fall back to it until the next one succeeds); older versions beside it go."""
    final = staging.with_name(staging.name.removeprefix(STAGING_PREFIX))
    os.rename(staging, final)
    fsync_dir(final.parent)
    previous = link.resolve().name if link.is_dir() else None
    if link.is_dir() and not link.is_symlink():
        # A copy of the tree that followed the links (cp -L, shutil.copytree): a folder, not a version.
        copied = link.with_name(f"{REMOVING_PREFIX}{link.name}-{uuid.uuid4().hex}")
        os.rename(link, copied)
        replace_symlink(link, os.path.relpath(final, link.parent))
        shutil.rmtree(copied, ignore_errors=True)
        previous = None
    else:
        replace_symlink(link, os.path.relpath(final, link.parent))
    prune_versions(final.parent, keep={final.name, previous})


def prune_versions(folder: Path, keep: set[str | None]) -> None:
    """Remove version folders other than ``keep``: each is renamed to a hidden name first, so a crash halfway
    through never leaves a half-deleted folder that looks like a complete version."""
    for version in sorted(folder.iterdir()):
        hidden_or_kept = version.name.startswith(".") or version.name in keep
        if hidden_or_kept or version.is_symlink() or not version.is_dir():
            continue
        hidden = version.with_name(f"{REMOVING_PREFIX}{version.name}")
        try:
            os.rename(version, hidden)
        except OSError as exc:
            log.warning("cannot remove the old version %s: %s", version, exc)
            continue
        shutil.rmtree(hidden, ignore_errors=True)


def remove_unfinished_versions(folder: Path) -> None:
    """Delete what interrupted runs left in ``folder``: versions being written or removed, and links made
    under a temporary name that a crash kept from being renamed into place."""
    for leftover in [*folder.glob(f"{STAGING_PREFIX}*"), *folder.glob(f"{REMOVING_PREFIX}*")]:
        shutil.rmtree(leftover, ignore_errors=True)
    remove_temporary_links(folder)


def remove_temporary_links(folder: Path) -> None:
    """Delete the links ``replace_symlink`` left under a temporary name in ``folder`` (a crash between
    making one and renaming it)."""
    for leftover in folder.glob(".*.tmp"):
        if leftover.is_symlink():
            leftover.unlink()


def storage_error(exc: OSError, path: Path, what: str) -> StorageError:
    """A one-line error for a failed write: the path, the cause and what was left as it was.

    Some writers (numpy's ``tofile``) raise OSError without an errno ("... requested and ... written") when
    the disk fills up; the free space of the file system tells that case apart.
    """
    where = Path(exc.filename) if isinstance(exc.filename, str | os.PathLike) else path
    cause = OS_ERROR_CAUSES.get(exc.errno or 0) or exc.strerror or str(exc)
    if exc.errno is None and no_space_left(path):
        cause = OS_ERROR_CAUSES[errno.ENOSPC]
    return StorageError(f"cannot write {where}: {cause}; {what}")


# Less free space than this after a failed write means the disk filled up: some writers do not say so
# (numpy's tofile, faiss's fwrite, SQLite's "disk I/O error"). 1 MiB, not less, because a failed SQLite
# transaction (a chunk of 256 vectors, ~0.4 MB) may be rolled back before the check.
NEARLY_FULL_BYTES = 1 << 20


def no_space_left(path: Path) -> bool:
    """Whether the file system holding ``path`` (or its nearest existing parent) is (almost) full: less than
    ``NEARLY_FULL_BYTES`` free for an unprivileged writer."""
    for candidate in (path, *path.parents):
        try:
            stats = os.statvfs(candidate)
        except OSError:
            continue
        return stats.f_bavail * stats.f_frsize < NEARLY_FULL_BYTES
    return False


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read a block at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def exclusive_lock(lock_path: Path, unchanged: str | None = None) -> Iterator[None]:
    """Hold an exclusive flock on ``lock_path`` (created with its folder); a second holder waits. With
    ``unchanged`` (what is left as it was), a lock file that cannot be made is a StorageError."""
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = lock_path.open("a")
    except OSError as exc:
        if unchanged is None:
            raise
        raise storage_error(exc, lock_path.parent, unchanged) from exc
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
