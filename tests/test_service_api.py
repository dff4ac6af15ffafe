"""The JSON API over the real review index: every endpoint and every error path."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from service_support import assert_json_error

from reviewqa.service import create_app

pytestmark = pytest.mark.slow

QUESTION = "What two classes of drugs were developed to block the IGF1R pathway?"


def without_timings(answer: dict) -> dict:
    return {key: value for key, value in answer.items() if key != "timings_ms"}


# ---------------------------------------------------------------- ask


def test_ask_returns_the_answer_stage_output(client: FlaskClient, review_index) -> None:
    from reviewqa.answer import answer

    response = client.post("/api/v1/ask", json={"question": QUESTION, "top_k": 3})
    assert response.status_code == 200
    body = response.get_json()
    expected = answer(QUESTION, review_index.settings, review_index, top_k=3).to_dict()
    assert without_timings(body) == json.loads(json.dumps(without_timings(expected)))
    assert not body["abstained"]
    assert body["citations"]
    for citation in body["citations"]:
        assert f"[{citation['marker']}]" in body["answer"]
        assert citation["quote"] in review_index.passage_by_id[citation["passage_id"]].text


def test_ask_passes_history_for_follow_up_questions(client: FlaskClient, review_index) -> None:
    from reviewqa.answer import answer

    history = [{"question": QUESTION, "answer": "Monoclonal antibodies and tyrosine kinase inhibitors."}]
    follow_up = "Which of them were tested in breast cancer?"
    response = client.post("/api/v1/ask", json={"question": follow_up, "history": history})
    assert response.status_code == 200
    expected = answer(follow_up, review_index.settings, review_index, history=history).to_dict()
    alone = answer(follow_up, review_index.settings, review_index).to_dict()
    body = response.get_json()
    assert without_timings(body) == json.loads(json.dumps(without_timings(expected)))
    assert body["question"] == follow_up
    # This follow-up needs its history ("them"): with it the answer must differ from the one asked alone,
    # so the comparison above shows the service passed the history on.
    assert without_timings(expected) != without_timings(alone)
    assert without_timings(body) != json.loads(json.dumps(without_timings(alone)))


def test_repeated_question_is_served_from_the_cache(client: FlaskClient) -> None:
    payload = {"question": "Which IGF1R antibodies were tested with chemotherapy?", "top_k": 4}
    first = client.post("/api/v1/ask", json=payload)
    second = client.post("/api/v1/ask", json=payload)
    assert first.status_code == second.status_code == 200
    assert first.headers["X-Answer-Cache"] == "miss"
    assert second.headers["X-Answer-Cache"] == "hit"
    assert first.get_json() == second.get_json()


def test_cache_can_be_turned_off(review_index) -> None:
    client = create_app(review_index.settings.replace(answer_cache_size=0), review_index).test_client()
    for _ in range(2):
        response = client.post("/api/v1/ask", json={"question": QUESTION})
        assert response.headers["X-Answer-Cache"] == "miss"


def test_unanswerable_question_abstains_with_closest_passages(client: FlaskClient) -> None:
    response = client.post("/api/v1/ask", json={"question": "What is the boiling point of liquid nitrogen?"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["abstained"] is True
    assert body["citations"] == []
    assert body["passages"]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({}, "invalid_question"),
        ({"question": None}, "invalid_question"),
        ({"question": 42}, "invalid_question"),
        ({"question": ["a list"]}, "invalid_question"),
        ({"question": ""}, "invalid_question"),
        ({"question": "   \n\t "}, "invalid_question"),
        ({"question": "IGF1R antibody trial " * 400}, "invalid_question"),
        ({"question": QUESTION, "top_k": 0}, "invalid_top_k"),
        ({"question": QUESTION, "top_k": 51}, "invalid_top_k"),
        ({"question": QUESTION, "top_k": -3}, "invalid_top_k"),
        ({"question": QUESTION, "top_k": "5"}, "invalid_top_k"),
        ({"question": QUESTION, "top_k": 2.5}, "invalid_top_k"),
        ({"question": QUESTION, "top_k": True}, "invalid_top_k"),
        ({"question": QUESTION, "top_k": None}, "invalid_top_k"),
        ({"question": QUESTION, "history": "earlier"}, "invalid_history"),
        ({"question": QUESTION, "history": [{"question": "q"}]}, "invalid_history"),
        ({"question": QUESTION, "history": [{"question": 1, "answer": "a"}]}, "invalid_history"),
        ({"question": QUESTION, "history": [{"question": "q", "answer": "a"}] * 21}, "invalid_history"),
    ],
)
def test_ask_rejects_bad_input_with_400(client: FlaskClient, payload: dict, code: str) -> None:
    assert_json_error(client.post("/api/v1/ask", json=payload), 400, code)


@pytest.mark.parametrize(
    "raw", ['{"question": "unterminated', "{'question': 'single quotes'}", "", "\xff\xfe"]
)
def test_ask_rejects_malformed_json(client: FlaskClient, raw: str) -> None:
    response = client.post("/api/v1/ask", data=raw.encode("latin-1"), content_type="application/json")
    assert_json_error(response, 400, "invalid_json")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ('{"question": "\\ud800 IGF1R"}', "invalid_question"),
        ('{"question": "IGF1R?", "history": [{"question": "\\udc00", "answer": "a"}]}', "invalid_history"),
    ],
)
def test_ask_rejects_lone_surrogates(client: FlaskClient, raw: str, code: str) -> None:
    response = client.post("/api/v1/ask", data=raw, content_type="application/json")
    assert_json_error(response, 400, code)


@pytest.mark.parametrize(
    "raw",
    [
        '{"question": "x", "top_k": ' + "9" * 5000 + "}",  # more digits than int() converts
        '{"question": "x", "x": ' + "[" * 5000 + "]" * 5000 + "}",  # deeper than the parser recurses
        '{"question": "x", "x": ' + '{"a":' * 5000 + "1" + "}" * 5000 + "}",
    ],
    ids=["5000-digit-integer", "5000-deep-arrays", "5000-deep-objects"],
)
def test_ask_rejects_json_python_cannot_hold(client: FlaskClient, raw: str) -> None:
    response = client.post("/api/v1/ask", data=raw, content_type="application/json")
    body = assert_json_error(response, 400, "invalid_json")
    assert "set_int_max_str_digits" not in body["error"]["message"]


@pytest.mark.parametrize("body", ["[1, 2]", '"a question"', "null", "3"])
def test_ask_requires_a_json_object(client: FlaskClient, body: str) -> None:
    response = client.post("/api/v1/ask", data=body, content_type="application/json")
    assert_json_error(response, 400, "invalid_json")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_ask_requires_json_content_type(client: FlaskClient, content_type: str | None) -> None:
    response = client.post("/api/v1/ask", data=json.dumps({"question": QUESTION}), content_type=content_type)
    assert_json_error(response, 415, "unsupported_media_type")


def test_ask_rejects_a_body_over_the_size_limit(client: FlaskClient, review_index) -> None:
    limit = review_index.settings.max_request_bytes
    payload = json.dumps({"question": QUESTION, "padding": "x" * limit})
    response = client.post("/api/v1/ask", data=payload, content_type="application/json")
    assert_json_error(response, 413, "request_too_large")


def sized_body(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes whose question is blank (so it is refused quickly)."""
    head, tail = b'{"question": "", "padding": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def post_chunked(client: FlaskClient, body: bytes):
    """POST ``body`` as gunicorn hands on a chunked request: no usable Content-Length, a stream the server
    ends (werkzeug ignores Content-Length when Transfer-Encoding is chunked)."""
    return client.post(
        "/api/v1/ask",
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_a_chunked_body_over_the_size_limit_is_413(client: FlaskClient, review_index) -> None:
    limit = review_index.settings.max_request_bytes
    response = post_chunked(client, sized_body(limit + 1))
    assert response.request.content_length is None
    assert_json_error(response, 413, "request_too_large")
    assert_json_error(post_chunked(client, sized_body(4 * limit)), 413, "request_too_large")


def test_a_chunked_body_within_the_limit_is_read_whole(client: FlaskClient, review_index) -> None:
    limit = review_index.settings.max_request_bytes
    # Parsed to the end: the blank question is the complaint, not truncated JSON.
    assert_json_error(post_chunked(client, sized_body(limit)), 400, "invalid_question")
    response = post_chunked(client, json.dumps({"question": "   "}).encode())
    assert_json_error(response, 400, "invalid_question")


def test_ask_only_accepts_post(client: FlaskClient) -> None:
    response = client.get("/api/v1/ask")
    assert_json_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


# ---------------------------------------------------------------- search


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_search_ranks_passages(client: FlaskClient, review_index, mode: str) -> None:
    response = client.get(
        "/api/v1/search", query_string={"q": "dalotuzumab exemestane trial", "k": 4, "mode": mode}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["query"], body["k"], body["mode"]) == ("dalotuzumab exemestane trial", 4, mode)
    results = body["results"]
    assert 1 <= len(results) <= 4
    expected = [
        hit.passage.passage_id for hit in review_index.search("dalotuzumab exemestane trial", k=4, mode=mode)
    ]
    assert [r["passage_id"] for r in results] == expected
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    for result in results:
        assert result["text"] == review_index.passage_by_id[result["passage_id"]].text


@pytest.mark.parametrize(("raw", "k"), [("5", 5), ("05", 5), ("0020", 20), ("1", 1)])
def test_search_k_accepts_plain_digits(client: FlaskClient, raw: str, k: int) -> None:
    body = client.get("/api/v1/search", query_string={"q": "IGF1R", "k": raw}).get_json()
    assert body["k"] == k and len(body["results"]) == k


def test_search_defaults_to_ten_hybrid_results(client: FlaskClient) -> None:
    body = client.get("/api/v1/search?q=IGF1R").get_json()
    assert body["k"] == 10 and body["mode"] == "hybrid"
    assert len(body["results"]) == 10


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({}, "invalid_query"),
        ({"q": ""}, "invalid_query"),
        ({"q": "   "}, "invalid_query"),
        ({"q": "x" * 1001}, "invalid_query"),
        ({"q": "IGF1R", "k": "ten"}, "invalid_k"),
        ({"q": "IGF1R", "k": "0"}, "invalid_k"),
        ({"q": "IGF1R", "k": "51"}, "invalid_k"),
        ({"q": "IGF1R", "k": "2.5"}, "invalid_k"),
        ({"q": "IGF1R", "k": "5_0"}, "invalid_k"),
        ({"q": "IGF1R", "k": "+5"}, "invalid_k"),
        ({"q": "IGF1R", "k": "-5"}, "invalid_k"),
        ({"q": "IGF1R", "k": " 5"}, "invalid_k"),
        ({"q": "IGF1R", "k": "5 "}, "invalid_k"),
        ({"q": "IGF1R", "k": "5\n"}, "invalid_k"),
        ({"q": "IGF1R", "k": "\u0665"}, "invalid_k"),  # ARABIC-INDIC DIGIT FIVE
        ({"q": "IGF1R", "k": "\uff15"}, "invalid_k"),  # FULLWIDTH DIGIT FIVE
        ({"q": "IGF1R", "k": ""}, "invalid_k"),
        ({"q": "IGF1R", "k": "9" * 5000}, "invalid_k"),
        ({"q": "IGF1R", "mode": "fuzzy"}, "invalid_mode"),
    ],
)
def test_search_rejects_bad_parameters(client: FlaskClient, query: dict, code: str) -> None:
    assert_json_error(client.get("/api/v1/search", query_string=query), 400, code)


