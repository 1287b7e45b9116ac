"""The operations of contracts/__name__.yaml through the app, with tokens signed by a test key
(``portico_kit.testing``) and the events captured instead of published (the end-to-end test
publishes for real)."""

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from fastapi.testclient import TestClient
from portico_kit.security import TokenVerifier
from portico_kit.testing import AUDIENCE, ISSUER, TestIssuer

from app.core.config import load_settings
from app.main import create_app

ISSUED = TestIssuer()


class CapturedEvents:
    """A publisher that keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[tuple[Mapping[str, Any], str | None]] = []

    async def publish(self, envelope: Mapping[str, Any], request_id: str | None) -> None:
        self.events.append((envelope, request_id))


@pytest.fixture
def published() -> CapturedEvents:
    return CapturedEvents()


@pytest.fixture
def client(published: CapturedEvents) -> Iterator[TestClient]:
    settings = load_settings({"NATS_URL": "nats://127.0.0.1:1", "JWKS_URL": "http://127.0.0.1:1"})
    app = create_app(
        settings,
        verifier=TokenVerifier(ISSUED.key, issuer=ISSUER, audience=AUDIENCE),
        publisher=published,
    )
    with TestClient(app) as test_client:
        yield test_client


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {ISSUED.token()}"}


def test_refuses_a_caller_without_a_token(client: TestClient) -> None:
    response = client.get("/__name__")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_creates_publishes_gets_and_lists(client: TestClient, published: CapturedEvents) -> None:
    headers = {**auth(), "X-Request-Id": "req-1"}
    created = client.post("/__name__", json={"name": "First"}, headers=headers)
    assert created.status_code == 201
    body = created.json()
    assert body["name"] == "First"
    assert created.headers["location"] == f"/__name__/{body['id']}"

    [(event, request_id)] = published.events
    assert event["type"] == "__name__.__entity__.created"
    assert event["subject"] == body["id"]
    assert event["data"] == {"__entity__": body}
    assert request_id == "req-1"

    assert client.get(f"/__name__/{body['id']}", headers=headers).json() == body
    listed = client.get("/__name__", headers=headers).json()
    assert listed == {"items": [body], "nextCursor": None}


def test_answers_400_naming_the_invalid_field(client: TestClient) -> None:
    response = client.post("/__name__", json={"name": ""}, headers=auth())
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["name"]
    assert client.get("/__name__/not-a-uuid", headers=auth()).status_code == 400
    cursor = client.get("/__name__?cursor=x", headers=auth())
    assert [error["field"] for error in cursor.json()["errors"]] == ["cursor"]


def test_has_the_platform_rules_of_the_kit(client: TestClient) -> None:
    head = client.head("/__name__", headers=auth())
    assert (head.status_code, head.content) == (200, b"")
    assert client.get("/__name__/", headers=auth(), follow_redirects=False).status_code == 404
    too_large = client.post("/__name__", content=b"x" * (1024 * 1024 + 1), headers=auth())
    assert too_large.status_code == 413
    unknown = client.get("/__name__?limit=5&__proto__[admin]=true", headers=auth())
    assert unknown.status_code == 400
    assert [error["field"] for error in unknown.json()["errors"]] == ["__proto__[admin]"]
