"""Undeclared query parameters: a 400 naming each, whatever the name; declared ones pass."""

from collections.abc import Iterator
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, Query
from fastapi.testclient import TestClient

from portico_kit.app import platform_app
from portico_kit.query import reject_unknown_query_parameters


def paging(cursor: Annotated[str | None, Query()] = None) -> str | None:
    return cursor


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = platform_app()
    router = APIRouter(dependencies=[Depends(reject_unknown_query_parameters)])

    @router.get("/things")
    async def list_things(
        limit: int = 20, cursor: Annotated[str | None, Depends(paging)] = None
    ) -> dict[str, object]:
        return {"limit": limit, "cursor": cursor}

    app.include_router(router)
    with TestClient(app) as test_client:
        yield test_client


def test_accepts_the_declared_parameters_and_those_of_dependencies(client: TestClient) -> None:
    response = client.get("/things?limit=5&cursor=abc")
    assert response.json() == {"limit": 5, "cursor": "abc"}


@pytest.mark.parametrize("query", ["foo=1", "__proto__[admin]=true", "LIMIT=5", "constructor=x"])
def test_refuses_any_other_name_with_a_400_naming_it(client: TestClient, query: str) -> None:
    response = client.get(f"/things?limit=5&{query}")
    assert response.status_code == 400
    name = query.split("=")[0]
    assert response.json()["errors"] == [
        {"location": "query", "field": name, "message": "is not allowed"}
    ]
