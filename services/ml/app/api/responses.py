"""The error responses a route declares in the served OpenAPI document: the contract's shared
``Problem`` (its media type is set to ``application/problem+json`` by ``portico_kit.openapi``)."""

from typing import Any

from portico_kit.problems import TITLES

from app.models.generated import Problem


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for FastAPI: each status documented as a Problem."""
    return {status: {"model": Problem, "description": TITLES[status][1]} for status in statuses}
