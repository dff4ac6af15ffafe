"""A running reviewqa service, used by `reviewqa ask`, `search` and `chat` so they need not load the model
and the index themselves (seconds) when a service has them loaded already (milliseconds).

Only the standard library is used here, so finding out whether a service is up costs no imports.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewqa.errors import ReviewqaError
from reviewqa.models import Answer
from reviewqa.settings import Settings

log = logging.getLogger(__name__)

# A service on this machine answers its health probe in a few milliseconds; nothing listening is refused
# at once. The probe is bounded anyway, so a firewalled port does not stall every command.
PROBE_TIMEOUT_S = 0.5
REQUEST_TIMEOUT_S = 120.0
API = "/api/v1"
# The API's limits (service/validation.py, not imported: it needs Flask); larger requests are answered here.
MAX_API_TOP_K = 50


class ServiceError(ReviewqaError):
    """The service refused a request or could not be reached; the message is the service's own."""


@dataclass(frozen=True)
class ServiceClient:
    base_url: str  # e.g. "http://127.0.0.1:8000", no trailing slash
    collection: str | None = None  # the collection to ask (None: the service's default)

    def health(self, timeout: float = PROBE_TIMEOUT_S) -> dict[str, Any]:
        """The health report (ready or not) of the collection; ServiceError when nothing answers like a
        reviewqa service, or the service has no such collection."""
        status, body = self._call("GET", "/health" + self._query({}), None, timeout)
        error = body.get("error", {}) if isinstance(body, dict) else {}
        if status == 404 and isinstance(error, dict) and error.get("code") == "collection_not_found":
            raise ServiceError(f"the service at {self.base_url} has no collection {self.collection!r}")
        if not isinstance(body, dict) or "ready" not in body:
            raise ServiceError(f"{self.base_url} does not answer like a reviewqa service (HTTP {status})")
        return body

    def ask(
        self, question: str, top_k: int | None = None, history: list[dict[str, str]] | None = None
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"question": question}
        if top_k is not None:
            payload["top_k"] = top_k
        if history:
            payload["history"] = history
        if self.collection is not None:
            payload["collection"] = self.collection
        return self._ok("POST", "/ask", payload)

    def search(self, query: str, k: int, mode: str) -> dict[str, Any]:
        return self._ok("GET", "/search" + self._query({"q": query, "k": k, "mode": mode}), None)

    def _query(self, parameters: dict[str, Any]) -> str:
        if self.collection is not None:
            parameters = {**parameters, "collection": self.collection}
        return "?" + urllib.parse.urlencode(parameters) if parameters else ""

    def _ok(self, method: str, path: str, payload: dict[str, Any] | None) -> dict[str, Any]:
        status, body = self._call(method, path, payload, REQUEST_TIMEOUT_S)
        if status >= 400:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            raise ServiceError(
                f"the service at {self.base_url} answered {status}: {error.get('message', body)}"
            )
        return body

    def _call(
        self, method: str, path: str, payload: dict[str, Any] | None, timeout: float
    ) -> tuple[int, Any]:
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        request = urllib.request.Request(self.base_url + API + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, _json(response.read())
        except urllib.error.HTTPError as exc:  # 4xx/5xx still carry the service's JSON error
            return exc.code, _json(exc.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServiceError(f"no reviewqa service at {self.base_url} ({reason})") from exc


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


@dataclass(frozen=True)
class ServiceChoice:
    """The service to use (or None: answer in this process) and a one-line note saying which and why."""

    client: ServiceClient | None
    note: str


def default_url(settings: Settings) -> str:
    host = settings.host
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def choose_service(
    settings: Settings, url: str | None, local: bool, *, top_k: tuple[str, int | None] = ("", None)
) -> ServiceChoice:
    """The service at ``url``, else the one at the settings' host and port if it serves this project's
    index, else none. An explicit ``url`` that does not answer is an error, not a silent fallback.
    ``top_k`` (option name, value): a value over the API's limit is answered here."""
    option, k = top_k
    if (k or 0) > MAX_API_TOP_K:
        return ServiceChoice(None, f"{option} over the API's {MAX_API_TOP_K}: loading the index here")
    if local:
        return ServiceChoice(None, "--local: loading the index here")
    if url:
        client = ServiceClient(url.rstrip("/"), settings.collection)
        health = client.health(timeout=REQUEST_TIMEOUT_S)
        if not health["ready"]:
            raise ServiceError(f"the service at {client.base_url} is not ready: {health.get('reason')}")
        return ServiceChoice(client, f"using the service at {client.base_url}")
    client = ServiceClient(default_url(settings), settings.collection)
    try:
        health = client.health()
    except ServiceError as exc:
        return ServiceChoice(None, f"{exc}: loading the index here")
    if not health["ready"]:
        return ServiceChoice(None, f"the service at {client.base_url} is not ready: loading the index here")
    if not _same_index(settings, health.get("manifest")):
        return ServiceChoice(
            None, f"the service at {client.base_url} serves another index: loading the index here"
        )
    return ServiceChoice(client, f"using the service at {client.base_url}")


def _same_index(settings: Settings, served: dict[str, Any] | None) -> bool:
    """Whether the service has this project's index loaded (same corpus and build). Without a local index
    to compare with, the service is the only way to answer, so it counts as the same."""
    try:
        local = json.loads(local_manifest_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    if not isinstance(served, dict) or not isinstance(local, dict):
        return False
    return all(served.get(key) == local.get(key) for key in ("corpus_fingerprint", "built_at"))


def local_manifest_path(settings: Settings) -> Path:
    """``store.current_dir(settings) / store.MANIFEST``, without importing the index stage (numpy, bm25s,
    scipy: a tenth of a second, the most of a command a service answers); a test keeps the two equal."""
    return settings.index_dir / "current" / "manifest.json"


def service_options(command: Any) -> Any:
    """``--url`` and ``--local`` for commands that can be answered by a running service."""
    import click

    command = click.option(
        "--local", is_flag=True, help="Load the index here even when a service is running."
    )(command)
    return click.option(
        "--url",
        metavar="URL",
        default=None,
        help="A running reviewqa service to ask (default: the one at the settings' host and port, if up).",
    )(command)


class Answerer:
    """Answers questions through the chosen service, or in this process with the index loaded once."""

    def __init__(self, settings: Settings, choice: ServiceChoice, top_k: int | None = None) -> None:
        self.settings = settings
        self.choice = choice
        self.top_k = top_k
        self._index: Any = None

    def __call__(self, question: str, history: list[dict[str, str]] | None = None) -> Answer:
        if self.choice.client is not None:
            return Answer.from_dict(self.choice.client.ask(question, self.top_k, history))
        from reviewqa.answer.pipeline import answer

        if self._index is None:
            from reviewqa.answer.question import validate_question
            from reviewqa.index import load_index

            validate_question(question, self.settings)  # refused before the index and model are loaded

            self._index = load_index(self.settings)
        return answer(question, self.settings, self._index, top_k=self.top_k, history=history)
