"""Issue 11, must show: a PDF uploaded to the real `reviewqa serve` (gunicorn, two workers, the packaged
model) is indexed in the background with its progress followed to the end, then answers a question only it
can answer, with a citation carrying page and section, while the existing collection answers every question
asked meanwhile."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from fault_support import Server, running_server, small_project, wait_for

from reviewqa.index import build_index
from reviewqa.service.gunicorn_app import DEFAULT_CONFIG
from reviewqa.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.slow

OA_PDFS = PROJECT_ROOT.parent / "shared" / "corpora" / "oa-pdfs"
# The 4-page excerpt of a BMC systematic review (pages 1, 9, 10 and 11 of 11).
EXCERPT = OA_PDFS / "hardcase_page-excerpt_Datta2010_JTraumaManagOutcomes_DVT-prophylaxis-review.pdf"
PDF_QUESTION = (
    "How often did filter migration occur with permanent retrievable IVC filters in non-trauma patients?"
)
REVIEW_QUESTIONS = ("What is IGF1R?", "Which antibodies target IGF1R?", "What does IGF1 bind to?")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    if not EXCERPT.is_file():
        pytest.skip(f"{EXCERPT} is absent (the shared oa-pdfs corpus is not beside the project)")
    settings = small_project(tmp_path_factory.mktemp("uploads-service"))
    build_index(settings)
    return settings


@pytest.fixture(scope="module")
def server(project: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("uploads-service-log")
    # The service's own gunicorn settings, but a short graceful stop: its workers take ~15 s to exit
    # otherwise, and nothing is left to finish when the test is done.
    config = folder / "gunicorn.conf.py"
    config.write_text(f"exec(open({str(DEFAULT_CONFIG)!r}).read())\ngraceful_timeout = 2\n", encoding="utf-8")
    with running_server(
        project,
        folder / "serve.log",
        "--workers",
        "2",
        "--gunicorn-config",
        str(config),
        REVIEWQA_RELOAD_CHECK_S="0.5",
    ) as running:
        yield running


class Asker:
    """A client thread asking the review collection new questions (no answer cache hits) until stopped."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.statuses: Counter = Counter()
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Asker:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        with requests.Session() as session:
            asked = 0
            while not self._stop.is_set():
                question = f"{REVIEW_QUESTIONS[asked % len(REVIEW_QUESTIONS)]} ({asked})"
                asked += 1
                try:
                    response = session.post(
                        self.base + "/api/v1/ask", json={"question": question}, timeout=60
                    )
                except requests.RequestException as exc:
                    self.errors.append(type(exc).__name__)
                    continue
                self.statuses[response.status_code] += 1
                if response.status_code != 200:
                    self.errors.append(f"HTTP {response.status_code}: {response.text[:200]}")


def test_an_uploaded_pdf_is_indexed_in_the_background_and_answers_with_page_and_section(
    server: Server, project: Settings
) -> None:
    review_build = requests.get(server.base + "/api/v1/health", timeout=10).json()["build"]["id"]
    stages: list[tuple[str, int, int]] = []
    with Asker(server.base) as asker:
        started = time.monotonic()
        with EXCERPT.open("rb") as fh:
            accepted = requests.post(
                server.base + "/api/v1/collections/trauma/documents",
                files={"file": ("Datta 2010 excerpt.pdf", fh, "application/pdf")},
                timeout=60,
            )
        assert accepted.status_code == 202, accepted.text
        job_url = server.base + accepted.headers["Location"]
        assert accepted.json()["document"] == "Datta-2010-excerpt.pdf"

        def finished() -> bool:
            job = requests.get(job_url, timeout=10).json()
            if not stages or stages[-1] != (job["stage"], job["done"], job["total"]):
                stages.append((job["stage"], job["done"], job["total"]))
            return job["stage"] in ("done", "failed")

        wait_for(finished, 240, "the upload's job", interval_s=0.3)
        job = requests.get(job_url, timeout=10).json()
        assert job["stage"] == "done", job["message"]
        indexing_s = time.monotonic() - started
        wait_for(
            lambda: all(requests.get(job_url, timeout=10).json()["served"] for _ in range(4)), 60, "served"
        )
    print(f"indexed in {indexing_s:.1f} s; stages seen: {stages}; review asks: {dict(asker.statuses)}")

    assert asker.errors == []
    assert sum(asker.statuses.values()) >= 5
    seen = [stage for stage, _, _ in stages]
    assert seen[-1] == "done" and "failed" not in seen
    assert seen == sorted(seen, key=["queued", "reading", "ingesting", "embedding", "swapping", "done"].index)
    reading = [(done, total) for stage, done, total in stages if stage == "reading" and total]
    assert all(total == 4 for _, total in reading)  # pages of the excerpt, when a page count was seen

    answer = requests.post(
        server.base + "/api/v1/ask", json={"question": PDF_QUESTION, "collection": "trauma"}, timeout=60
    ).json()
    assert not answer["abstained"], answer
    assert "3%" in answer["answer"] and "8%" in answer["answer"]
    cited = answer["citations"][0]
    assert cited["document"] == "Datta-2010-excerpt"
    assert cited["page"] == 2 and cited["section"] == "Methods"

    # The review collection was never rebuilt, and knows nothing of the PDF.
    assert requests.get(server.base + "/api/v1/health", timeout=10).json()["build"]["id"] == review_build
    review_answer = requests.post(
        server.base + "/api/v1/ask", json={"question": PDF_QUESTION}, timeout=60
    ).json()
    assert all(c["document"] != "Datta-2010-excerpt" for c in review_answer["citations"])
    listing = requests.get(server.base + "/api/v1/collections", timeout=10).json()
    trauma = next(c for c in listing["collections"] if c["name"] == "trauma")
    assert (trauma["state"], trauma["documents"], trauma["job"]["id"]) == ("ready", 1, job["id"])
    assert Path(project.for_collection("trauma").documents_dir / "Datta-2010-excerpt.pdf").is_file()
