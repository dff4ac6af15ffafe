"""The smaller items of issue 12 (item 8): null history, forged log lines, health logging per change, and
`serve --dev` on a public address."""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner
from service_support import assert_json_error

from reviewqa.cli import main
from reviewqa.logsafe import log_safe
from reviewqa.service import create_app
from reviewqa.settings import Settings


def test_null_history_is_refused_like_any_other_non_list(empty_settings: Settings) -> None:
    client = create_app(empty_settings).test_client()
    response = client.post("/api/v1/ask", json={"question": "Which receptor?", "history": None})
    assert_json_error(response, 400, "invalid_history")


def test_request_paths_cannot_forge_log_lines(empty_settings: Settings, caplog) -> None:
    client = create_app(empty_settings).test_client()
    # (werkzeug's routing refuses a LF in the path with a 404, which is not logged; CR and U+2028 reach it)
    forged = "/api/v1/passages/x%0DERROR%20forged%E2%80%A8line%C2%85end"
    with caplog.at_level(logging.ERROR, logger="reviewqa.service.app"):
        assert client.get(forged).status_code == 503  # no index: a 5xx, logged with the path
    [record] = [r for r in caplog.records if "/api/v1/passages/" in r.getMessage()]
    message = record.getMessage()
    assert not any(c in message for c in "\r\n\u2028\u2029\x85")
    assert "x\\x0dERROR forged\\u2028line\\x85end" in message


def test_log_safe_keeps_text_and_escapes_what_breaks_lines() -> None:
    assert log_safe("Ünïcode path/ok") == "Ünïcode path/ok"
    assert log_safe("a\\x0ab") == "a\\\\x0ab"  # a literal backslash cannot pass for an escape
    assert log_safe("bad\udcffname") == "bad\\udcffname"  # an undecodable byte of a file name


def test_health_logs_each_change_once_not_each_probe(empty_settings: Settings, caplog) -> None:
    client = create_app(empty_settings).test_client()
    with caplog.at_level(logging.INFO):
        statuses = {client.get("/api/v1/health").status_code for _ in range(20)}
    assert statuses == {503}
    health_records = [r for r in caplog.records if "health:" in r.getMessage()]
    assert len(health_records) == 1 and health_records[0].levelname == "WARNING"
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.org"])
def test_dev_server_refuses_addresses_others_can_reach(host: str, empty_settings: Settings) -> None:
    env = {
        "REVIEWQA_CORPUS_DIR": str(empty_settings.corpus_dir),
        "REVIEWQA_INDEX_DIR": str(empty_settings.index_dir),
    }
    result = CliRunner().invoke(main, ["serve", "--dev", "--host", host], env=env)
    assert result.exit_code == 2
    assert "debugger" in result.output and "loopback" in result.output
