"""Download openly available abstracts and full texts of cited works from Europe PMC.

Polite by construction: one request at a time, at least ``fetch_delay_s`` apart, retries with exponential
backoff on 429 and 5xx honouring Retry-After, and nothing overwritten unless asked.

Bounded too: a reply is read as a stream and refused once it passes ``fetch_max_bytes`` (at once when its
Content-Length says so), each request must be over within ``fetch_timeout_s`` (not per read: a server
dripping a byte a second would otherwise never time out) and the whole run within ``fetch_run_timeout_s``.
A reply refused or cut short writes nothing.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import requests
import urllib3
from rapidfuzz import fuzz

from reviewqa import __version__ as reviewqa_version
from reviewqa.corpus.metadata import SOURCES_FOLDER, documents_toml_path, load_document_table
from reviewqa.errors import ReviewqaError
from reviewqa.fileio import atomic_write_text
from reviewqa.models import CitedWork
from reviewqa.refs.bibliography import load_bibliography, slugify
from reviewqa.refs.document_table import update_document_entries
from reviewqa.refs.jats import jats_to_text, strip_markup
from reviewqa.refs.match import normalise_doi, normalise_words, source_entry
from reviewqa.settings import Settings

logger = logging.getLogger(__name__)

USER_AGENT = f"reviewqa/{reviewqa_version} (literature QA; cited-source fetcher)"
MAX_RETRY_AFTER_S = 300.0
MAX_CONSECUTIVE_FAILURES = 3
READ_BYTES = 64 * 1024
TITLE_AGREEMENT = 80.0  # a record whose title disagrees with the bibliography is another paper

Outcome = Literal["full text", "abstract", "no abstract", "not found", "title mismatch", "skipped", "failed"]


class FetchError(ReviewqaError):
    """A request that failed after its retries, or a bad fetch request."""


class RunDeadlineError(FetchError):
    """The run's time (``fetch_run_timeout_s``) is up: no further request is made."""


class _ReplyTimeout(Exception):
    """One request overran its deadline; retried like a timeout."""