# ---------------------------------------------------------------- passages and documents


def test_passage_has_document_section_neighbours_and_cited_works(client: FlaskClient, review_index) -> None:
    passage = next(p for p in review_index.passages[1:] if p.cited_works)
    response = client.get(f"/api/v1/passages/{passage.passage_id}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["passage_id"] == passage.passage_id
    assert body["text"] == passage.text
    assert body["section"] == passage.section_label
    assert body["page"] == passage.page
    assert body["document_info"]["doc_id"] == passage.document
    previous_id, next_id = review_index.neighbours(passage.passage_id)
    assert body["neighbours"] == {"previous": previous_id, "next": next_id}
    assert previous_id is not None
    assert [work["key"] for work in body["cited_works"]] == passage.cited_works
    for work in body["cited_works"]:
        known = review_index.bibliography.get(work["key"])
        if known is not None and known.doi:
            assert {"label": "DOI", "url": f"https://doi.org/{known.doi}"} in work["links"]
        if known is not None and known.pmid:
            assert {"label": "PubMed", "url": f"https://pubmed.ncbi.nlm.nih.gov/{known.pmid}/"} in work[
                "links"
            ]


def test_trial_ids_link_to_clinicaltrials_gov(client: FlaskClient, review_index) -> None:
    passage = next(
        (p for p in review_index.passages if any(key.startswith("NCT") for key in p.cited_works)), None
    )
    if passage is None:
        pytest.skip("the review index has no passage citing a trial id")
    body = client.get(f"/api/v1/passages/{passage.passage_id}").get_json()
    trial = next(work for work in body["cited_works"] if work["key"].startswith("NCT"))
    assert {
        "label": "ClinicalTrials.gov",
        "url": f"https://clinicaltrials.gov/study/{trial['key']}",
    } in trial["links"]


@pytest.mark.parametrize("passage_id", ["igf1r-review:99999", "nothing-here", "sources/none:1", "a/b/c"])
def test_unknown_passage_is_404(client: FlaskClient, passage_id: str) -> None:
    assert_json_error(client.get(f"/api/v1/passages/{passage_id}"), 404, "passage_not_found")


def test_documents_lists_metadata_and_passage_counts(client: FlaskClient, review_index) -> None:
    body = client.get("/api/v1/documents").get_json()
    documents = {doc["doc_id"]: doc for doc in body["documents"]}
    review = documents["igf1r-review"]
    assert review["passage_count"] == sum(1 for p in review_index.passages if p.document == "igf1r-review")
    meta = review_index.documents["igf1r-review"]
    assert review["kind"] == meta["kind"] == "review"
    assert review["title"] == (meta.get("title") or "igf1r-review")
    assert review["year"] == meta.get("year")
    assert review["path"] == meta["path"]


# ---------------------------------------------------------------- health, spec, pages, errors


def test_health_is_ready_with_the_manifest(client: FlaskClient, review_index) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["ready"] is True and body["status"] == "ready"
    manifest = body["manifest"]
    assert manifest["counts"]["passages"] == len(review_index.passages)
    assert manifest["corpus_fingerprint"] == review_index.manifest["corpus_fingerprint"]
    assert manifest["model"]["name"] == review_index.manifest["model"]["name"]
    assert "files" not in manifest and "path" not in manifest["model"]


def test_openapi_spec_describes_every_route(client: FlaskClient, app: Flask) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    # Ids that may contain "/" are routed as path:, the others as plain segments.
    flask_path = re.compile(r"\{(passage_id|document)\}|\{(\w+)\}")
    documented = {
        "/api/v1" + flask_path.sub(lambda m: f"<path:{m[1]}>" if m[1] else f"<{m[2]}>", path)
        for path in spec["paths"]
    }
    routed = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")}
    assert documented == routed
    assert spec["paths"]["/ask"]["post"]["requestBody"]["content"]["application/json"]
    limits = spec["components"]["schemas"]["AskRequest"]["properties"]["top_k"]
    assert (limits["minimum"], limits["maximum"]) == (1, 50)


def test_openapi_spec_lists_500_everywhere_and_describes_405(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    error = {"$ref": "#/components/schemas/Error"}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            listed = operation["responses"].get("500")
            assert listed is not None, f"{method.upper()} {path} does not list 500"
            assert listed["content"]["application/json"]["schema"] == error
    not_allowed = spec["components"]["responses"]["MethodNotAllowed"]
    assert not_allowed["content"]["application/json"]["schema"] == error
    assert "Allow" in not_allowed["headers"]
    # What the service really sends for these statuses has the documented shape.
    response = client.delete("/api/v1/search")
    assert_json_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_openapi_request_line_limit_is_gunicorns() -> None:
    import runpy

    from reviewqa.service.gunicorn_app import DEFAULT_CONFIG
    from reviewqa.service.openapi import MAX_REQUEST_LINE_BYTES

    assert runpy.run_path(str(DEFAULT_CONFIG))["limit_request_line"] == MAX_REQUEST_LINE_BYTES


def test_api_reference_page_renders_the_spec(client: FlaskClient) -> None:
    response = client.get("/api/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for path in ("/api/v1/ask", "/api/v1/search", "/api/v1/passages/{passage_id}", "/api/v1/health"):
        assert path in html
    assert 'id="schema-AskRequest"' in html and 'id="schema-Answer"' in html
    assert "<script" not in html


@pytest.mark.parametrize("path", ["/", "/api/"])
def test_pages_use_no_external_resources(client: FlaskClient, path: str) -> None:
    html = client.get(path).get_data(as_text=True)
    assert 'src="http' not in html and 'href="http' not in html and "//cdn" not in html
    assert "default-src 'self'" in client.get(path).headers["Content-Security-Policy"]


def test_chat_page_and_its_assets_are_served(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert 'id="ask-form"' in html and 'id="new-conversation"' in html
    script = client.get("/static/chat.js")
    assert script.status_code == 200
    assert "innerHTML" not in script.get_data(as_text=True)  # data only ever enters the page as text
    assert client.get("/static/chat.css").status_code == 200


def test_unknown_route_is_json_404(client: FlaskClient) -> None:
    assert_json_error(client.get("/api/v1/nothing"), 404, "not_found")
    assert_json_error(client.get("/no/such/page"), 404, "not_found")


def test_request_id_is_echoed_or_generated(client: FlaskClient) -> None:
    echoed = client.get("/api/v1/health", headers={"X-Request-ID": "trace-42.a_b"})
    assert echoed.headers["X-Request-ID"] == "trace-42.a_b"
    replaced = client.get("/api/v1/health", headers={"X-Request-ID": "bad id <with> spaces"})
    assert replaced.headers["X-Request-ID"] != "bad id <with> spaces"
    first = client.get("/api/v1/documents").headers["X-Request-ID"]
    second = client.get("/api/v1/documents").headers["X-Request-ID"]
    assert first and second and first != second


class _BrokenCache:
    def get(self, key):
        raise RuntimeError("secret internal detail")

    def put(self, key, value):  # pragma: no cover - never reached
        raise AssertionError


def test_unexpected_error_is_500_json_logged_with_request_id(review_index, caplog) -> None:
    app = create_app(review_index.settings, review_index)
    app.extensions["reviewqa"].answers = _BrokenCache()
    with caplog.at_level(logging.ERROR, logger="reviewqa.service.app"):
        response = app.test_client().post("/api/v1/ask", json={"question": QUESTION})
    body = assert_json_error(response, 500, "internal_error")
    request_id = response.headers["X-Request-ID"]
    assert request_id in body["error"]["message"]
    assert "secret internal detail" not in response.get_data(as_text=True)
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and any(r.exc_info for r in logged)
