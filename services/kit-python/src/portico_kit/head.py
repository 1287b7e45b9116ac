"""``HEAD`` answered like ``GET`` without the body (RFC 9110 section 9.3.2), for every route,
as the TypeScript kit's ``headAsGet`` does: the same status and headers (``Content-Length``
included), so a ``HEAD`` on a ``GET`` operation gets its 200, 304, 400 or 404, and one on a path
without ``GET`` its 405. FastAPI routes declared for ``GET`` answer ``HEAD`` with 405 otherwise.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGetMiddleware:
    """Serves each ``HEAD`` request as a ``GET`` and sends its response without the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # the end (below) completes the response
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        # A copy: the middlewares around this one (the access log) still see HEAD.
        await self.app({**scope, "method": "GET"}, receive, send_without_body)