@dataclass(frozen=True)
class Reply:
    """A complete reply, read within the byte cap and the deadline."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)  # ValueError (also for bytes that are not UTF-8) when not JSON


@dataclass
class FetchOutcome:
    key: str
    outcome: Outcome
    detail: str = ""
    path: str = ""  # relative to corpus/documents/ when a file was written


@dataclass
class FetchReport:
    outcomes: list[FetchOutcome] = field(default_factory=list)
    without_identifier: list[str] = field(default_factory=list)
    not_attempted: list[str] = field(default_factory=list)  # after repeated failures or the run's deadline
    deadline_reached: bool = False

    def by_outcome(self) -> dict[str, list[FetchOutcome]]:
        groups: dict[str, list[FetchOutcome]] = {}
        for item in self.outcomes:
            groups.setdefault(item.outcome, []).append(item)
        return groups

    @property
    def failed(self) -> list[FetchOutcome]:
        return [o for o in self.outcomes if o.outcome == "failed"]

    def stop_before(self, rest: list[CitedWork]) -> None:
        """The run stops: ``rest`` (from the work it was at) is not attempted."""
        self.not_attempted = [w.key for w in rest if w.doi or w.pmid]
        self.without_identifier += [w.key for w in rest if not (w.doi or w.pmid)]


class PoliteClient:
    """GETs JSON or text from one base URL, spaced and retried as the service asks, each reply bounded in
    size and time."""

    def __init__(self, settings: Settings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = settings.fetch_base_url.rstrip("/")
        self.delay_s = settings.fetch_delay_s
        self.retries = settings.fetch_retries
        self.backoff_s = settings.fetch_backoff_s
        self.timeout_s = settings.fetch_timeout_s
        self.max_bytes = settings.fetch_max_bytes
        self.run_timeout_s = settings.fetch_run_timeout_s
        self.run_deadline = time.monotonic() + settings.fetch_run_timeout_s
        self.sleep = sleep
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self._last_request_at: float | None = None

    def get(self, path: str, params: dict[str, str] | None = None) -> Reply | None:
        """The reply, or None for 404; raises FetchError when retries are exhausted, on other 4xx or on a
        reply over ``fetch_max_bytes``, and RunDeadlineError once the run's time is up."""
        url = f"{self.base_url}/{path.lstrip('/')}"
        for attempt in range(self.retries + 1):
            self._wait_turn()
            try:
                reply = self._get_once(url, params)
            except (requests.RequestException, urllib3.exceptions.HTTPError, _ReplyTimeout) as exc:
                if attempt == self.retries:
                    raise FetchError(f"{url}: {exc}") from exc
                self._back_off(attempt, None, str(exc))
                continue
            if reply.status_code == 404:
                return None
            if reply.status_code == 429 or reply.status_code >= 500:
                if attempt == self.retries:
                    raise FetchError(f"{url}: HTTP {reply.status_code} after {self.retries} retries")
                self._back_off(attempt, reply.headers.get("Retry-After"), f"HTTP {reply.status_code}")
                continue
            if reply.status_code >= 400:
                raise FetchError(f"{url}: HTTP {reply.status_code}")
            return reply
        raise AssertionError("unreachable")  # pragma: no cover

    def _get_once(self, url: str, params: dict[str, str] | None) -> Reply:
        """One request, its body read in pieces (read1: one receive each) so that the deadline is checked
        between them, whatever pace the server sends at."""
        budget = min(self.timeout_s, self._time_left(url))
        deadline = time.monotonic() + budget
        with self.session.get(url, params=params, timeout=budget, stream=True) as response:
            if response.status_code >= 400:  # the body of an error is not needed
                return Reply(response.status_code, response.headers, b"")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(
                    f"{url}: the reply is {declared} bytes, over fetch_max_bytes ({self.max_bytes})"
                )
            body = bytearray()
            while chunk := response.raw.read1(READ_BYTES, decode_content=True):
                body += chunk
                if len(body) > self.max_bytes:
                    raise FetchError(f"{url}: the reply is over fetch_max_bytes ({self.max_bytes}); stopped")
                if time.monotonic() > deadline:
                    raise _ReplyTimeout(f"no complete reply within {budget:g} s")
            return Reply(response.status_code, response.headers, bytes(body))

    def _time_left(self, url: str) -> float:
        remaining = self.run_deadline - time.monotonic()
        if remaining <= 0:
            raise RunDeadlineError(
                f"{url}: not requested, the run is over its time limit, "
                f"fetch_run_timeout_s ({self.run_timeout_s:g} s)"
            )
        return remaining

    def _wait_turn(self) -> None:
        if self._last_request_at is not None:
            remaining = self.delay_s - (time.monotonic() - self._last_request_at)
            if remaining > 0:
                self.sleep(remaining)
        self._last_request_at = time.monotonic()

    def _back_off(self, attempt: int, retry_after: str | None, reason: str) -> None:
        wait = retry_after_seconds(retry_after)
        if wait is None:
            wait = self.backoff_s * 2**attempt
        wait = min(wait, MAX_RETRY_AFTER_S, max(0.0, self.run_deadline - time.monotonic()))
        logger.info("%s; retrying in %.2f s (retry %d of %d)", reason, wait, attempt + 1, self.retries)
        self.sleep(wait)

    def close(self) -> None:
        self.session.close()


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def fetch_sources(
    settings: Settings,
    *,
    force: bool = False,
    keys: list[str] | None = None,
    client: PoliteClient | None = None,
) -> FetchReport:
    """Fetch every row with a DOI or PMID (or only ``keys``), writing `sources/<slug>.txt` per found work."""
    bibliography = load_bibliography(settings.references_path)
    unknown = [k for k in keys or [] if k not in bibliography]
    if unknown:
        raise FetchError(f"not in {settings.references_path}: {', '.join(unknown)}")
    works = [bibliography[k] for k in keys] if keys else list(bibliography.values())
    load_document_table(documents_toml_path(settings.corpus_dir))  # fail early on a broken file
    report = FetchReport()
    own_client = client is None
    client = client or PoliteClient(settings)
    consecutive_failures = 0
    try:
        for position, work in enumerate(works):
            if consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
                # The service (or the network) is down: stop instead of hammering it row after row.
                report.stop_before(works[position:])
                break
            if not (work.doi or work.pmid):
                report.without_identifier.append(work.key)
                continue
            try:
                outcome = _fetch_one(settings, client, work, force=force)
            except RunDeadlineError as exc:
                logger.warning("%s", exc)
                report.deadline_reached = True
                report.stop_before(works[position:])
                break
            logger.info("%s: %s %s", work.key, outcome.outcome, outcome.detail)
            report.outcomes.append(outcome)
            consecutive_failures = consecutive_failures + 1 if outcome.outcome == "failed" else 0
    finally:
        if own_client:
            client.close()
    return report


def _fetch_one(settings: Settings, client: PoliteClient, work: CitedWork, *, force: bool) -> FetchOutcome:
    relative = f"{SOURCES_FOLDER}/{slugify(work.key)}.txt"
    target = settings.documents_dir / relative
    if not force:
        reason = _reason_to_skip(settings, work.key, relative, target)
        if reason:
            return FetchOutcome(work.key, "skipped", reason)
    try:
        record = _search(client, work)
        if record is None:
            return FetchOutcome(work.key, "not found", _identifier_label(work))
        if not _same_work(work, record):
            return FetchOutcome(work.key, "title mismatch", f"Europe PMC has {record['title']!r}")
        body = _full_text(client, record)
    except RunDeadlineError:
        raise
    except FetchError as exc:
        return FetchOutcome(work.key, "failed", str(exc))
    abstract = strip_markup(record["abstractText"])
    if not body and not abstract:
        return FetchOutcome(work.key, "no abstract", "found, but neither abstract nor open full text")
    atomic_write_text(target, render_source_text(work, record, abstract, body))
    update_document_entries(documents_toml_path(settings.corpus_dir), {relative: source_entry(work)})
    outcome: Outcome = "full text" if body else "abstract"
    return FetchOutcome(work.key, outcome, europe_pmc_id(record), relative)


