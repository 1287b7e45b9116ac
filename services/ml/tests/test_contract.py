"""The OpenAPI document FastAPI serves (built from the routes and the generated models) agrees
with contracts/ml.yaml: the same paths and operations, and for each the same operationId,
security requirement, parameters, request body and responses — compared semantically, with every
``$ref`` resolved and annotations (titles, descriptions, examples) set aside.

Two representation differences are normalised, and only in response schemas: pydantic writes a
property that may be absent as ``anyOf: [<schema>, {type: null}]`` (the service never sends
that null: it leaves the property out), and it has no type for the
``uri-reference`` format, so it leaves the format out.
"""

from typing import Any

import httpx
import pytest
from portico_kit.contract import HTTP_METHODS

from app.core.contract import ml_contract

ANNOTATIONS = {"title", "description", "examples", "example", "summary"}


def resolve(document: dict[str, Any], node: Any, seen: tuple[str, ...] = ()) -> Any:
    """``node`` with every local ``$ref`` replaced by what it points at (siblings of a ``$ref``
    are merged in, as OpenAPI 3.1 reads them)."""
    if isinstance(node, list):
        return [resolve(document, item, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local references are expected, got {ref}"
        assert ref not in seen, f"recursive schema at {ref}"
        target: Any = document
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return resolve(document, {**target, **siblings}, (*seen, ref))
    return {key: resolve(document, value, seen) for key, value in node.items()}


def normalise(schema: Any, *, response: bool) -> Any:
    """A resolved schema without annotations, ``required`` as a set, and (in responses) pydantic's
    representation of optional properties and unmodelled formats undone."""
    if isinstance(schema, list):
        return [normalise(item, response=response) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {
        key: (
            {name: normalise(prop, response=response) for name, prop in value.items()}
            if key == "properties"  # property names are not annotations
            else normalise(value, response=response)
        )
        for key, value in schema.items()
        if key not in ANNOTATIONS
    }
    if "required" in result:
        result["required"] = sorted(result["required"])
    if response:
        if result.get("format") == "uri-reference":
            del result["format"]
        required = set(result.get("required", []))
        for name, prop in result.get("properties", {}).items():
            result["properties"][name] = optional_unwrapped(prop, name in required)
    return result


def optional_unwrapped(prop: Any, required: bool) -> Any:
    """An optional property's schema without pydantic's ``anyOf [..., {type: null}]``."""
    if required or not isinstance(prop, dict) or prop.get("default") is not None:
        return prop
    variants = prop.get("anyOf", [])
    if len(variants) == 2 and {"type": "null"} in variants:
        [schema] = [v for v in variants if v != {"type": "null"}]
        return schema
    return prop


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Each operation by (method, path), its parts resolved and normalised for comparison."""
    found = {}
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method not in item:
                continue
            op = resolve(document, item[method])
            body = op.get("requestBody")
            found[(method, path)] = {
                "operationId": op["operationId"],
                "security": op.get("security", document.get("security", [])),
                "parameters": normalise(op.get("parameters", []), response=False),
                "requestBody": body
                and {
                    "required": body.get("required", False),
                    "content": {
                        media: normalise(content.get("schema"), response=False)
                        for media, content in body["content"].items()
                    },
                },
                "responses": {
                    status: {
                        media: normalise(content.get("schema"), response=True)
                        for media, content in response.get("content", {}).items()
                    }
                    for status, response in op["responses"].items()
                },
            }
    return found


@pytest.fixture(scope="module")
async def served(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


async def test_serves_the_paths_and_operations_of_the_contract(served: dict[str, Any]) -> None:
    assert sorted(operations(served)) == sorted(operations(ml_contract()))


@pytest.mark.parametrize("key", sorted(operations(ml_contract())), ids=lambda k: f"{k}")
async def test_each_operation_agrees_with_the_contract(
    served: dict[str, Any], key: tuple[str, str]
) -> None:
    assert operations(served)[key] == operations(ml_contract())[key]


async def test_declares_the_contracts_security_scheme(served: dict[str, Any]) -> None:
    schemes = served["components"]["securitySchemes"]
    contract_schemes = ml_contract()["components"]["securitySchemes"]
    assert {name: (s["type"], s["scheme"]) for name, s in schemes.items()} == {
        name: (s["type"], s["scheme"]) for name, s in contract_schemes.items()
    }


def test_the_comparison_sees_a_difference() -> None:
    # Guards the normalisation: it must not make unlike documents equal.
    contract = ml_contract()
    changed = resolve(contract, contract)
    request = changed["paths"]["/ml/sentiment"]["post"]["requestBody"]["content"]
    request["application/json"]["schema"]["properties"]["text"]["maxLength"] = 4999
    key = ("post", "/ml/sentiment")
    assert operations(changed)[key] != operations(contract)[key]
