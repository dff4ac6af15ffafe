"""Who may add and remove documents over HTTP, and how large an upload may be.

``uploads = "auto"`` (the default): with ``upload_token`` set, a request must carry it (``Authorization:
Bearer <token>``). Without a token, uploads are off when the service binds an address other machines can
reach. On a loopback address they are taken without a token, but only from requests made directly to the
service on this machine by a page of its own origin: not through a reverse proxy (which would make every
request look local, so a proxied service needs the token), not by another web site in the user's browser
(a form posted cross-site, or a DNS name rebound to 127.0.0.1).
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Request

from reviewqa.service.errors import ApiError
from reviewqa.service.port import is_loopback_host
from reviewqa.settings import Settings

# The request line of an upload, as the worker sees it before the app (it allows a larger body for it).
UPLOAD_REQUEST_LINE = re.compile(rb"^POST /api/v1/collections/[^/?# ]+/documents/?(?:[? ])")
# Room for the multipart envelope around the file: boundaries, part headers, the replace field.
MULTIPART_ALLOWANCE = 64 * 1024
PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP")
SAFE_FETCH_SITES = ("same-origin", "none")


@dataclass(frozen=True)
class UploadPolicy:
    """Whether this request may add or remove documents, and if not, why (for the chat page and errors)."""

    allowed: bool
    token_required: bool
    reason: str


def upload_body_limit(settings: Settings) -> int | None:
    """The largest request body an upload may have (the file and its envelope); None when uploads are off."""
    if settings.uploads == "off":
        return None
    return settings.upload_max_bytes + MULTIPART_ALLOWANCE


def upload_policy(settings: Settings, request: Request) -> UploadPolicy:
    """What the settings and this request allow (a token, when one is required, is checked separately)."""
    if settings.uploads == "off":
        return UploadPolicy(False, False, 'uploads are turned off (setting uploads = "off")')
    if settings.upload_token:
        return UploadPolicy(True, True, "uploads need the upload token")
    if settings.uploads == "token":
        return UploadPolicy(False, True, 'uploads = "token" but no upload_token is set')
    if not is_loopback_host(settings.host):
        return UploadPolicy(
            False,
            False,
            f"the service listens on {settings.host}, which other machines can reach, and no upload_token "
            "is set: set one to allow uploads with it",
        )
    reason = local_request_reason(request)
    if reason:
        return UploadPolicy(False, False, f"without an upload_token, {reason}")
    return UploadPolicy(True, False, "uploads from this machine are allowed without a token")


def check_write_access(settings: Settings, request: Request) -> None:
    """Raise ApiError unless this request may add or remove documents: 401 without the right token when
    one is set, 403 when uploads are not allowed."""
    policy = upload_policy(settings, request)
    if not policy.allowed:
        raise ApiError(403, "uploads_not_allowed", policy.reason)
    if policy.token_required:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        expected = settings.upload_token.encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            raise ApiError(401, "unauthorized", "send the upload token: Authorization: Bearer <token>")


def local_request_reason(request: Request) -> str:
    """Why this request is not one made directly to the service on this machine by a page of its own
    origin ("" when it is)."""
    if not is_loopback_host(request.remote_addr or ""):
        return "only requests from this machine may upload"
    if any(name in request.headers for name in PROXY_HEADERS):
        return "uploads through a proxy need an upload_token"
    if not is_loopback_host(urlsplit(f"//{request.host}").hostname or ""):
        return "only requests addressed to this machine (localhost, 127.0.0.1, ::1) may upload"
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/") != request.host_url.rstrip("/"):
        return "only the service's own page may upload (this request came from another site)"
    if request.headers.get("Sec-Fetch-Site", "none") not in SAFE_FETCH_SITES:
        return "only the service's own page may upload (this request came from another site)"
    return ""
