"""The command line as a client: `ask`, `search` and `chat` use a running service when it serves this
project's index, and load only what they need when they answer themselves."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import make_settings
from flask import Flask, request
from service_support import free_port, live_server, write_hostile_corpus

from reviewqa.cli import main
from reviewqa.service import create_app
from reviewqa.settings import Settings

pytestmark = pytest.mark.slow

QUESTION = "Which IGF1R monoclonal antibodies were tested in breast cancer trials?"
FOLLOW_UP = "And which of them were combined with chemotherapy?"


def env_for(settings: Settings, port: int) -> dict[str, str]:
    return {
        "REVIEWQA_CORPUS_DIR": str(settings.corpus_dir),
        "REVIEWQA_INDEX_DIR": str(settings.index_dir),
        "REVIEWQA_HOST": "127.0.0.1",
        "REVIEWQA_PORT": str(port),
    }


@pytest.fixture(scope="module")
def service(review_index) -> Iterator[tuple[str, Flask, list[dict]]]:
    """The review served on a free port; every /api/v1 request is recorded (path and JSON body)."""
    app = create_app(review_index.settings, review_index)
    seen: list[dict] = []

    @app.before_request
    def record() -> None:
        seen.append({"path": request.path, "json": request.get_json(silent=True)})

    with live_server(app) as url:
        yield url, app, seen


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def without_timings(answer: dict) -> dict:
    return {key: value for key, value in answer.items() if key != "timings_ms"}


def test_ask_uses_the_running_service_of_this_index(service, review_settings: Settings, review_index) -> None:
    from reviewqa.answer import answer

    url, _, seen = service
    seen.clear()
    result = CliRunner().invoke(main, ["ask", QUESTION, "--json"], env=env_for(review_settings, port_of(url)))
    assert result.exit_code == 0, result.output
    assert f"using the service at {url}" in result.stderr
    assert [r["path"] for r in seen] == ["/api/v1/health", "/api/v1/ask"]
    local = answer(QUESTION, review_settings, review_index).to_dict()
    assert without_timings(json.loads(result.stdout)) == without_timings(json.loads(json.dumps(local)))

    text = CliRunner().invoke(main, ["ask", QUESTION], env=env_for(review_settings, port_of(url)))
    assert text.exit_code == 0 and "Citations:" in text.stdout and "[1]" in text.stdout


def test_search_uses_the_service_and_prints_what_it_prints_locally(
    service, review_settings: Settings
) -> None:
    url, _, seen = service
    env = env_for(review_settings, port_of(url))
    seen.clear()
    remote = CliRunner().invoke(main, ["search", "IGF1R antibodies", "--k", "3", "--json"], env=env)
    assert remote.exit_code == 0, remote.output
    assert [r["path"] for r in seen] == ["/api/v1/health", "/api/v1/search"]
    local = CliRunner().invoke(main, ["search", "IGF1R antibodies", "--k", "3", "--json", "--local"], env=env)
    assert "--local: loading the index here" in local.stderr
    assert json.loads(remote.stdout) == json.loads(local.stdout)


def test_a_service_of_another_index_is_not_used(service, tmp_path: Path) -> None:
    from reviewqa.index import build_index

    url, _, seen = service
    other = make_settings(tmp_path)
    write_hostile_corpus(other)
    build_index(other)
    seen.clear()
    result = CliRunner().invoke(
        main, ["search", "kinase", "--mode", "bm25"], env=env_for(other, port_of(url))
    )
    assert result.exit_code == 0, result.output
    assert f"the service at {url} serves another index: loading the index here" in result.stderr
    assert [r["path"] for r in seen] == ["/api/v1/health"]
    assert "notes:" in result.stdout  # the hostile corpus's own passages


def test_an_explicit_url_that_does_not_answer_is_an_error(review_settings: Settings) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(main, ["ask", QUESTION, "--url", dead], env=env_for(review_settings, 1))
    assert result.exit_code == 1
    assert f"no reviewqa service at {dead}" in result.output
    assert "Traceback" not in result.output


def test_a_bad_question_is_refused_by_the_service_in_one_line(service, review_settings: Settings) -> None:
    url, _, _ = service
    result = CliRunner().invoke(main, ["ask", "   ", "--url", url], env=env_for(review_settings, 1))
    assert result.exit_code == 1
    assert "answered 400" in result.output and "Traceback" not in result.output


def test_chat_keeps_the_history_and_starts_anew(service, review_settings: Settings) -> None:
    url, _, seen = service
    seen.clear()
    typed = f"{QUESTION}\n{FOLLOW_UP}\n/new\n{FOLLOW_UP}\n"
    result = CliRunner().invoke(main, ["chat", "--url", url], input=typed, env=env_for(review_settings, 1))
    assert result.exit_code == 0, result.output
    asked = [r["json"] for r in seen if r["path"] == "/api/v1/ask"]
    assert [a["question"] for a in asked] == [QUESTION, FOLLOW_UP, FOLLOW_UP]
    assert "history" not in asked[0] and "history" not in asked[2]  # the first, and the first after /new
    assert [turn["question"] for turn in asked[1]["history"]] == [QUESTION]
    assert "New conversation." in result.stdout
    assert result.stdout.count("Citations:") >= 2


def test_chat_loads_the_index_once_when_it_answers_itself(
    review_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reviewqa.index

    loads = []
    real_load = reviewqa.index.load_index

    def counting_load(settings, **kwargs):
        loads.append(settings)
        return real_load(settings, **kwargs)

    monkeypatch.setattr(reviewqa.index, "load_index", counting_load)
    typed = f"{QUESTION}\n   \n/help\n{FOLLOW_UP}\n"
    result = CliRunner().invoke(main, ["chat", "--local"], input=typed, env=env_for(review_settings, 1))
    assert result.exit_code == 0, result.output
    assert len(loads) == 1
    assert result.stdout.count("Citations:") == 2 and "/new starts a new conversation" in result.stdout


PROBE = """
import sys
from reviewqa.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
heavy = sorted(m for m in ("torch", "faiss", "sentence_transformers", "transformers") if m in sys.modules)
print("HEAVY " + ",".join(heavy), file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["search", "IGF1R antibodies", "--mode", "bm25", "--local"],
        ["refs", "check"],
        ["ingest"],
    ],
    ids=["help", "search-bm25", "refs-check", "ingest"],
)
def test_commands_that_need_no_model_import_neither_torch_nor_faiss(
    args: list[str], review_settings: Settings, tmp_path: Path
) -> None:
    import shutil

    project = make_settings(tmp_path)  # a copy, so `ingest` does not rewrite the shared index's folder
    shutil.copytree(review_settings.corpus_dir, project.corpus_dir)
    shutil.copytree(review_settings.index_dir, project.index_dir)
    env = {**env_for(project, free_port()), "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode in (0, 1), done.stderr  # refs check exits 1 when rows are never cited
    assert "HEAVY \n" in done.stderr, done.stderr
    if args[0] == "search":
        assert done.stdout.lstrip().startswith("1.")


def test_index_prints_the_ingest_summary_when_it_ingests(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_hostile_corpus(settings)
    env = env_for(settings, free_port())
    first = CliRunner().invoke(main, ["index"], env=env)
    assert first.exit_code == 0, first.output
    assert "ingested 2 documents" in first.stdout and "index ready" in first.stdout
    again = CliRunner().invoke(main, ["index"], env=env)
    assert again.exit_code == 0 and "ingested" not in again.stdout and "index up to date" in again.stdout


def test_the_client_reads_the_manifest_where_the_index_stage_writes_it(review_settings: Settings) -> None:
    from reviewqa.client import local_manifest_path
    from reviewqa.index import store

    assert local_manifest_path(review_settings) == store.current_dir(review_settings) / store.MANIFEST
    assert local_manifest_path(review_settings).exists()


def test_the_clients_top_k_limit_is_the_apis() -> None:
    """The client answers locally above the API's limit: the two limits must be the same number."""
    from reviewqa.client import MAX_API_TOP_K
    from reviewqa.service.validation import MAX_TOP_K

    assert MAX_API_TOP_K == MAX_TOP_K
