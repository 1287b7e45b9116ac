"""The request body limit of every Portico service: 1 MiB, as the TypeScript kit's body parsers
(``express.json({ limit: "1mb" })``) set it, refused with the same 413 Problem.

A body announced longer (``Content-Length``) is refused before any of it is read; a streamed one
(chunked) as soon as it passes the limit. The 413 closes the connection, so the server does not
go on reading the rest to keep the connection alive.
"""

from typing import Final

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portico_kit.problems import HttpProblem, problem_response

BODY_LIMIT_BYTES: Final = 1024 * 1024
"""Longest request body, in bytes (the kit's ``1mb``: body-parser's ``mb`` is 2^20 bytes)."""
BODY_TOO_LARGE: Final = "The request body is too large."
"""The 413's detail, as the kit words it."""
_CLOSE: Final = {"Connection": "close"}


def _announced_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP server refuses a malformed Content-Length itself
    return None


class BodyLimitMiddleware:
    """Refuses request bodies over ``limit`` bytes with a 413 Problem (see the module comment)."""

    def __init__(self, app: ASGIApp, limit: int = BODY_LIMIT_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        announced = _announced_length(scope)
        if announced is not None and announced > self.limit:
            problem = HttpProblem(413, BODY_TOO_LARGE, headers=_CLOSE)
            await problem_response(problem, Request(scope))(scope, receive, send)
            return
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # An HTTPException, so that FastAPI's body reading passes it on as it is;
                    # the Problem handlers render it.
                    raise StarletteHTTPException(413, BODY_TOO_LARGE, headers=_CLOSE)
            return message

        await self.app(scope, receive_within_limit, send)
