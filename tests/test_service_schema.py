"""Schemathesis against the real service (`reviewqa serve`: gunicorn and its worker, as deployed):
generated requests for every operation of the OpenAPI spec must never cause a server error, and every
response must match the spec. Under gunicorn a request line over its limit is a JSON 414, which the spec
documents; schema-violating requests may be refused that way too.

The operations are driven through hypothesis directly (``operation.as_strategy``) rather than through
schemathesis' lazy pytest fixture, which does not work with pytest 9.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fault_support import running_server
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig

pytestmark = pytest.mark.slow

POSITIVE = schemathesis.GenerationMode.POSITIVE
NEGATIVE = schemathesis.GenerationMode.NEGATIVE
# (path, method, generation modes): invalid input can only be generated where there is input to get wrong.
OPERATIONS = [
    ("/ask", "POST", (POSITIVE, NEGATIVE)),
    ("/search", "GET", (POSITIVE, NEGATIVE)),
    ("/passages/{passage_id}", "GET", (POSITIVE,)),
    ("/documents", "GET", (POSITIVE,)),
    ("/cited-works", "GET", (POSITIVE, NEGATIVE)),
    ("/cited-works", "POST", (POSITIVE, NEGATIVE)),
    ("/examples", "GET", (POSITIVE,)),
    ("/health", "GET", (POSITIVE,)),
    ("/openapi.json", "GET", (POSITIVE,)),
    ("/collections", "GET", (POSITIVE,)),
    ("/collections/{name}/documents", "POST", (POSITIVE, NEGATIVE)),
    ("/collections/{name}/documents/{document}", "DELETE", (POSITIVE,)),
    ("/collections/{name}/jobs/{job_id}", "GET", (POSITIVE,)),
]
CASES = [(path, method, mode) for path, method, modes in OPERATIONS for mode in modes]
EXAMPLES_PER_OPERATION = 20


# schemathesis' default statuses for refused invalid input, and 414 (a request line over gunicorn's limit).
REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "414", "415", "422", "428", "429", "5xx"]


@pytest.fixture(scope="module")
def live_url(review_index, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # With a token schemathesis does not know, generated uploads and deletes are refused (401), never queued:
    # the review's index is shared by the whole session.
    log_path = Path(tmp_path_factory.mktemp("schema-server")) / "server.log"
    with running_server(
        review_index.settings, log_path, REVIEWQA_UPLOAD_TOKEN="not-sent-by-the-tests"
    ) as server:
        yield server.base


@pytest.fixture(scope="module")
def api_schema(live_url: str):
    config = SchemathesisConfig.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}}}
    )
    return schemathesis.openapi.from_url(live_url + "/api/v1/openapi.json", config=config)


def test_every_operation_of_the_spec_is_tested(api_schema) -> None:
    listed = {
        (path, method.upper()) for path, item in api_schema.raw_schema["paths"].items() for method in item
    }
    assert listed == {(path, method) for path, method, _ in OPERATIONS}


@pytest.mark.parametrize(("path", "method", "mode"), CASES, ids=[f"{m} {p} {g.value}" for p, m, g in CASES])
def test_operation_conforms_to_the_spec(api_schema, path: str, method: str, mode) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case) -> None:
        case.call_and_validate()

    check()


def test_the_spec_calls_blank_what_the_service_refuses_as_blank(api_schema) -> None:
    """Positive generated cases must never be refused: every string Python's strip() empties (what the
    handlers refuse as blank) must be invalid by the spec's own regex dialect (ECMA-262, as schemathesis
    validates with jsonschema_rs)."""
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    raw = api_schema.raw_schema
    question = raw["components"]["schemas"]["AskRequest"]["properties"]["question"]
    query = next(p for p in raw["paths"]["/search"]["get"]["parameters"] if p["name"] == "q")["schema"]
    blanks = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    for schema in (question, query):
        validator = jsonschema_rs.validator_for(schema)
        assert [b for b in blanks if validator.is_valid(b * 2)] == []
        assert validator.is_valid(" IGF1R ")
