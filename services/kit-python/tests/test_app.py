"""The platform app: exact paths, HEAD as GET, the body limit, request ids and Problems."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from portico_kit.app import platform_app
from portico_kit.limits import BODY_LIMIT_BYTES
from portico_kit.problems import PROBLEM_CONTENT_TYPE


class Thing(BaseModel):
    name: str


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = platform_app()

    @app.get("/things")
    async def list_things() -> list[str]:
        return ["a"]

    @app.post("/things", status_code=201)
    async def create_thing(thing: Thing) -> Thing:
        return thing

    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize("path", ["/things/", "/THINGS", "/nothing"])
def test_matches_paths_exactly_else_a_404_problem(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE


def test_answers_head_like_get_without_the_body(client: TestClient) -> None:
    get, head = client.get("/things"), client.head("/things")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]


def test_refuses_a_body_over_the_limit_with_413(client: TestClient) -> None:
    response = client.post("/things", content=b"x" * (BODY_LIMIT_BYTES + 1))
    assert response.status_code == 413
    assert response.json()["title"] == "Content Too Large"


def test_answers_an_invalid_body_with_a_400_naming_the_field(client: TestClient) -> None:
    response = client.post("/things", json={}, headers={"X-Request-Id": "req-1"})
    assert response.status_code == 400
    assert response.headers["x-request-id"] == "req-1"
    body = response.json()
    assert body["requestId"] == "req-1"
    assert [(e["location"], e["field"]) for e in body["errors"]] == [("body", "name")]


def test_keeps_redirect_slashes_off() -> None:
    with pytest.raises(TypeError):
        platform_app(redirect_slashes=True)
