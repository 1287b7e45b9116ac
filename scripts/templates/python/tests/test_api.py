"""The operations of contracts/__name__.yaml through the app, with tokens signed by a test key
and the events captured instead of published (the end-to-end test publishes for real)."""

from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from app.core.config import load_settings
from app.core.security import TokenVerifier
from app.main import create_app

KEY = ec.generate_private_key(ec.SECP256R1())


class CapturedEvents:
    """A publisher that keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[tuple[dict[str, Any], str | None]] = []

    async def publish(self, event: dict[str, Any], request_id: str | None) -> None:
        self.events.append((event, request_id))


async def public_key(_kid: str) -> Any:
    return KEY.public_key()


def token(sub: str = "0192f0c1-7b00-7a11-8c22-3d4e5f607182") -> str:
    claims = {"sub": sub, "role": "user", "iss": "portico", "aud": "portico-api", "exp": 2**31}
    return jwt.encode(claims, KEY, algorithm="ES256", headers={"kid": "test"})


@pytest.fixture
def published() -> CapturedEvents:
    return CapturedEvents()


@pytest.fixture
def client(published: CapturedEvents) -> Iterator[TestClient]:
    settings = load_settings({"NATS_URL": "nats://127.0.0.1:1", "JWKS_URL": "http://127.0.0.1:1"})
    app = create_app(
        settings,
        verifier=TokenVerifier(public_key, "portico", "portico-api"),
        publisher=published,
    )
    with TestClient(app) as test_client:
        yield test_client


def test_refuses_a_caller_without_a_token(client: TestClient) -> None:
    response = client.get("/__name__")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_creates_publishes_gets_and_lists(client: TestClient, published: CapturedEvents) -> None:
    auth = {"Authorization": f"Bearer {token()}", "X-Request-Id": "req-1"}
    created = client.post("/__name__", json={"name": "First"}, headers=auth)
    assert created.status_code == 201
    body = created.json()
    assert body["name"] == "First"

    [(event, request_id)] = published.events
    assert event["type"] == "__name__.__entity__.created"
    assert event["subject"] == body["id"]
    assert event["data"] == {"__entity__": body}
    assert request_id == "req-1"

    assert client.get(f"/__name__/{body['id']}", headers=auth).json() == body
    assert client.get("/__name__", headers=auth).json() == {"items": [body], "nextCursor": None}


def test_answers_400_naming_the_invalid_field(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {token()}"}
    response = client.post("/__name__", json={"name": ""}, headers=auth)
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["name"]
    assert client.get("/__name__/not-a-uuid", headers=auth).status_code == 400
