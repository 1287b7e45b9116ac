"""uvicorn's HTTP/1.1 protocol (httptools) with the limits and answers of the TypeScript services
(``@portico/kit``'s server.ts and client-errors.ts), for what happens before the app sees a
request:

- a request line and headers over 16 KiB (Node's ``maxHeaderSize``) → 431, refused as soon as
  that many bytes arrived without the end of the headers (httptools would buffer them all);
- the request line and headers not received within ``HTTP_HEADERS_TIMEOUT_MS`` (from the
  connection, or from the first byte of a request on a kept-alive one), or the whole request
  within ``HTTP_REQUEST_TIMEOUT_MS`` → 408: a slow client no longer holds a connection for good
  (uvicorn itself sets no deadline before the first response);
- an idle kept-alive connection is closed after ``HTTP_KEEP_ALIVE_TIMEOUT_MS``;
- a request the parser rejects → 400; so is an HTTP/1.1 request without a ``Host`` header, and
  any with more than one (RFC 9112 section 3.2: "MUST respond with a 400");
- a request line naming another version than HTTP/1.0 or 1.1 → 505 (RFC 9110 section 15.6.6).

Each answer is a Problem (RFC 9457) and closes the connection, where uvicorn would answer 400
``text/plain`` "Invalid HTTP request received." (or nothing). Run it with
``uvicorn --http portico_kit.http_server:PorticoHttpProtocol`` (``portico_kit.serve`` does).
"""

import asyncio
import functools
import json
import logging
from asyncio import TimerHandle
from typing import Any, Final

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from portico_kit.config import HttpServerSettings
from portico_kit.problems import PROBLEM_CONTENT_TYPE, HttpProblem

HEAD_LIMIT_BYTES: Final = 16 * 1024
"""Longest request line and headers, in bytes (Node's default ``maxHeaderSize``)."""

DETAILS: Final = {
    400: "The request is not valid HTTP.",
    408: "The request was not received in time.",
    431: "The request line and headers are too large.",
    505: "Only HTTP/1.0 and HTTP/1.1 are served.",
}
"""The Problems' details, worded as the kit's client-errors.ts words them."""
HOST_REQUIRED: Final = "The request must carry exactly one Host header (RFC 9112 section 3.2)."
SERVED_VERSIONS: Final = frozenset({"1.0", "1.1"})

log = logging.getLogger("portico.http")


@functools.cache
def server_settings() -> HttpServerSettings:
    """The timeouts of the environment, read once per process.

    Raises:
        pydantic.ValidationError: when one is invalid (the service checks at start-up first).
    """
    return HttpServerSettings()


def problem_bytes(
    status: int, default_headers: list[tuple[bytes, bytes]], detail: str | None = None
) -> bytes:
    """A complete HTTP/1.1 response: the Problem for ``status`` (``detail``, else the usual one
    for the status), closing the connection."""
    problem = HttpProblem(status, detail or DETAILS[status])
    body = json.dumps(
        problem.body(None, None).model_dump(mode="json", exclude_none=True),
        separators=(",", ":"),
    ).encode()
    lines = [f"HTTP/1.1 {status} {problem.title}".encode()]
    lines += [name + b": " + value for name, value in default_headers]
    lines += [
        f"content-type: {PROBLEM_CONTENT_TYPE}".encode(),
        f"content-length: {len(body)}".encode(),
        b"connection: close",
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class _Refused(Exception):
    """Raised in a parser callback to stop parsing a refused request."""


class PorticoHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits of the module comment."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        settings = server_settings()
        self._headers_timeout = settings.HTTP_HEADERS_TIMEOUT_MS / 1000
        self._request_timeout = settings.HTTP_REQUEST_TIMEOUT_MS / 1000
        self.timeout_keep_alive = settings.HTTP_KEEP_ALIVE_TIMEOUT_MS / 1000  # type: ignore[assignment]
        self._in_head = True
        """Between requests, or receiving a request line and headers."""
        self._head_bytes = 0
        self._refusal: tuple[int, str | None] | None = None
        self._headers_timer: TimerHandle | None = None
        self._request_timer: TimerHandle | None = None

    # The deadlines of one request.

    def _start_deadlines(self) -> None:
        self._cancel_deadlines()
        self._headers_timer = self.loop.call_later(self._headers_timeout, self._headers_late)
        self._request_timer = self.loop.call_later(self._request_timeout, self._request_late)

    def _cancel_deadlines(self) -> None:
        for timer in (self._headers_timer, self._request_timer):
            if timer is not None:
                timer.cancel()
        self._headers_timer = self._request_timer = None

    def _headers_late(self) -> None:
        self._refuse(408)

    def _request_late(self) -> None:
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # the app answered already: nothing else can be said
        else:
            self._refuse(408)

    def _refuse(self, status: int, detail: str | None = None) -> None:
        """Answers ``status`` as a Problem and closes the connection."""
        self._cancel_deadlines()
        if self.transport.is_closing():
            return
        log.warning("request refused", extra={"status": status, "client": self.client})
        self.transport.write(problem_bytes(status, self.server_state.default_headers, detail))
        self.transport.close()

    # uvicorn's protocol.

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_deadlines()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadlines()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            if self._headers_timer is None:
                self._start_deadlines()  # the first byte of a request on a kept-alive connection
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > HEAD_LIMIT_BYTES:
            self._refuse(431)

    def send_400_response(self, msg: str) -> None:
        # uvicorn calls it for whatever the parser rejects, including a callback's _Refused.
        self._refuse(*(self._refusal or (400, None)))

    def on_headers_complete(self) -> None:
        if self._headers_timer is not None:
            self._headers_timer.cancel()
            self._headers_timer = None
        self._in_head = False
        self._refusal = self._refusal_of_head()
        if self._refusal is not None:
            raise _Refused
        super().on_headers_complete()

    def _refusal_of_head(self) -> tuple[int, str | None] | None:
        """Why the request line and headers just parsed are refused, if they are."""
        if self._head_size() > HEAD_LIMIT_BYTES:
            return 431, None
        version = self.parser.get_http_version()
        if version not in SERVED_VERSIONS:
            return 505, None
        hosts = sum(1 for name, _ in self.headers if name == b"host")
        if hosts > 1 or (hosts == 0 and version == "1.1"):
            return 400, HOST_REQUIRED
        return None

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._cancel_deadlines()
        self._in_head = True
        self._head_bytes = 0

    def _head_size(self) -> int:
        """The bytes of the request line and headers just parsed (their CRLFs included)."""
        method = len(self.parser.get_method())
        request_line = method + 1 + len(self.url) + len(" HTTP/1.1\r\n")
        return request_line + sum(len(n) + len(v) + 4 for n, v in self.headers) + 2
