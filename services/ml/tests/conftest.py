"""Shared fixtures: the app over a test token issuer (no NATS), a client, tokens, and a real
nats-server for the tests of the bus."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from portico_kit.security import TokenVerifier
from portico_kit.testing import AUDIENCE, ISSUER, TestIssuer

from app.main import build_app
from app.sentiment.pool import ScoringPool
from app.sentiment.vader import VaderModel
from tests.support.servers import nats_server


@pytest.fixture(scope="session")
def model() -> VaderModel:
    """The VADER model, loaded once."""
    return VaderModel()


@pytest.fixture(scope="session")
def scoring_pool(model: VaderModel) -> ScoringPool:
    """Scores in one worker process, as the service does (started on first use)."""
    return ScoringPool(model, workers=1, budget_ms=10_000)


@pytest.fixture(scope="session")
def issuer() -> TestIssuer:
    """Signs access tokens the app accepts."""
    return TestIssuer()


@pytest.fixture(scope="session")
def app(scoring_pool: ScoringPool, issuer: TestIssuer) -> FastAPI:
    """The app with the test issuer's keys and no bus."""
    verifier = TokenVerifier(issuer.key, issuer=ISSUER, audience=AUDIENCE)
    return build_app(scoring=scoring_pool, token_verifier=verifier)


@pytest.fixture(scope="session")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the app, in process (the app has no lifespan work without a bus)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://ml.test") as http:
        yield http


@pytest.fixture(scope="session")
def user_headers(issuer: TestIssuer) -> dict[str, str]:
    """The Authorization header of a signed-in user."""
    return {"Authorization": f"Bearer {issuer.token('user')}"}


@pytest.fixture(scope="session")
def admin_headers(issuer: TestIssuer) -> dict[str, str]:
    """The Authorization header of an administrator."""
    return {"Authorization": f"Bearer {issuer.token('admin')}"}


@pytest.fixture(scope="session")
def nats_url() -> Iterator[str]:
    """A nats-server with JetStream of its own, for this test run."""
    with nats_server() as url:
        yield url
