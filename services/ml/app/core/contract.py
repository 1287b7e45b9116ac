"""The contracts this service implements, read from ``contracts/generated/`` (never copied).

``ml.openapi.json`` is contracts/ml.yaml bundled: the service takes each operation's security
requirement from it, and the tests check the document FastAPI serves against it.
``events.schemas.json`` holds the JSON Schema of every event envelope and the JetStream streams
and durable consumers declared in contracts/events.yaml. The container keeps the repository's
layout (``/app/services/ml`` next to ``/app/contracts/generated``), so one path serves both.
"""

import json
from functools import cache
from pathlib import Path
from typing import Any, cast

GENERATED_DIR = Path(__file__).resolve().parents[4] / "contracts" / "generated"
"""The repository's ``contracts/generated/``."""

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
"""The methods an OpenAPI 3.1 path item holds operations under (section 4.8.9)."""

SECURITY_SCHEME = "bearerAuth"
"""The one security scheme of every Portico contract: a JWT whose role must be a listed scope."""


def _read_json(name: str) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads((GENERATED_DIR / name).read_text(encoding="utf-8")))


@cache
def ml_contract() -> dict[str, Any]:
    """The bundled contract of this service (``ml.openapi.json``), parsed once.

    Raises:
        FileNotFoundError: when it has not been generated (``npm run generate``).
    """
    return _read_json("ml.openapi.json")


@cache
def event_contract() -> dict[str, Any]:
    """``events.schemas.json``: ``events`` (subject → envelope JSON Schema), ``deadLetter``,
    ``streams`` (key → name and subjects) and ``consumers`` (durable name → stream, subject)."""
    return _read_json("events.schemas.json")


def operations(contract: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Every operation of an OpenAPI document by operationId: (method, path, operation)."""
    found: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for path, item in contract.get("paths", {}).items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, dict) and "operationId" in operation:
                found[operation["operationId"]] = (method, path, operation)
    return found


def required_roles(operation_id: str, contract: dict[str, Any] | None = None) -> list[str] | None:
    """The roles an operation requires, from its security requirement (or the document's).

    Returns:
        None for a public operation (``security: []``); else the scopes of ``bearerAuth``: the
        roles allowed, an empty list meaning any signed-in user.

    Raises:
        KeyError: when the contract has no such operation.
        ValueError: when it requires something else than one ``bearerAuth`` requirement.
    """
    document = contract if contract is not None else ml_contract()
    _, _, operation = operations(document)[operation_id]
    security = operation.get("security", document.get("security", []))
    if not security:
        return None
    if len(security) != 1 or set(security[0]) != {SECURITY_SCHEME}:
        raise ValueError(f"{operation_id}: expected one {SECURITY_SCHEME} requirement")
    return list(security[0][SECURITY_SCHEME])
