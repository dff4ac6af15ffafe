"""Uploads and deletes through the API: who may, what is accepted, the jobs that follow (run here in-process
by the same runner code the service starts as a process), failures that leave the previous build served,
uploads that queue, and a job interrupted mid-way."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from collection_support import NOTES, NOTES_QUESTION, copy_of, upload
from flask.testing import FlaskClient
from service_support import assert_json_error

from reviewqa.collections.jobs import INCOMING_FOLDER, Job, JobStore, jobs_dir, new_job_id, now, run_jobs
from reviewqa.errors import StorageError
from reviewqa.index import store
from reviewqa.service import create_app
from reviewqa.settings import Settings

pytestmark = pytest.mark.slow

TOKEN = "correct-horse-battery-staple"
PAPER = (
    "Quartz lanterns\n\nThe quartz lantern study followed 310 lighthouse keepers for nine years and found "
    "that blue quartz lanterns halved night-time eye strain compared with amber ones.\n"
)
PAPER_QUESTION = "Which quartz lanterns halved night-time eye strain?"
PDF_MINIMAL = b"%PDF-1.7\n% not really a PDF beyond its first line\n" + bytes(range(256)) * 4


@pytest.fixture
def project(collections_template: Settings, tmp_path: Path) -> Settings:
    """The small review and the collection "notes", both indexed; jobs are left to the test to run."""
    return copy_of(collections_template, tmp_path / "project", job_runner="external")


def client_for(settings: Settings, **changes: object) -> FlaskClient:
    return create_app(settings.replace(**changes)).test_client()


def run(settings: Settings, collection: str) -> list[Job]:
    """Run the collection's queued jobs as the runner process would; its jobs, oldest first."""
    folder = jobs_dir(settings.for_collection(collection))
    run_jobs(folder)
    return JobStore(folder).jobs()


def nothing_waits(settings: Settings, collection: str) -> bool:
    documents = settings.for_collection(collection).documents_dir
    return (
        not (documents / INCOMING_FOLDER).exists()
        and JobStore.of(settings.for_collection(collection)).ids() == []
    )


# ---------------------------------------------------------------- who may upload


def test_no_uploads_without_a_token_when_the_service_listens_beyond_this_machine(project: Settings) -> None:
    client = client_for(project, host="0.0.0.0")
    refused = assert_json_error(
        upload(client, "papers", "paper.txt", PAPER.encode()), 403, "uploads_not_allowed"
    )
    assert "0.0.0.0" in refused["error"]["message"] and "upload_token" in refused["error"]["message"]
    assert_json_error(client.delete("/api/v1/collections/review/documents/small-review"), 403)
    policy = client.get("/api/v1/collections").get_json()["uploads"]
    assert policy["allowed"] is False
    assert not project.for_collection("papers").corpus_dir.exists()


def test_with_a_token_set_uploads_need_it(project: Settings) -> None:
    client = client_for(project, host="0.0.0.0", upload_token=TOKEN)
    for token in (None, "wrong", TOKEN + "x"):
        refused = upload(client, "papers", "paper.txt", PAPER.encode(), token=token)
        assert_json_error(refused, 401, "unauthorized")
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    basic = upload(client, "papers", "x.txt", b"x", headers={"Authorization": f"Basic {TOKEN}"})
    assert_json_error(basic, 401)
    assert client.get("/api/v1/collections").get_json()["uploads"] == {
        "allowed": True,
        "token_required": True,
        "max_bytes": project.upload_max_bytes,
        "reason": "uploads need the upload token",
    }
    # The right token gets past the door (the file is then refused for what it is).
    assert_json_error(upload(client, "papers", "a.docx", b"PK\x03\x04", token=TOKEN), 415)


@pytest.mark.parametrize(
    ("headers", "environ", "why"),
    [
        ({"Origin": "http://evil.example"}, {}, "another site"),
        ({"Sec-Fetch-Site": "cross-site"}, {}, "another site"),
        ({"X-Forwarded-For": "203.0.113.9"}, {}, "through a proxy"),
        ({"Host": "evil.example"}, {}, "addressed to this machine"),
        ({}, {"REMOTE_ADDR": "10.1.2.3"}, "from this machine"),
    ],
    ids=["other-origin", "cross-site-fetch", "proxied", "rebound-host", "remote-client"],
)
def test_without_a_token_only_the_service_s_own_page_on_this_machine_may_upload(
    project: Settings, headers: dict[str, str], environ: dict[str, str], why: str
) -> None:
    client = client_for(project)
    client.environ_base.update(environ)
    refused = assert_json_error(upload(client, "papers", "p.txt", PAPER.encode(), headers=headers), 403)
    assert why in refused["error"]["message"]
    assert not project.for_collection("papers").corpus_dir.exists()


