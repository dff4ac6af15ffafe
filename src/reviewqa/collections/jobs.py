"""Background jobs that add or remove one document of a collection and rebuild its index.

A job is a JSON record, ``<index_dir>/jobs/<id>.json``, written once by the service worker that accepts an
upload or a delete, then updated by a runner as it goes (stage, how far, a message). An uploaded file waits
in ``<documents>/.incoming/<id>/`` (hidden: no ingest reads it) until its job runs.

The runner is a process of its own (``python -m reviewqa.collections.runner <jobs folder>``), started by the
worker in a new session at low priority: a worker restarted by gunicorn does not take it down, and the
answering threads keep the CPU first. Runners of one collection take its lock in turn and each runs every
queued job in order, so the jobs of a collection run one after another, never interleaved, and a job queued
while a runner is finishing is run by the runner started for it.

A job changes the corpus only around a successful build: a failure (an unreadable PDF, a full disk) or an
interruption puts the documents folder back as it was, so it matches the build still served.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from reviewqa.errors import ReviewqaError
from reviewqa.fileio import atomic_write_text, exclusive_lock, storage_error
from reviewqa.settings import Settings

log = logging.getLogger(__name__)

JOBS_FOLDER = "jobs"
INCOMING_FOLDER = ".incoming"
RUNNER_LOCK = ".runner.lock"
RUNNER_LOG = "runner.log"
JOB_ID = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{6}$")
STAGES = ("queued", "reading", "ingesting", "embedding", "swapping", "done", "failed")
FINISHED = ("done", "failed")
UNITS = {"reading": "pages", "ingesting": "documents", "embedding": "texts"}
STAGE_MESSAGES = {
    "reading": "reading the new document",
    "ingesting": "reading the collection's documents",
    "embedding": "embedding the new passages and sentences",
    "swapping": "writing the new build and putting it in service",
}
# An interrupted job (its runner killed, the machine restarted) is rolled back and run again this many times.
MAX_ATTEMPTS = 2
SAVE_INTERVAL_S = 0.5  # progress is written at most this often (stage changes at once)


@dataclass
class Job:
    """One document added to or removed from a collection, and the rebuild that follows."""

    id: str
    collection: str
    action: str  # "add" or "delete"
    document: str  # its path in the documents folder
    replace: bool = False  # an add that replaces the document of the same name
    stage: str = "queued"
    done: int = 0
    total: int = 0
    message: str = ""
    created_at: str = ""
    started_at: str | None = None
    finished_at: str | None = None
    build: str | None = None  # the build the job made current
    bytes: int = 0
    sha256: str = ""
    attempts: int = 0
    # The settings of the collection as the service had them: the runner builds with exactly these.
    settings: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def finished(self) -> bool:
        return self.stage in FINISHED

    def view(self) -> dict[str, Any]:
        """What the API shows (not the settings)."""
        return {
            "id": self.id,
            "collection": self.collection,
            "action": self.action,
            "document": self.document,
            "stage": self.stage,
            "done": self.done,
            "total": self.total,
            "unit": UNITS.get(self.stage, ""),
            "message": self.message,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "build": self.build,
        }


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_job_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ-") + secrets.token_hex(3)


def jobs_dir(settings: Settings) -> Path:
    return settings.index_dir / JOBS_FOLDER


def incoming_dir(settings: Settings, job_id: str) -> Path:
    """Where the files of one job wait: the upload, and a document replaced or removed until the build."""
    return settings.documents_dir / INCOMING_FOLDER / job_id


class JobStore:
    """The job records of one collection."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def of(cls, settings: Settings) -> JobStore:
        return cls(jobs_dir(settings))

    def path(self, job_id: str) -> Path:
        return self.folder / f"{job_id}.json"

    def save(self, job: Job) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            self.path(job.id), json.dumps(dataclasses.asdict(job), ensure_ascii=False, indent=1)
        )

    def get(self, job_id: str) -> Job | None:
        """The job ``job_id``; None when there is none (or the id is not one: never a path outside)."""
        if not JOB_ID.match(job_id):
            return None
        try:
            data = json.loads(self.path(job_id).read_text(encoding="utf-8"))
            return Job(**data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:
            log.warning("job record %s is unreadable: %s", self.path(job_id), exc)
            return None

    def ids(self) -> list[str]:
        """Job ids, oldest first (ids begin with their creation time)."""
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.json") if JOB_ID.match(p.stem))

    def jobs(self) -> list[Job]:
        return [job for job_id in self.ids() if (job := self.get(job_id)) is not None]

    def latest(self) -> Job | None:
        ids = self.ids()
        return self.get(ids[-1]) if ids else None

    def active(self) -> list[Job]:
        """Jobs not finished, oldest first: queued, or running (or interrupted while running)."""
        return [job for job in self.jobs() if not job.finished]

    def prune(self, keep: int) -> None:
        """Keep the records of the ``keep`` newest finished jobs (and every unfinished one)."""
        finished = [job for job in self.jobs() if job.finished]
        for job in finished[: max(0, len(finished) - keep)]:
            self.path(job.id).unlink(missing_ok=True)


# ---------------------------------------------------------------- changes to the documents folder


class DocumentChange:
    """The move of files a job makes in the documents folder, undone on failure. Every step is a rename
    within the documents folder, and ``apply`` and ``rollback`` can each be run again after an interruption
    at any point."""

    def __init__(self, settings: Settings, job: Job) -> None:
        self.job = job
        self.folder = incoming_dir(settings, job.id)
        self.target = settings.documents_dir / job.document
        self.upload = self.folder / Path(job.document).name  # the file an add brings
        self.previous = self.folder / "previous"  # the document an add replaces, or a delete removes

    def apply(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.job.action == "add":
            if self.target.exists() and not self.previous.exists():
                if not self.job.replace:
                    raise JobFailed(f"{self.job.document} is already in the collection (added meanwhile)")
                os.rename(self.target, self.previous)
            self.target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(self.upload, self.target)
        elif not self.previous.exists():
            if not self.target.exists():
                raise JobFailed(f"{self.job.document} is not in the collection (removed meanwhile)")
            os.rename(self.target, self.previous)

    def rollback(self) -> None:
        """Put the documents folder back as it was before ``apply`` (the upload back in waiting)."""
        if self.job.action == "add" and self.target.exists() and not self.upload.exists():
            os.rename(self.target, self.upload)
        if self.previous.exists():
            os.rename(self.previous, self.target)

    def discard(self) -> None:
        """Remove what is left of the job's files (after success, or after a failure was rolled back)."""
        discard_folder(self.folder)


def discard_folder(folder: Path) -> None:
    """Remove a job's waiting folder, and .incoming/ when no other job waits."""
    shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):
        folder.parent.rmdir()


class JobFailed(ReviewqaError):
    """A job cannot be done; the message says why, for the user."""


# ---------------------------------------------------------------- running jobs


class Progress:
    """Writes a job's stage and progress to its record: at once on a change of stage, else at most every
    SAVE_INTERVAL_S."""

    def __init__(self, store: JobStore, job: Job) -> None:
        self.store = store
        self.job = job
        self._saved_at = 0.0

    def __call__(self, stage: str, done: int, total: int, message: str = "") -> None:
        job = self.job
        changed = stage != job.stage
        job.stage, job.done, job.total = stage, done, total
        if message or changed:
            job.message = message or STAGE_MESSAGES.get(stage, "")
        if changed or done >= total or time.monotonic() - self._saved_at >= SAVE_INTERVAL_S:
            self.store.save(job)
            self._saved_at = time.monotonic()


def runner_lock(folder: Path) -> contextlib.AbstractContextManager[None]:
    """One runner per collection at a time; the next one waits."""
    return exclusive_lock(folder / RUNNER_LOCK)


def run_jobs(folder: Path, *, keep: int = 50) -> int:
    """Run every unfinished job of the collection whose jobs folder is ``folder``, oldest first, and return
    how many ran. A job found running when the lock is taken was interrupted: it is rolled back and run
    again (or failed after MAX_ATTEMPTS)."""
    store = JobStore(folder)
    ran = 0
    with runner_lock(folder):
        while True:
            active = store.active()
            if not active:
                break
            run_job(store, active[0])
            ran += 1
        store.prune(keep)
    return ran


def run_job(store: JobStore, job: Job) -> None:
    from reviewqa.index.store import current_build

    settings = Settings.from_snapshot(job.settings)
    change = DocumentChange(settings, job)
    progress = Progress(store, job)
    if job.stage != "queued":  # interrupted while running
        change.rollback()
        if job.attempts >= MAX_ATTEMPTS:
            _fail(store, job, change, f"interrupted {job.attempts} times; the previous build is still served")
            return
    job.attempts += 1
    job.started_at = now()
    started = time.monotonic()
    try:
        summary = _run(settings, job, change, progress)
    except (ReviewqaError, OSError) as exc:
        change.rollback()
        if isinstance(exc, OSError):
            exc = storage_error(exc, settings.documents_dir, "the documents are as they were")
        _fail(store, job, change, f"{exc}; the previous build is still served")
        return
    except Exception as exc:  # a bug: the log has the traceback, the record a line
        log.exception("job %s failed", job.id)
        change.rollback()
        message = f"unexpected error ({type(exc).__name__}, details in {RUNNER_LOG})"
        _fail(store, job, change, f"{message}; the previous build is still served")
        return
    change.discard()
    job.build = current_build(settings).name
    job.finished_at = now()
    job.stage = "done"
    job.done = job.total = 1
    job.message = f"{summary} ({time.monotonic() - started:.1f} s)"
    store.save(job)
    log.info("job %s done: %s", job.id, job.message)


def _run(settings: Settings, job: Job, change: DocumentChange, progress: Progress) -> str:
    from reviewqa.answer.stats import DERIVED_WRITERS
    from reviewqa.corpus.ingest import check_document
    from reviewqa.index.store import build_index

    passages = 0
    if job.action == "add":
        progress("reading", 0, 0)
        on_page = partial(progress, "reading")
        passages = check_document(settings, change.upload, job.document, on_page=on_page)
    change.apply()
    # The same build as `reviewqa index`: with the answer stage's statistics.
    manifest = build_index(settings, progress=progress, derived_writers=DERIVED_WRITERS)
    counts = manifest["counts"]
    did = f"removed {job.document}"
    if job.action == "add":
        did = f"added {job.document} ({count(passages, 'passage')})"
    return (
        f"{did}; the collection has {count(counts['documents'], 'document')}, "
        f"{count(counts['passages'], 'passage')}"
    )


def count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def _fail(store: JobStore, job: Job, change: DocumentChange, message: str) -> None:
    change.discard()
    job.stage = "failed"
    job.message = message
    job.finished_at = now()
    store.save(job)
    log.warning("job %s failed: %s", job.id, message)


# ---------------------------------------------------------------- starting a runner


def resume_jobs(settings: Settings) -> list[str]:
    """Start a runner for every collection with unfinished jobs (queued, or interrupted when the service
    stopped: systemd stops the runners with it); the names of those collections."""
    from reviewqa.collections.registry import collection_names, collection_settings

    resumed = []
    for name in collection_names(settings):
        collection = collection_settings(settings, name)
        if JobStore.of(collection).active():
            start_runner(collection)
            resumed.append(name)
    return resumed


def start_runner(settings: Settings) -> None:
    """Start a runner for the collection of ``settings`` in its own session, at low priority, its output
    appended to jobs/runner.log; it runs the queued jobs and exits. Reaped by a thread of this process."""
    folder = jobs_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    runner = [sys.executable, "-m", "reviewqa.collections.runner", str(folder)]
    command = [*runner, "--nice", str(settings.job_nice), "--keep", str(settings.jobs_kept)]
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    with (folder / RUNNER_LOG).open("a") as output:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    threading.Thread(target=process.wait, name="reviewqa-job-reaper", daemon=True).start()
