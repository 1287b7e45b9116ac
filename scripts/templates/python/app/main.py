"""The __name__ service's FastAPI app: the operations of contracts/__name__.yaml (named by their
operationId), health probes, and Problem answers. ``create_app`` is uvicorn's factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated
from uuid import UUID

from fastapi import FastAPI, Header, Query, Request, Response

from app.core.config import Settings, load_settings
from app.core.problems import HttpProblem, install_problem_handlers
from app.core.security import Caller, TokenVerifier, jwks_resolver
from app.events import JetStreamPublisher, Publisher, envelope
from app.models.generated import __Entity__, __Entity__Page, New__Entity__
from app.store import __Name__Store


def create_app(
    settings: Settings | None = None,
    *,
    verifier: TokenVerifier | None = None,
    publisher: Publisher | None = None,
) -> FastAPI:
    """The app; ``verifier`` and ``publisher`` default to the JWK Set and NATS of ``settings``
    (tests pass their own)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        config = settings or load_settings()
        app.state.verifier = verifier or TokenVerifier(
            jwks_resolver(str(config.JWKS_URL)), config.JWT_ISSUER, config.JWT_AUDIENCE
        )
        connected = None
        if publisher is None:
            connected = await JetStreamPublisher.connect(
                config.nats_servers, config.NATS_STREAM_REPLICAS
            )
        app.state.publisher = publisher or connected
        try:
            yield
        finally:
            if connected is not None:
                await connected.close()

    app = FastAPI(title="__name__", lifespan=lifespan, openapi_url=None, docs_url=None)
    install_problem_handlers(app)
    store = __Name__Store()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/__name__", operation_id="list__Name__")
    async def list___name__(
        caller: Caller,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    ) -> __Entity__Page:
        if cursor is not None and not cursor.isdigit():
            raise HttpProblem(
                400,
                "The cursor is not one this API returned.",
                [{"location": "query", "field": "cursor", "message": "is not a valid cursor"}],
            )
        offset = int(cursor or 0)
        rows = store.newest(offset, limit + 1)
        next_cursor = str(offset + limit) if len(rows) > limit else None
        return __Entity__Page(items=rows[:limit], nextCursor=next_cursor)

    @app.post("/__name__", operation_id="create__Entity__", status_code=201)
    async def create___entity__(
        body: New__Entity__,
        caller: Caller,
        request: Request,
        response: Response,
        x_request_id: Annotated[str | None, Header()] = None,
    ) -> __Entity__:
        row = store.create(body, caller.user_id)
        data = {"__entity__": row.model_dump(mode="json")}
        event = envelope("__name__.__entity__.created", str(row.id), data)
        await request.app.state.publisher.publish(event, x_request_id)
        response.headers["Location"] = f"/__name__/{row.id}"
        return row

    @app.get("/__name__/{__entity__Id}", operation_id="get__Entity__")
    async def get___entity__(__entity__Id: UUID, caller: Caller) -> __Entity__:  # noqa: N803
        row = store.get(str(__entity__Id))
        if row is None:
            raise HttpProblem(404, f"No __entity__ {__entity__Id}.")
        return row

    return app
