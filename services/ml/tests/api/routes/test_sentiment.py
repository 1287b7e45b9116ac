"""POST /ml/sentiment and POST /ml/sentiment:batch: results, validation (400 Problem naming each
field, never FastAPI's 422), authentication (401) and roles (403) as the contract declares."""

from typing import Any

import httpx
import pytest
from portico_kit.testing import TestIssuer

PROBLEM = "application/problem+json"


def fields_of(problem: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((e["location"], e["field"]) for e in problem.get("errors", []))


async def test_scores_a_text(client: httpx.AsyncClient, user_headers: dict[str, str]) -> None:
    response = await client.post(
        "/ml/sentiment", json={"text": "The book was good."}, headers=user_headers
    )
    assert response.status_code == 200
    assert response.json() == {
        "scores": {"compound": 0.4404, "positive": 0.492, "negative": 0.0, "neutral": 0.508},
        "label": "positive",
        "wordCount": 4,
        "model": {"name": "vader", "version": "3.3.2"},
    }
    assert response.headers["x-request-id"]


async def test_accepts_english_and_5000_characters(
    client: httpx.AsyncClient, user_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/ml/sentiment", json={"text": "good " * 1000, "language": "en"}, headers=user_headers
    )
    assert response.status_code == 200
    assert response.json()["wordCount"] == 1000


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, [("body", "text")]),
        ({"text": ""}, [("body", "text")]),
        ({"text": "x" * 5001}, [("body", "text")]),
        ({"text": 42}, [("body", "text")]),
        ({"text": "fine", "language": "fr"}, [("body", "language")]),
        ({"text": "fine", "language": None}, [("body", "language")]),
        ({"text": "fine", "mood": "happy"}, [("body", "mood")]),
        ([], [("body", "")]),
    ],
)
async def test_rejects_a_body_that_breaks_the_contract_with_400_naming_the_field(
    client: httpx.AsyncClient,
    user_headers: dict[str, str],
    body: object,
    fields: list[tuple[str, str]],
) -> None:
    response = await client.post("/ml/sentiment", json=body, headers=user_headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == "https://portico.dev/problems/validation-error"
    assert problem["status"] == 400
    assert problem["instance"] == "/ml/sentiment"
    assert problem["requestId"] == response.headers["x-request-id"]
    assert fields_of(problem) == fields


async def test_rejects_a_body_that_is_not_json(
    client: httpx.AsyncClient, user_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/ml/sentiment",
        content=b'{"text": ',
        headers={**user_headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert fields_of(response.json()) == [("body", "")]


async def test_rejects_query_parameters(
    client: httpx.AsyncClient, user_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/ml/sentiment?debug=1", json={"text": "fine"}, headers=user_headers
    )
    assert response.status_code == 400
    assert fields_of(response.json()) == [("query", "debug")]


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic dXNlcjpwYXNz", "Bearer not-a-jwt", "Bearer a.b.c"],
)
async def test_requires_a_valid_bearer_token(
    client: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await client.post("/ml/sentiment", json={"text": "fine"}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="portico"'
    assert response.json()["type"] == "https://portico.dev/problems/unauthorized"


@pytest.mark.parametrize(
    "claims",
    [
        {"ttl": -10},
        {"aud": "another-api"},
        {"iss": "someone-else"},
        {"role": "superuser"},
    ],
)
async def test_rejects_expired_foreign_or_roleless_tokens(
    client: httpx.AsyncClient, issuer: TestIssuer, claims: dict[str, Any]
) -> None:
    token = issuer.token(**claims)
    response = await client.post(
        "/ml/sentiment", json={"text": "fine"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401


async def test_rejects_a_token_signed_by_another_key(client: httpx.AsyncClient) -> None:
    forger = TestIssuer(kid="forged")
    response = await client.post(
        "/ml/sentiment",
        json={"text": "fine"},
        headers={"Authorization": f"Bearer {forger.token('admin')}"},
    )
    assert response.status_code == 401


async def test_checks_authentication_before_the_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/ml/sentiment", json={"text": ""})
    assert response.status_code == 401


async def test_batch_scores_every_item_in_order(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    texts = ["The book was good.", "Today SUX!", "The sky is blue."]
    response = await client.post(
        "/ml/sentiment:batch", json={"items": [{"text": t} for t in texts]}, headers=admin_headers
    )
    assert response.status_code == 200
    single = [
        (await client.post("/ml/sentiment", json={"text": t}, headers=admin_headers)).json()
        for t in texts
    ]
    assert response.json() == {"results": single}
    assert [r["label"] for r in single] == ["positive", "negative", "neutral"]


async def test_batch_is_for_administrators_only(
    client: httpx.AsyncClient, user_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/ml/sentiment:batch", json={"items": [{"text": "fine"}]}, headers=user_headers
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "This operation requires the role admin."


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([], "items"),
        ([{"text": "x"}] * 101, "items"),
        ([{"text": "ok"}, {"text": ""}], "items.1.text"),
    ],
)
async def test_batch_takes_1_to_100_valid_items(
    client: httpx.AsyncClient, admin_headers: dict[str, str], items: list[object], field: str
) -> None:
    response = await client.post(
        "/ml/sentiment:batch", json={"items": items}, headers=admin_headers
    )
    assert response.status_code == 400
    assert fields_of(response.json()) == [("body", field)]
