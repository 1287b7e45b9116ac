"""GET /healthz and GET /readyz, as the TypeScript services answer them."""

import httpx
from fastapi import FastAPI
from portico_kit.security import TokenVerifier
from portico_kit.testing import TestIssuer

from app.main import build_app
from app.sentiment.pool import ScoringPool


async def test_healthz_answers_while_the_process_is_up(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def app_with_check(scoring_pool: ScoringPool, issuer: TestIssuer, healthy: bool) -> FastAPI:
    app = build_app(
        scoring=scoring_pool,
        token_verifier=TokenVerifier(issuer.key, issuer="portico", audience="portico-api"),
    )

    async def nats() -> None:
        if not healthy:
            raise RuntimeError("not connected")

    app.state.readiness = {"nats": nats}
    return app


async def test_readyz_names_each_failing_check_with_503(
    scoring_pool: ScoringPool, issuer: TestIssuer
) -> None:
    for healthy, status, body in [
        (True, 200, {"status": "ready", "checks": {"nats": "ok"}}),
        (False, 503, {"status": "not ready", "checks": {"nats": "not connected"}}),
    ]:
        transport = httpx.ASGITransport(app=app_with_check(scoring_pool, issuer, healthy))
        async with httpx.AsyncClient(transport=transport, base_url="http://ml.test") as http:
            response = await http.get("/readyz")
        assert (response.status_code, response.json()) == (status, body)
