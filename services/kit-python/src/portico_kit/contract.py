"""The contracts a Portico service implements, read from the repository's ``contracts/generated/``
(never copied): ``<service>.openapi.json`` (its contract bundled: each operation's security
requirement is taken from it, and tests check the served document against it) and
``events.schemas.json`` (the JSON Schema of every event envelope, and the JetStream streams and
durable consumers declared in contracts/events.yaml).

The folder is found by walking up from the working directory, the service's folder (where
``python -m app`` and its tests run; a container keeps the repository's layout,
``/app/services/<name>`` next to ``/app/contracts/generated``), else from this package (an
editable install in a clone).
"""

import json
from functools import cache
from pathlib import Path
from typing import Any, cast

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
"""The methods an OpenAPI 3.1 path item holds operations under (section 4.8.9)."""

SECURITY_SCHEME = "bearerAuth"
"""The one security scheme of every Portico contract: a JWT whose role must be a listed scope."""

_GENERATED = Path("contracts") / "generated"


@cache
def generated_dir() -> Path:
    """The repository's ``contracts/generated/`` (see the module comment).

    Raises:
        FileNotFoundError: when no parent folder holds it (``npm run generate`` makes it).
    """
    for start in (Path.cwd().resolve(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            if (folder / _GENERATED).is_dir():
                return folder / _GENERATED
    raise FileNotFoundError(f"no {_GENERATED} above {Path.cwd()} or {__file__}")


def _read_json(name: str) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads((generated_dir() / name).read_text(encoding="utf-8")))


@cache
def service_contract(service: str) -> dict[str, Any]:
    """The bundled contract of ``service`` (``<service>.openapi.json``), parsed once.

    Raises:
        FileNotFoundError: when it has not been generated (``npm run generate``).
    """
    return _read_json(f"{service}.openapi.json")


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


def required_roles(operation_id: str, contract: dict[str, Any]) -> list[str] | None:
    """The roles an operation of ``contract`` requires, from its security requirement (or the
    document's).

    Returns:
        None for a public operation (``security: []``); else the scopes of ``bearerAuth``: the
        roles allowed, an empty list meaning any signed-in user.

    Raises:
        KeyError: when the contract has no such operation.
        ValueError: when it requires something else than one ``bearerAuth`` requirement.
    """
    _, _, operation = operations(contract)[operation_id]
    security = operation.get("security", contract.get("security", []))
    if not security:
        return None
    if len(security) != 1 or set(security[0]) != {SECURITY_SCHEME}:
        raise ValueError(f"{operation_id}: expected one {SECURITY_SCHEME} requirement")
    return list(security[0][SECURITY_SCHEME])
