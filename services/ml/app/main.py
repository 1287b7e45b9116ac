"""The ML service's ASGI app: the contract's operations (``app/api/routes``), Problem Details
errors, request ids, the access log, health and readiness, and the NATS consumer — wired from the
settings. ``uvicorn --factory app.main:create_app`` serves it; ``python -m app`` does so with the
host, port and worker count of the environment."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api.deps import install_scoring_problems
from app.api.main import api_router, health_router
from app.core.config import Settings, load_settings
from app.core.head import HeadAsGetMiddleware
from app.core.limits import BodyLimitMiddleware
from app.core.logging import AccessLogMiddleware, configure_logging
from app.core.openapi import served_openapi
from app.core.problems import install_problem_handlers
from app.core.request_id import RequestIdMiddleware
from app.core.security import JwksKeys, TokenVerifier
from app.events.bus import Bus
from app.sentiment.pool import ScoringPool
from app.sentiment.vader import VaderModel


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
    app = FastAPI(lifespan=lifespan, docs_url="/docs", redoc_url=None, redirect_slashes=False)
    app.state.scoring = scoring
    app.state.token_verifier = token_verifier
    app.state.readiness = {"nats": bus.ready} if bus is not None else {}
    app.include_router(health_router)
    app.include_router(api_router)
    install_problem_handlers(app)
    install_scoring_problems(app)
    app.openapi = lambda: served_openapi(app)  # type: ignore[method-assign]
    app.add_middleware(HeadAsGetMiddleware)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(RequestIdMiddleware)
    return app


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service as configured by ``settings`` (default: the environment).

    Raises:
        pydantic.ValidationError: naming each invalid variable.
    """
    settings = settings or load_settings()
    configure_logging(settings.LOG_LEVEL, settings.log_format)
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
