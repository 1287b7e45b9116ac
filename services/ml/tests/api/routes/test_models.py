"""GET /ml/models: public, and no other method on the path."""

import httpx


async def test_lists_the_model_without_authentication(client: httpx.AsyncClient) -> None:
    response = await client.get("/ml/models")
    assert response.status_code == 200
    [model] = response.json()["items"]
    assert (model["name"], model["version"], model["languages"]) == ("vader", "3.3.2", ["en"])
    assert "Hutto" in model["citation"]


async def test_answers_405_problem_for_another_method(client: httpx.AsyncClient) -> None:
    response = await client.delete("/ml/models")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["allow"] == "GET"


async def test_answers_404_problem_for_an_unknown_path(client: httpx.AsyncClient) -> None:
    response = await client.get("/ml/nothing-here")
    assert response.status_code == 404
    assert response.json()["type"] == "https://portico.dev/problems/not-found"
