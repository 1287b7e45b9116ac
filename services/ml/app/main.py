"""The ML service's ASGI app: the contract's operations (``app/api/routes``), Problem Details
errors, request ids, the access log, health and readiness, and the NATS consumer — wired from the
settings. ``uvicorn --factory app.main:create_app`` serves it; ``python -m app`` does so with the
host, port and worker count of the environment."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from portico_kit.app import platform_app
from portico_kit.logging import configure_logging
from portico_kit.openapi import served_openapi
from portico_kit.security import JwksKeys, TokenVerifier

from app.api.deps import install_scoring_problems
from app.api.main import api_router, health_router
from app.core.config import Settings, load_settings
from app.core.contract import ml_contract
from app.events.bus import Bus
from app.sentiment.pool import ScoringPool
from app.sentiment.vader import VaderModel

_SUMMARY = "Served by the ML service itself; the gateway serves the public API."


def build_app(
    *,
    scoring: ScoringPool,
    token_verifier: TokenVerifier,
    bus: Bus | None = None,
) -> FastAPI:
    """The app over given parts (tests pass a local token verifier, and no bus).

    Without a bus, readiness has no check and the app consumes nothing.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await scoring.start()
        if bus is not None:
            bus.start()
        try:
            yield
        finally:
            if bus is not None:
                await bus.close()

    # Paths match exactly, as the contract writes them: no redirect from "/ml/models/" (a 404).
    app = platform_app(lifespan=lifespan, docs_url="/docs", redoc_url=None)
    app.state.scoring = scoring
    app.state.token_verifier = token_verifier
    app.state.readiness = {"nats": bus.ready} if bus is not None else {}
    app.include_router(health_router)
    app.include_router(api_router)
    install_scoring_problems(app)
    app.openapi = lambda: served_openapi(app, ml_contract(), _SUMMARY)  # type: ignore[method-assign]
    return app


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service as configured by ``settings`` (default: the environment).

    Raises:
        pydantic.ValidationError: naming each invalid variable.
    """
    settings = settings or load_settings()
    configure_logging(settings.LOG_LEVEL, settings.log_format, "ml")
    scoring = ScoringPool(
        VaderModel(), workers=settings.SCORING_WORKERS, budget_ms=settings.SCORING_BUDGET_MS
    )
    keys = JwksKeys(str(settings.JWKS_URL))
    return build_app(
        scoring=scoring,
        token_verifier=TokenVerifier(
            keys.key, issuer=settings.JWT_ISSUER, audience=settings.JWT_AUDIENCE
        ),
        bus=Bus(settings.nats_servers, scoring, replicas=settings.NATS_STREAM_REPLICAS),
    )
