"""The __name__ service's FastAPI app: the operations of contracts/__name__.yaml (named by their
operationId, each with the security requirement the contract declares), health probes, and the
platform's rules from the kit (``portico_kit.app``: exact paths, Problems, ``HEAD`` as ``GET``,
the body limit, access log, request ids; ``portico_kit.query``: no undeclared query parameter).
``create_app`` is uvicorn's factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from portico_kit.app import platform_app
from portico_kit.contract import service_contract
from portico_kit.events.contract import new_envelope, stream_of
from portico_kit.events.ids import uuid7
from portico_kit.events.publisher import JetStreamPublisher, Publisher
from portico_kit.logging import configure_logging
from portico_kit.problems import FieldError, HttpProblem, Location
from portico_kit.query import reject_unknown_query_parameters
from portico_kit.request_id import request_id_of
from portico_kit.security import JwksKeys, Principal, TokenVerifier, requirement_of

from app.core.config import Settings, load_settings
from app.models import generated as models
from app.store import __Name__Store

SERVICE = "__name__"
CREATED = "__name__.__entity__.created"


def contract() -> dict[str, Any]:
    """contracts/__name__.yaml bundled (``contracts/generated/__name__.openapi.json``)."""
    return service_contract(SERVICE)


def create_app(
    settings: Settings | None = None,
    *,
    verifier: TokenVerifier | None = None,
    publisher: Publisher | None = None,
) -> FastAPI:
    """The app; ``verifier`` and ``publisher`` default to the JWK Set and NATS of ``settings``
    (default: the environment; tests pass their own).

    Raises:
        pydantic.ValidationError: naming each invalid variable.
    """
    config = settings or load_settings()
    configure_logging(config.LOG_LEVEL, config.log_format, SERVICE)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        connected = None
        if publisher is None:
            connected = await JetStreamPublisher.connect(
                config.nats_servers,
                name=SERVICE,
                streams=[stream_of(CREATED)],
                replicas=config.NATS_STREAM_REPLICAS,
            )
        app.state.publisher = publisher or connected
        try:
            yield
        finally:
            if connected is not None:
                await connected.close()

    app = platform_app(title=SERVICE, lifespan=lifespan, openapi_url=None, docs_url=None)
    app.state.token_verifier = verifier or TokenVerifier(
        JwksKeys(str(config.JWKS_URL)).key, issuer=config.JWT_ISSUER, audience=config.JWT_AUDIENCE
    )
    store = __Name__Store()
    # The contract's operations: a query parameter it does not declare is a 400 Problem.
    operations = APIRouter(dependencies=[Depends(reject_unknown_query_parameters)])

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @operations.get("/__name__", operation_id="list__Name__")
    async def list___name__(
        _caller: Annotated[Principal, requirement_of("list__Name__", contract())],
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    ) -> models.__Entity__Page:
        if cursor is not None and not cursor.isdigit():
            raise HttpProblem(
                400,
                "The cursor is not one this API returned.",
                errors=[
                    FieldError(
                        location=Location.query, field="cursor", message="is not a valid cursor"
                    )
                ],
            )
        offset = int(cursor or 0)
        rows = store.newest(offset, limit + 1)
        next_cursor = str(offset + limit) if len(rows) > limit else None
        return models.__Entity__Page(items=rows[:limit], nextCursor=next_cursor)

    @operations.post("/__name__", operation_id="create__Entity__", status_code=201)
    async def create___entity__(
        body: models.New__Entity__,
        caller: Annotated[Principal, requirement_of("create__Entity__", contract())],
        request: Request,
        response: Response,
    ) -> models.__Entity__:
        row = store.create(body, caller.user_id)
        data = {"__entity__": row.model_dump(mode="json")}
        event = new_envelope(uuid7(), CREATED, SERVICE, str(row.id), data)
        await request.app.state.publisher.publish(event, request_id_of(request))
        response.headers["Location"] = f"/__name__/{row.id}"
        return row

    @operations.get("/__name__/{__entity__Id}", operation_id="get__Entity__")
    async def get___entity__(
        __entity__Id: UUID,  # noqa: N803 (the contract's name)
        _caller: Annotated[Principal, requirement_of("get__Entity__", contract())],
    ) -> models.__Entity__:
        row = store.get(str(__entity__Id))
        if row is None:
            raise HttpProblem(404, f"No __entity__ {__entity__Id}.")
        return row

    app.include_router(operations)
    return app