def _reason_to_skip(settings: Settings, key: str, relative: str, target: Path) -> str:
    if target.exists():
        return f"{relative} exists (use --force to replace it)"
    entries = load_document_table(documents_toml_path(settings.corpus_dir))
    others = [p for p, e in entries.items() if e.get("key") == key and (settings.documents_dir / p).exists()]
    if others:
        return f"already has a source document: {', '.join(sorted(others))} (use --force to fetch anyway)"
    return ""


def _identifier_label(work: CitedWork) -> str:
    return ", ".join(
        label for label in (work.doi and f"DOI {work.doi}", work.pmid and f"PMID {work.pmid}") if label
    )


# The fields of a Europe PMC core record this module reads; each must be text (or null, read as "").
RECORD_TEXT_FIELDS = (
    "id", "source", "pmid", "pmcid", "doi", "title", "abstractText", "authorString", "journalTitle",
    "isOpenAccess",
)  # fmt: skip
Record = dict[str, str]


def _search(client: PoliteClient, work: CitedWork) -> Record | None:
    """The Europe PMC core record for the work: by DOI, then by PMID when the DOI finds nothing."""
    queries = []
    if work.doi:
        queries.append(f'DOI:"{work.doi}"')
    if work.pmid:
        queries.append(f"EXT_ID:{work.pmid} AND SRC:MED")
    for query in queries:
        record = _search_one(client, work, query)
        if record is not None:
            return record
    return None


def _search_one(client: PoliteClient, work: CitedWork, query: str) -> Record | None:
    response = client.get("search", {"query": query, "resultType": "core", "format": "json"})
    if response is None:
        return None
    for record in _search_results(response, work.key):
        if (work.doi and normalise_doi(record["doi"]) == normalise_doi(work.doi)) or (
            work.pmid and record["pmid"] == work.pmid
        ):
            return record
    return None


def _search_results(response: Reply, key: str) -> list[Record]:
    """The records of a search reply; FetchError when the reply is not shaped as Europe PMC's are."""
    try:
        data = response.json()
    except ValueError as exc:
        raise FetchError(f"search for {key}: the response is not JSON") from exc
    result_list = data.get("resultList", {}) if isinstance(data, dict) else None
    results = result_list.get("result", []) if isinstance(result_list, dict) else None
    if not isinstance(results, list):
        raise FetchError(f"search for {key}: the response has no resultList.result list")
    return [_checked_record(raw, key) for raw in results]


def _checked_record(raw: object, key: str) -> Record:
    """A search result with every field read here as text; FetchError for a record of the wrong shape
    (one malformed reply fails its work, not the run)."""
    if not isinstance(raw, dict):
        raise FetchError(f"search for {key}: a result is {type(raw).__name__}, not a record")
    record: Record = {}
    for name in RECORD_TEXT_FIELDS:
        value = raw.get(name)
        if value is not None and not isinstance(value, str):
            raise FetchError(f"search for {key}: the record's {name!r} is {type(value).__name__}, not text")
        record[name] = value or ""
    year = raw.get("pubYear")
    if year is not None and (isinstance(year, bool) or not isinstance(year, str | int)):
        raise FetchError(f"search for {key}: the record's 'pubYear' is {type(year).__name__}")
    record["pubYear"] = "" if year is None else str(year)
    return record


def _same_work(work: CitedWork, record: Record) -> bool:
    """Guards against a wrong identifier in the bibliography: the titles must broadly agree."""
    if not work.title or not record["title"]:
        return True
    ours, theirs = normalise_words(work.title), normalise_words(strip_markup(record["title"]))
    return fuzz.token_set_ratio(ours, theirs) >= TITLE_AGREEMENT


def _full_text(client: PoliteClient, record: Record) -> str:
    """The body of the open-access full text as plain text; empty when not open access or not available."""
    pmcid = record["pmcid"]
    if record["isOpenAccess"] != "Y" or not pmcid:
        return ""
    response = client.get(f"{pmcid}/fullTextXML")
    if response is None:
        return ""
    return jats_to_text(response.content)


def render_source_text(work: CitedWork, record: Record, abstract: str, body: str) -> str:
    """The text file the corpus stage reads: title, a short provenance block, abstract, then the body."""
    title = strip_markup(record.get("title") or work.title or work.key)
    doi = record.get("doi") or work.doi
    identifier = europe_pmc_id(record)
    provenance = [
        record.get("authorString") or work.authors,
        " ".join(
            part
            for part in (record.get("journalTitle", ""), record.get("pubYear") or str(work.year or ""))
            if part
        ),
        f"DOI: {doi}" if doi else "",
        f"Retrieved from Europe PMC ({identifier})." if identifier else "Retrieved from Europe PMC.",
    ]
    parts = [title, "\n".join(line for line in provenance if line)]
    if abstract:
        parts += ["Abstract", abstract]
    if body:
        parts.append(body)
    return "\n\n".join(parts).strip() + "\n"


def europe_pmc_id(record: Record) -> str:
    """The record's most specific Europe PMC identifier (PMCID, else PMID, else its id); may be empty."""
    return record.get("pmcid") or record.get("pmid") or record.get("id") or ""
