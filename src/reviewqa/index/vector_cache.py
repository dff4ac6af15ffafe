"""Embedded vectors kept between builds, by content: a rebuild embeds only the texts that changed.

The key of a vector is the sha256 of its vector space (``Encoder.space``: backend and weights digest)
and the exact text embedded, so a changed text, model or backend is a miss, never a wrong vector.

The cache is one SQLite database (``index/embed-cache/vectors.sqlite``, outside the versioned build
folders). SQLite commits are atomic (write-ahead log), so a crash mid-write loses at most the vectors of
the unfinished transaction; each row also carries a digest of its vector bytes, checked on every read,
so a damaged row is a miss and is dropped, never served. A database SQLite cannot read is moved aside
and the cache starts empty. Bounded: every build marks the rows it used with its generation number, and
:meth:`VectorCache.finish_build` drops rows no build of the last ``keep_builds`` used. Deleting the folder is
always safe: the next build embeds everything.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from reviewqa.fileio import no_space_left

log = logging.getLogger(__name__)

CACHE_DIR = "embed-cache"
DATABASE = "vectors.sqlite"
# Uses apart from vectors: a build stamps every row it reads, and rewriting small rows is cheap. Vectors
# in a rowid table with 16 KiB pages: 1.7 KB per 384-d vector on disk (a WITHOUT ROWID table with 4 KiB
# pages took 4.7 KB, and inserted 6x slower).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    key BLOB PRIMARY KEY,      -- sha256(space NUL text)
    vector BLOB NOT NULL,      -- float32, little-endian
    digest BLOB NOT NULL       -- blake2b-16 of vector
);
CREATE TABLE IF NOT EXISTS uses (
    key BLOB PRIMARY KEY,
    generation INTEGER NOT NULL  -- the last build that used the vector
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
SCHEMA_VERSION = 1  # another version's cache is emptied, not misread
_LOOKUP_CHUNK = 500  # keys per SELECT (SQLite's default limit on parameters is 32,766)


@contextlib.contextmanager
def _as_os_errors(path: Path) -> Iterator[None]:
    """SQLite's operational failures (disk full, read-only, I/O) as the OSError they are, so a build
    reports them like any other write failure; a damaged file stays a DatabaseError (handled above)."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        message = str(exc)
        code = errno.EROFS if "readonly" in message else errno.EIO
        if "full" in message or no_space_left(path.parent):  # SQLite may say "disk I/O error" instead
            code = errno.ENOSPC
        raise OSError(code, f"{os.strerror(code)} (vector cache: {message})", str(path)) from exc


def text_key(space: str, text: str) -> bytes:
    return hashlib.sha256(f"{space}\0{text}".encode()).digest()


def _digest(vector_bytes: bytes) -> bytes:
    return hashlib.blake2b(vector_bytes, digest_size=16).digest()


class VectorCache:
    """Vectors by (space, text) for one index directory; one build uses it at a time (the build lock)."""

    def __init__(self, path: Path, space: str, dimension: int) -> None:
        self.path = path
        self.space = space
        self.dimension = dimension
        self.hits = 0
        self.misses = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with _as_os_errors(path):
                self._db = self._open()
        except sqlite3.DatabaseError as exc:  # not a database, or damaged beyond SQLite's recovery
            aside = path.with_name(f"{path.name}.damaged-{time.time_ns()}")
            log.warning("vector cache %s unreadable (%s): moved to %s, starting empty", path, exc, aside)
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    Path(f"{path}{suffix}").rename(f"{aside}{suffix}")
            with _as_os_errors(path):
                self._db = self._open()
        self.generation = self._meta("generation") + 1

    @classmethod
    def for_index(cls, index_dir: Path, space: str, dimension: int) -> VectorCache:
        return cls(index_dir / CACHE_DIR / DATABASE, space, dimension)

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None)  # transactions are explicit below
        try:
            db.execute("PRAGMA page_size = 16384")  # takes effect when the file is created
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL: a power cut may lose the last commit, not corrupt
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                db.executescript(
                    "DROP TABLE IF EXISTS vectors; DROP TABLE IF EXISTS uses; DROP TABLE IF EXISTS meta;"
                )
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.executescript(_SCHEMA)
            db.execute("SELECT count(*) FROM vectors WHERE 0").fetchall()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> VectorCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _meta(self, name: str) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with _as_os_errors(self.path):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def get_many(self, texts: Sequence[str]) -> dict[int, np.ndarray]:
        """The cached vectors of ``texts``, by position; rows that fail their digest are dropped."""
        keys = [text_key(self.space, text) for text in texts]
        positions: dict[bytes, list[int]] = {}
        for position, key in enumerate(keys):
            positions.setdefault(key, []).append(position)
        unique = list(positions)
        found: dict[int, np.ndarray] = {}
        damaged: list[bytes] = []
        with self._transaction() as db:
            for start in range(0, len(unique), _LOOKUP_CHUNK):
                chunk = unique[start : start + _LOOKUP_CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = db.execute(f"SELECT key, vector, digest FROM vectors WHERE key IN ({marks})", chunk)
                for key, vector, digest in rows.fetchall():
                    if len(vector) != 4 * self.dimension or _digest(vector) != digest:
                        damaged.append(key)
                        continue
                    array = np.frombuffer(vector, dtype="<f4").astype(np.float32)
                    for position in positions[key]:
                        found[position] = array
            db.executemany(
                "INSERT OR REPLACE INTO uses VALUES (?, ?)", [(key, self.generation) for key in unique]
            )
            if damaged:
                log.warning("vector cache: %d damaged rows dropped (they are embedded again)", len(damaged))
                db.executemany("DELETE FROM vectors WHERE key = ?", [(key,) for key in damaged])
        self.hits += len(found)
        self.misses += len(texts) - len(found)
        return found

    def put_many(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store ``vectors`` (one row per text) in one transaction: all of them or none."""
        if vectors.shape != (len(texts), self.dimension):
            raise ValueError(f"expected {len(texts)} vectors of {self.dimension}, got {vectors.shape}")
        rows = []
        for text, vector in zip(texts, vectors, strict=True):
            data = np.ascontiguousarray(vector, dtype="<f4").tobytes()
            rows.append((text_key(self.space, text), data, _digest(data)))
        with self._transaction() as db:
            db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)
            db.executemany(
                "INSERT OR REPLACE INTO uses VALUES (?, ?)", [(r[0], self.generation) for r in rows]
            )

    def finish_build(self, keep_builds: int) -> int:
        """Record this build's generation and drop rows the last ``keep_builds`` builds did not use.

        Returns the number of rows dropped."""
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (self.generation,))
            oldest_kept = self.generation - max(keep_builds, 1) + 1
            db.execute("DELETE FROM uses WHERE generation < ?", (oldest_kept,))
            dropped = db.execute("DELETE FROM vectors WHERE key NOT IN (SELECT key FROM uses)").rowcount
        if dropped:
            log.info("vector cache: %d vectors unused by the last %d builds dropped", dropped, keep_builds)
        return dropped

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM vectors").fetchone()[0])