def test_the_own_page_on_this_machine_may_upload_without_a_token(project: Settings) -> None:
    client = client_for(project)
    own_page = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    assert client.get("/api/v1/collections", headers=own_page).get_json()["uploads"]["allowed"] is True
    assert_json_error(upload(client, "papers", "a.docx", b"PK\x03\x04", headers=own_page), 415)


@pytest.mark.parametrize(
    ("changes", "why"), [({"uploads": "off"}, "turned off"), ({"uploads": "token"}, "no upload_token")]
)
def test_uploads_can_be_turned_off(project: Settings, changes: dict[str, str], why: str) -> None:
    refused = assert_json_error(upload(client_for(project, **changes), "papers", "p.txt", b"text"), 403)
    assert why in refused["error"]["message"]


# ---------------------------------------------------------------- what is accepted


@pytest.mark.parametrize(
    ("filename", "data", "status", "code", "says"),
    [
        ("paper.docx", b"PK\x03\x04 a zip", 415, "unsupported_file_type", "not .docx"),
        ("paper.pdf", PAPER.encode(), 415, "unsupported_file_type", "named .pdf but holds text"),
        ("paper.txt", PDF_MINIMAL, 415, "unsupported_file_type", "named .txt but holds pdf"),
        ("noise.txt", os.urandom(4096) + b"\x00", 415, "unsupported_file_type", "binary"),
        ("junk-then.pdf", b"\x00\x01junk%PDF-1.4", 415, "unsupported_file_type", "%PDF-"),
        ("empty.txt", b"", 400, "empty_file", "empty"),
        ("///", PAPER.encode(), 400, "invalid_file_name", "no usable characters"),
        ("small-review.txt", PAPER.encode(), 409, "duplicate_document", "replace=true"),
        ("small-review.pdf", PDF_MINIMAL, 409, "duplicate_document", "small-review.txt is already"),
    ],
    ids=["docx", "text-named-pdf", "pdf-named-txt", "binary", "junk-before-pdf", "empty", "no-name",
         "same-name", "same-document-id"],
)  # fmt: skip
def test_bad_uploads_are_json_errors_and_leave_nothing_behind(
    project: Settings, filename: str, data: bytes, status: int, code: str, says: str
) -> None:
    refused = assert_json_error(upload(client_for(project), "review", filename, data), status, code)
    assert says in refused["error"]["message"]
    assert nothing_waits(project, "review")
    assert [p.name for p in project.documents_dir.iterdir()] == ["small-review.txt"]


def test_the_same_file_under_another_name_is_a_duplicate(project: Settings) -> None:
    same = (project.documents_dir / "small-review.txt").read_bytes()
    refused = assert_json_error(
        upload(client_for(project), "review", "copy.txt", same), 409, "duplicate_document"
    )
    assert "as small-review.txt" in refused["error"]["message"]
    assert nothing_waits(project, "review")


def test_too_large_uploads_are_refused(project: Settings) -> None:
    client = client_for(project, upload_max_bytes=2000)
    refused = assert_json_error(upload(client, "papers", "long.txt", b"word " * 500), 413, "file_too_large")
    assert "2000 bytes" in refused["error"]["message"]
    # A body larger than the file limit and its envelope is refused before it is read.
    assert_json_error(upload(client, "papers", "huge.txt", b"word " * 30_000), 413, "request_too_large")
    assert nothing_waits(project, "papers")


