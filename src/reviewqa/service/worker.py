"""A gunicorn gthread worker whose answering threads only ever see complete requests.

gunicorn's gthread worker hands a connection to a thread of its pool as soon as it is readable; the thread
then reads the request with blocking calls and no deadline, so 50 clients that send their headers one byte
a second (or announce a body and send two bytes of it) hold every thread and every other request waits.
This worker reads each request in its event loop first, without blocking, into a buffer, and hands the
connection to the pool only once the request is complete: headers and the whole body (Content-Length or
chunked). A connection that has not delivered a whole request within ``request_read_timeout_s`` of being
accepted (or, kept alive, of its next first byte) is answered 408 and closed; a body announced over the
app's ``MAX_CONTENT_LENGTH`` is answered 413 at once. The errors gunicorn answers itself (400, 414, 431,
...) are JSON, like the app's.

It relies on the gthread worker of gunicorn 27 (``enqueue_req``, ``handle``, ``murder_pending``), which is
why pyproject.toml pins gunicorn's major version.
"""

from __future__ import annotations

import contextlib
import json
import selectors
import time
import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any

from gunicorn import util
from gunicorn.http import errors as http_errors
from gunicorn.http2 import negotiation
from gunicorn.workers.gthread import ThreadWorker

from reviewqa.logsafe import log_safe
from reviewqa.service.uploads import UPLOAD_REQUEST_LINE

DEFAULT_READ_TIMEOUT_S = 10.0
# Request line and headers together; gunicorn's own limits (limit_request_line, limit_request_fields,
# limit_request_field_size) still apply to what is handed on.
MAX_HEADER_BYTES = 64 * 1024
RECV_BYTES = 64 * 1024


@dataclass(frozen=True)
class Refusal:
    """A request answered from the event loop, without the app."""

    status: int
    reason: str
    code: str
    message: str


COMPLETE = "complete"
INCOMPLETE = "incomplete"


