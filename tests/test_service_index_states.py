"""The service without an index, with a stale one, and over a corpus whose passage ids contain '/'."""

from __future__ import annotations

import pytest
from service_support import IMG_PAYLOAD, assert_json_error, write_hostile_corpus

from reviewqa.service import create_app
from reviewqa.settings import Settings


def test_app_starts_without_an_index_and_answers_503(empty_settings: Settings) -> None:
    client = create_app(empty_settings).test_client()
    health = client.get("/api/v1/health")
    assert health.status_code == 503
    body = health.get_json()
    assert body["ready"] is False and body["status"] == "not_ready"
    assert "reviewqa index" in body["reason"]
    assert body["manifest"] is None
    assert body["state"] == "missing"
    ask = client.post("/api/v1/ask", json={"question": "Which receptor is targeted?"})
    assert "reviewqa index" in assert_json_error(ask, 503, "index_not_ready")["error"]["message"]
    assert ask.headers["Retry-After"]
    assert_json_error(client.get("/api/v1/search?q=IGF1R"), 503, "index_not_ready")
    assert_json_error(client.get("/api/v1/documents"), 503, "index_not_ready")
    assert_json_error(client.get("/api/v1/passages/igf1r-review:1"), 503, "index_not_ready")
    # Input errors are still reported as such without an index.
    assert_json_error(client.post("/api/v1/ask", json={"question": 3}), 400, "invalid_question")
    assert client.get("/").status_code == 200


def test_503_responses_are_logged_with_the_request_id(empty_settings: Settings, caplog) -> None:
    client = create_app(empty_settings).test_client()
    response = client.post(
        "/api/v1/ask", json={"question": "Which receptor?"}, headers={"X-Request-ID": "r-503"}
    )
    assert response.status_code == 503
    assert any("r-503" in record.getMessage() for record in caplog.records if record.levelname == "ERROR")


@pytest.fixture(scope="module")
def hostile_index(tmp_path_factory: pytest.TempPathFactory):
    from conftest import make_settings

    from reviewqa.index import build_index, load_index

    settings = make_settings(tmp_path_factory.mktemp("hostile-project"))
    write_hostile_corpus(settings)
    build_index(settings)
    return load_index(settings)


@pytest.mark.slow
def test_passage_ids_with_a_slash_are_served(hostile_index) -> None:
    client = create_app(hostile_index.settings, hostile_index).test_client()
    source_ids = [p.passage_id for p in hostile_index.passages if p.document.startswith("sources/")]
    assert source_ids, "the source paper under sources/ was not indexed"
    body = client.get(f"/api/v1/passages/{source_ids[0]}").get_json()
    assert body["passage_id"] == source_ids[0]
    assert body["document_info"]["kind"] == "source"
    assert body["document_info"]["key"] == "Moreau et al. 2019"
    documents = {doc["doc_id"]: doc for doc in client.get("/api/v1/documents").get_json()["documents"]}
    assert documents["sources/moreau-2019"]["passage_count"] == len(source_ids)


@pytest.mark.slow
def test_markup_in_documents_is_returned_verbatim_as_json_text(hostile_index) -> None:
    client = create_app(hostile_index.settings, hostile_index).test_client()
    hits = client.get("/api/v1/search", query_string={"q": "ZQX7 kinase compound", "k": 3}).get_json()[
        "results"
    ]
    assert any(IMG_PAYLOAD in hit["text"] for hit in hits)


@pytest.mark.slow
def test_health_warns_but_stays_200_when_the_corpus_changes(tmp_path, hostile_index) -> None:
    """A changed corpus is a reason to rebuild, not to take the instance out of a load balancer: the loaded
    build still answers (docs/operations.md, "Health")."""
    import shutil

    from conftest import make_settings

    from reviewqa.index import build_index

    settings = make_settings(tmp_path)
    shutil.copytree(hostile_index.settings.corpus_dir, settings.corpus_dir)
    build_index(settings)
    client = create_app(settings).test_client()
    healthy = client.get("/api/v1/health").get_json()
    assert healthy["state"] == "ready" and healthy["warnings"] == []
    with (settings.documents_dir / "notes.txt").open("a", encoding="utf-8") as fh:
        fh.write("\nA new paragraph changes the corpus fingerprint.\n")
    health = client.get("/api/v1/health")
    assert health.status_code == 200
    body = health.get_json()
    assert body["state"] == "ready" and body["build"]["id"] == healthy["build"]["id"]
    assert len(body["warnings"]) == 1 and "stale" in body["warnings"][0]
    assert "reviewqa index" in body["warnings"][0]
    assert client.get("/api/v1/search?q=ZQX7").status_code == 200