def test_a_full_disk_while_receiving_an_upload_is_a_507(
    project: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = Path.open

    def disk_full(self: Path, mode: str = "r", *args: object, **kwargs: object):
        if mode == "xb":  # the upload being written to its waiting folder
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", disk_full)
    refused = upload(client_for(project), "review", "paper.txt", PAPER.encode())
    assert (
        "no space left on the device"
        in assert_json_error(refused, 507, "insufficient_storage")["error"]["message"]
    )
    assert nothing_waits(project, "review")


def test_requests_that_are_not_uploads(project: Settings) -> None:
    client = client_for(project)
    assert_json_error(client.post("/api/v1/collections/papers/documents", json={"file": "x"}), 415)
    no_file = client.post(
        "/api/v1/collections/papers/documents", data={"other": "x"}, content_type="multipart/form-data"
    )
    assert_json_error(no_file, 400, "missing_file")
    assert_json_error(upload(client, "Bad..Name", "p.txt", b"text"), 400, "invalid_collection")


def test_uploads_do_not_create_collections_when_told_not_to(project: Settings) -> None:
    client = client_for(project, upload_create_collections=False)
    assert_json_error(upload(client, "papers", "p.txt", PAPER.encode()), 404, "collection_not_found")
    assert not project.for_collection("papers").corpus_dir.exists()


# ---------------------------------------------------------------- jobs


def test_an_upload_is_indexed_in_a_new_collection_and_a_delete_removes_it(project: Settings) -> None:
    client = client_for(project, host="0.0.0.0", upload_token=TOKEN)
    accepted = upload(client, "papers", "Quartz Lanterns (2024).txt", PAPER.encode(), token=TOKEN)
    assert accepted.status_code == 202, accepted.get_data(as_text=True)
    job = accepted.get_json()
    assert (job["stage"], job["document"], job["action"]) == ("queued", "Quartz-Lanterns-2024.txt", "add")
    assert accepted.headers["Location"] == f"/api/v1/collections/papers/jobs/{job['id']}"
    second = upload(client, "papers", "glimmer.txt", NOTES.encode(), token=TOKEN)
    assert second.status_code == 202
    assert [j.stage for j in run(project, "papers")] == ["done", "done"]

    records = "".join(path.read_text() for path in jobs_dir(project.for_collection("papers")).glob("*.json"))
    assert TOKEN not in records
    done = client.get(accepted.headers["Location"]).get_json()
    assert done["stage"] == "done" and done["served"] is True and done["build"]
    assert "added Quartz-Lanterns-2024.txt" in done["message"]
    answer = client.post("/api/v1/ask", json={"question": PAPER_QUESTION, "collection": "papers"}).get_json()
    assert answer["citations"][0]["document"] == "Quartz-Lanterns-2024" and "blue quartz" in answer["answer"]

    removed = client.delete("/api/v1/collections/papers/documents/Quartz-Lanterns-2024", headers=bearer())
    assert removed.status_code == 202, removed.get_data(as_text=True)
    assert [j.stage for j in run(project, "papers")][-1] == "done"
    # A worker notices a new build within reload_check_s of a request and loads it in the background
    # (tests/test_uploads_service.py); here it is loaded at once.
    assert client.application.extensions["reviewqa"].collections.get("papers").index.reload()
    documents = client.get("/api/v1/documents?collection=papers").get_json()["documents"]
    assert [d["doc_id"] for d in documents] == ["glimmer"]
    assert not (project.for_collection("papers").documents_dir / "Quartz-Lanterns-2024.txt").exists()

    last = client.delete("/api/v1/collections/papers/documents/glimmer.txt", headers=bearer())
    assert_json_error(last, 409, "last_document")
    assert_json_error(client.delete("/api/v1/collections/papers/documents/nope", headers=bearer()), 404)
    assert_json_error(client.delete("/api/v1/collections/papers/documents/glimmer"), 401)


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def test_uploads_to_one_collection_queue_and_run_one_after_another(project: Settings) -> None:
    notes = project.for_collection("notes")
    client = client_for(project)
    first = upload(client, "notes", "quartz.txt", PAPER.encode()).get_json()
    replacement = NOTES.replace("forty percent", "sixty percent")
    second = upload(client, "notes", "glimmer.txt", replacement.encode(), replace="true").get_json()
    assert_json_error(
        upload(client, "notes", "quartz.txt", b"other text"), 409, "duplicate_document"
    )  # queued
    jobs = run(project, "notes")
    assert [(j.id, j.stage) for j in jobs] == [(first["id"], "done"), (second["id"], "done")]
    assert jobs[1].started_at >= jobs[0].finished_at
    assert json.loads((store.current_build(notes) / "manifest.json").read_text())["counts"]["documents"] == 2
    answer = client.post("/api/v1/ask", json={"question": NOTES_QUESTION, "collection": "notes"}).get_json()
    assert "sixty percent" in answer["answer"]


def test_a_failed_job_leaves_the_previous_build_served(project: Settings) -> None:
    notes = project.for_collection("notes")
    client = client_for(project)
    before = client.post("/api/v1/ask", json={"question": NOTES_QUESTION, "collection": "notes"}).get_json()
    build = store.current_build(notes).name
    accepted = upload(client, "notes", "broken.pdf", PDF_MINIMAL)
    assert accepted.status_code == 202
    [job] = run(project, "notes")
    assert job.stage == "failed"
    assert "cannot read PDF broken.pdf" in job.message and "previous build is still served" in job.message
    view = client.get(accepted.headers["Location"]).get_json()
    assert (view["stage"], view["served"]) == ("failed", False)
    assert store.current_build(notes).name == build
    assert sorted(p.name for p in notes.documents_dir.iterdir()) == ["glimmer.txt"]
    after = client.post("/api/v1/ask", json={"question": NOTES_QUESTION, "collection": "notes"}).get_json()
    assert after["answer"] == before["answer"]
    health = client.get("/api/v1/health?collection=notes").get_json()
    assert (health["build"]["id"], health["warnings"]) == (build, [])


def test_a_build_that_fails_puts_the_documents_back(
    project: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes = project.for_collection("notes")
    original = (notes.documents_dir / "glimmer.txt").read_bytes()
    client = client_for(project)
    accepted = upload(client, "notes", "glimmer.txt", NOTES.replace("52", "53").encode(), replace="true")
    assert accepted.status_code == 202

    def disk_full(settings: Settings, **_: object) -> None:
        assert (settings.documents_dir / "glimmer.txt").read_bytes() != original  # applied when it fails
        raise StorageError(f"cannot write {settings.index_dir}: no space left on the device")

    monkeypatch.setattr(store, "build_index", disk_full)
    [job] = run(project, "notes")
    assert job.stage == "failed" and "no space left on the device" in job.message
    assert (notes.documents_dir / "glimmer.txt").read_bytes() == original
    assert not (notes.documents_dir / INCOMING_FOLDER).exists()


def test_an_interrupted_job_is_put_back_and_run_again(project: Settings) -> None:
    notes = project.for_collection("notes")
    job = Job(
        id=new_job_id(),
        collection="notes",
        action="add",
        document="quartz.txt",
        stage="embedding",  # its runner was killed while the build embedded
        created_at=now(),
        attempts=1,
        settings=notes.snapshot(),
    )
    (notes.documents_dir / "quartz.txt").write_text(PAPER, encoding="utf-8")  # moved in before the build
    (notes.documents_dir / INCOMING_FOLDER / job.id).mkdir(parents=True)
    JobStore.of(notes).save(job)
    [rerun] = run(project, "notes")
    assert (rerun.stage, rerun.attempts) == ("done", 2), rerun.message
    assert json.loads((store.current_build(notes) / "manifest.json").read_text())["counts"]["documents"] == 2

    job.id, job.document, job.attempts = new_job_id(), "again.txt", 2  # interrupted twice: given up
    (notes.documents_dir / "again.txt").write_text(PAPER.replace("310", "311"), encoding="utf-8")
    (notes.documents_dir / INCOMING_FOLDER / job.id).mkdir(parents=True)
    JobStore.of(notes).save(job)
    failed = run(project, "notes")[-1]
    assert failed.stage == "failed" and "interrupted 2 times" in failed.message
    assert sorted(p.name for p in notes.documents_dir.iterdir()) == ["glimmer.txt", "quartz.txt"]


def test_adding_a_document_embeds_only_its_own_texts(project: Settings) -> None:
    """The collection's other texts come from its vector cache (counted in the build manifest)."""
    notes = project.for_collection("notes")
    before = store.read_manifest(store.current_build(notes))["embedding"]["counts"]
    assert upload(client_for(project), "notes", "quartz.txt", PAPER.encode()).status_code == 202
    [job] = run(project, "notes")
    assert job.stage == "done", job.message
    build = store.current_build(notes)
    counts = store.read_manifest(build)["embedding"]["counts"]
    rows = [json.loads(line) for line in (build / store.PASSAGES).open(encoding="utf-8")]
    own_passages = sum(row["document"] == "quartz" for row in rows)
    sentences = [json.loads(line) for line in (build / store.SENTENCES).open(encoding="utf-8")]
    own_sentences = {row["text"] for row in sentences if row["document"] == "quartz"}
    assert own_passages >= 1 and own_sentences
    assert counts["passages"] == {
        "texts": before["passages"]["texts"] + own_passages,
        "embedded": own_passages,
    }
    assert counts["sentences"] == {"texts": len(sentences), "embedded": len(own_sentences)}