class RequestBuffer:
    """The bytes of one HTTP/1.x request read so far, and whether they hold all of it."""

    def __init__(
        self,
        initial: bytes,
        deadline: float,
        max_body_bytes: int | None,
        max_upload_bytes: int | None = None,
    ) -> None:
        self.data = bytearray(initial)
        self.deadline = deadline
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes  # for a document upload, when the app takes them
        self.registered = False  # on the worker's poller
        self.continue_sent = False
        self._header_end: int | None = None
        self._content_length = 0
        self._chunked = False
        self._expects_continue = False
        self._chunk_position = 0  # where the next chunk-size line starts (chunked bodies)
        self._chunked_bytes = 0

    def feed(self, chunk: bytes) -> None:
        self.data += chunk

    @property
    def wants_continue(self) -> bool:
        """Headers read, body not, and the client waits for "100 Continue" before sending it."""
        return self._expects_continue and not self.continue_sent

    def verdict(self) -> str | Refusal:
        """COMPLETE, INCOMPLETE, or a Refusal to answer instead of passing the request on."""
        if self._header_end is None:
            refusal = self._find_header_end()
            if refusal is not None or self._header_end is None:
                return refusal or INCOMPLETE
        if self._chunked:
            return self._chunked_verdict()
        return COMPLETE if len(self.data) >= self._header_end + self._content_length else INCOMPLETE

    def _find_header_end(self) -> Refusal | None:
        ends = [(i, len(mark)) for mark in (b"\r\n\r\n", b"\n\n") if (i := self.data.find(mark)) >= 0]
        if not ends:
            if len(self.data) > MAX_HEADER_BYTES:
                return Refusal(
                    431,
                    "Request Header Fields Too Large",
                    "headers_too_large",
                    f"the request line and headers are over {MAX_HEADER_BYTES} bytes",
                )
            return None
        position, length = min(ends)
        self._header_end = position + length
        self._chunk_position = self._header_end
        return self._read_framing(bytes(self.data[:position]))

    def _read_framing(self, head: bytes) -> Refusal | None:
        """Body framing from the headers. Anything unusual (several or bad lengths) is passed on as it is:
        gunicorn's parser refuses it with a 400."""
        if self.max_upload_bytes is not None and UPLOAD_REQUEST_LINE.match(head):
            self.max_body_bytes = self.max_upload_bytes
        lengths: set[bytes] = set()
        for line in head.split(b"\n")[1:]:
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                lengths.add(value)
            elif name == b"transfer-encoding" and b"chunked" in value:
                self._chunked = True
            elif name == b"expect" and value == b"100-continue":
                self._expects_continue = True
        if self._chunked or len(lengths) != 1:
            return None
        (length,) = lengths
        if not length.isdigit():
            return None
        self._content_length = int(length)
        if self.max_body_bytes is not None and self._content_length > self.max_body_bytes:
            return _too_large(self.max_body_bytes)
        return None

    def _chunked_verdict(self) -> str | Refusal:
        """Walks the chunks received so far; COMPLETE once the last (size 0) chunk and trailers are in."""
        while True:
            line_end = self.data.find(b"\n", self._chunk_position)
            if line_end < 0:
                return INCOMPLETE
            size_text = bytes(self.data[self._chunk_position : line_end]).split(b";")[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                return COMPLETE  # gunicorn's parser answers the malformed chunk with a 400
            if size == 0:
                # Trailers, if any, end with an empty line: right after the size line, or later.
                rest = self.data[line_end + 1 :]
                if rest[:2] == b"\r\n" or rest[:1] == b"\n" or b"\n\r\n" in rest or b"\n\n" in rest:
                    return COMPLETE
                return INCOMPLETE
            self._chunked_bytes += size
            if self.max_body_bytes is not None and self._chunked_bytes > self.max_body_bytes:
                return _too_large(self.max_body_bytes)
            next_position = line_end + 1 + size + 2  # the data and its CRLF
            if len(self.data) < next_position:
                self._chunked_bytes -= size  # counted again when the rest of it has come
                return INCOMPLETE
            self._chunk_position = next_position


def _too_large(limit: int) -> Refusal:
    return Refusal(
        413, "Content Too Large", "request_too_large", f"the request body is over the limit of {limit} bytes"
    )


def json_error(status: int, reason: str, code: str, message: str) -> bytes:
    """A complete HTTP/1.1 response with the app's JSON error body; the connection is closed after it."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Request-ID: {uuid.uuid4().hex}\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


# gunicorn's request errors, as (status, reason, code); other parse errors are a plain 400.
PARSE_ERRORS: tuple[tuple[type[Exception], int, str, str], ...] = (
    (http_errors.LimitRequestLine, 414, "URI Too Long", "request_line_too_long"),
    (http_errors.LimitRequestHeaders, 431, "Request Header Fields Too Large", "headers_too_large"),
    (http_errors.UnsupportedTransferCoding, 501, "Not Implemented", "unsupported_transfer_coding"),
    (http_errors.ExpectationFailed, 417, "Expectation Failed", "expectation_failed"),
    (http_errors.ForbiddenProxyRequest, 403, "Forbidden", "forbidden"),
)
# Errors that are the server's (a bad configuration, or a response header the app made), not the client's.
SERVER_ERRORS = (
    http_errors.ConfigurationProblem,
    http_errors.InvalidResponseHeader,
    http_errors.InvalidResponseHeaderName,
)


class BufferingWorker(ThreadWorker):
    """gthread with whole requests read in the event loop, under a deadline, before a thread answers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reading: dict[Any, RequestBuffer] = {}
        self.read_timeout_s = DEFAULT_READ_TIMEOUT_S
        self.max_body_bytes: int | None = None
        self.max_upload_bytes: int | None = None

    def run(self) -> None:
        # The limits are the app's settings (create_app puts them in its config).
        config = getattr(self.wsgi, "config", {})
        self.read_timeout_s = float(config.get("REQUEST_READ_TIMEOUT_S", DEFAULT_READ_TIMEOUT_S))
        self.max_body_bytes = config.get("MAX_CONTENT_LENGTH")
        self.max_upload_bytes = config.get("UPLOAD_MAX_CONTENT_LENGTH")
        super().run()

    # ------------------------------------------------------------ reading in the event loop

    def enqueue_req(self, conn: Any) -> None:
        """Called for a new connection, a kept-alive one that became readable, or one with pipelined
        bytes left over: read its request here first. TLS and HTTP/2 prior knowledge need the socket
        itself in the thread, so they are passed on as gunicorn does."""
        if self.cfg.is_ssl or negotiation.prior_knowledge_allowed(self.cfg, conn.client):
            super().enqueue_req(conn)
            return
        leftover = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        buffer = RequestBuffer(
            leftover, time.monotonic() + self.read_timeout_s, self.max_body_bytes, self.max_upload_bytes
        )
        conn.sock.setblocking(False)
        self._reading[conn] = buffer
        if leftover and self._advance(conn, buffer):
            return
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))
        buffer.registered = True

    def _on_readable(self, conn: Any, _sock: Any) -> None:
        buffer = self._reading.get(conn)
        if buffer is None:
            return
        try:
            chunk = conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(conn)
            return
        if not chunk:  # the client went away
            self._close(conn)
            return
        buffer.feed(chunk)
        self._advance(conn, buffer)

    def _advance(self, conn: Any, buffer: RequestBuffer) -> bool:
        """Pass the request on (or refuse it) once it is complete; True if the connection left the loop."""
        verdict = buffer.verdict()
        if verdict == INCOMPLETE:
            if buffer.wants_continue:
                buffer.continue_sent = True
                self._send(conn, b"HTTP/1.1 100 Continue\r\n\r\n")
            return False
        self._stop_reading(conn, buffer)
        if isinstance(verdict, Refusal):
            self._refuse(conn, verdict)
            return True
        conn.staged = bytes(buffer.data)
        conn.data_ready = True  # the thread must not wait for data again
        super().enqueue_req(conn)
        return True

    def handle(self, conn: Any) -> Any:
        """In a pool thread: the parser reads the request from the buffered bytes, then the socket."""
        staged = getattr(conn, "staged", None)
        if staged is not None:
            conn.staged = None
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(staged)
        return super().handle(conn)

    def murder_pending(self) -> None:
        """Also close connections that have not delivered a whole request in time (408 if they began)."""
        super().murder_pending()
        now = time.monotonic()
        for conn, buffer in list(self._reading.items()):
            if buffer.deadline > now:
                continue
            self._stop_reading(conn, buffer)
            if buffer.data:
                self._refuse(
                    conn,
                    Refusal(
                        408,
                        "Request Timeout",
                        "request_timeout",
                        f"the request was not received in full within {self.read_timeout_s:g} s",
                    ),
                )
            else:
                self._finish(conn)

    def _stop_reading(self, conn: Any, buffer: RequestBuffer) -> None:
        del self._reading[conn]
        if buffer.registered:
            buffer.registered = False
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.poller.unregister(conn.sock)

    def _close(self, conn: Any) -> None:
        buffer = self._reading.get(conn)
        if buffer is not None:
            self._stop_reading(conn, buffer)
        self._finish(conn)

    def _refuse(self, conn: Any, refusal: Refusal) -> None:
        # debug, not info: a flood of slow connections must not flood the log too
        self.log.debug("%s from %s: %s", refusal.status, log_safe(str(conn.client)), refusal.message)
        self._send(conn, json_error(refusal.status, refusal.reason, refusal.code, refusal.message))
        self._finish(conn)

    def _send(self, conn: Any, data: bytes) -> None:
        with contextlib.suppress(
            OSError
        ):  # non-blocking and small; what does not fit goes with the connection
            conn.sock.send(data)

    def _finish(self, conn: Any) -> None:
        self.nr_conns -= 1
        conn.close()

    # ------------------------------------------------------------ gunicorn's own error responses

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """Requests gunicorn's parser refuses get the app's JSON error body instead of an HTML page."""
        if not isinstance(exc, http_errors.ParseException) or isinstance(exc, SERVER_ERRORS):
            super().handle_error(req, client, addr, exc)
            return
        status, reason, code = 400, "Bad Request", "bad_request"
        for kind, kind_status, kind_reason, kind_code in PARSE_ERRORS:
            if isinstance(exc, kind):
                status, reason, code = kind_status, kind_reason, kind_code
                break
        ip = addr[0] if addr else ""
        self.log.warning("invalid request from %s: %s", log_safe(str(ip)), log_safe(str(exc)))
        try:
            util.write_nonblock(client, json_error(status, reason, code, f"{reason}: {exc}"))
        except Exception:  # the client may be gone; nothing else to do
            self.log.debug("failed to send the error response")
