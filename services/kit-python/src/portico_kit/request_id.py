"""``X-Request-Id`` end to end: the caller's id when well-formed, else a new UUID; echoed on the
response, put on every Problem and log line, and passed on as a NATS header.

A pure ASGI middleware (no per-request ``BaseHTTPMiddleware`` task), as on the hot path of every
request."""

import re
import uuid

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_from(given: str | None) -> str:
    """The request's id: ``given`` when it matches the kit's pattern, else a new UUID (v4)."""
    return given if given is not None and _PATTERN.fullmatch(given) else str(uuid.uuid4())


def request_id_of(request: Request) -> str | None:
    """The id ``RequestIdMiddleware`` gave this request, if it ran."""
    value = request.scope.get("state", {}).get("request_id")
    return value if isinstance(value, str) else None


class RequestIdMiddleware:
    """Sets ``scope["state"]["request_id"]`` and the ``X-Request-Id`` response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == REQUEST_ID_HEADER.encode()),
            None,
        )
        request_id = request_id_from(given)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)
