"""RFC 9457 Problem Details: the one error shape of every Portico response.

The same ``type`` URIs and titles as the TypeScript services (``@portico/kit``'s problem.ts), the
body is the contract's ``Problem`` (components.yaml), served as ``application/problem+json``.
FastAPI's own validation error (422 with ``detail[]``) becomes the contract's 400 whose ``errors``
name each invalid field as ``location`` + dotted ``field``; nothing reveals a stack trace.
"""

import logging
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from portico_kit.request_id import request_id_of


class Location(StrEnum):
    """Where an invalid value was (contracts/components.yaml ``FieldError.location``)."""

    body = "body"
    query = "query"
    path = "path"
    header = "header"
    cookie = "cookie"


class FieldError(BaseModel):
    """One invalid field (contracts/components.yaml ``FieldError``)."""

    location: Location
    field: str
    """The field, as a dotted path (``price.amount``); empty for the body as a whole."""
    message: str


class Problem(BaseModel):
    """An RFC 9457 Problem Details object (contracts/components.yaml ``Problem``)."""

    type: str
    title: str
    status: int = Field(ge=400, le=599)
    detail: str | None = None
    instance: str | None = None
    """The request path."""
    requestId: str | None = None  # noqa: N815 (the contract's name)
    """The ``X-Request-Id`` of the request, for correlating logs."""
    errors: list[FieldError] | None = None
    """One entry per invalid field (validation problems only)."""


PROBLEM_CONTENT_TYPE = "application/problem+json"
"""Media type of a Problem Details body (RFC 9457 section 3)."""

TITLES: Mapping[int, tuple[str, str]] = {
    400: ("validation-error", "Request validation failed"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not Found"),
    405: ("method-not-allowed", "Method Not Allowed"),
    406: ("not-acceptable", "Not Acceptable"),
    408: ("request-timeout", "Request Timeout"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Content Too Large"),
    415: ("unsupported-media-type", "Unsupported Media Type"),
    422: ("unprocessable", "Unprocessable Content"),
    429: ("too-many-requests", "Too Many Requests"),
    431: ("request-header-fields-too-large", "Request Header Fields Too Large"),
    500: ("internal-error", "Internal Server Error"),
    502: ("bad-gateway", "Bad Gateway"),
    503: ("service-unavailable", "Service Unavailable"),
    504: ("gateway-timeout", "Gateway Timeout"),
    505: ("http-version-not-supported", "HTTP Version Not Supported"),
}

UNAUTHORIZED_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="portico"'}
"""The RFC 6750 challenge every 401 carries (RFC 9110 section 15.5.2)."""

log = logging.getLogger("portico.problems")


def problem_type(status: int) -> str:
    """The problem ``type`` URI of a status code."""
    slug = TITLES[status][0] if status in TITLES else "error"
    return f"https://portico.dev/problems/{slug}"


class HttpProblem(Exception):
    """An error rendered as a Problem Details response with its status."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        errors: Sequence[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """``detail`` explains this occurrence to the caller: never internal details."""
        self.status = status
        self.title = TITLES[status][1] if status in TITLES else "Error"
        self.detail = detail or self.title
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})
        super().__init__(self.detail)

    def body(self, instance: str | None, request_id: str | None) -> Problem:
        """The Problem Details body at ``instance`` (the request path)."""
        return Problem(
            type=problem_type(self.status),
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            requestId=request_id,
            errors=self.errors,
        )


def unauthorized(detail: str = "A valid bearer token is required.") -> HttpProblem:
    """401 with the ``WWW-Authenticate: Bearer`` challenge."""
    return HttpProblem(401, detail, headers=UNAUTHORIZED_CHALLENGE)


def forbidden(roles: Iterable[str]) -> HttpProblem:
    """403: authenticated, but the role does not allow the operation."""
    return HttpProblem(403, f"This operation requires the role {' or '.join(roles)}.")


def problem_response(problem: HttpProblem, request: Request) -> JSONResponse:
    """``problem`` as an ``application/problem+json`` response to ``request``."""
    body = problem.body(request.url.path, request_id_of(request))
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=problem.status,
        headers=problem.headers,
        media_type=PROBLEM_CONTENT_TYPE,
    )


_LOCATIONS: Mapping[str, Location] = {
    "body": Location.body,
    "query": Location.query,
    "path": Location.path,
    "header": Location.header,
    "cookie": Location.cookie,
}


def field_error(error: Mapping[str, Any]) -> FieldError:
    """One pydantic/FastAPI validation error as a contract ``FieldError``.

    ``loc`` (``("body", "items", 0, "text")``) becomes location ``body`` and field
    ``items.0.text``; the body as a whole is the empty field.
    """
    loc = [str(part) for part in error.get("loc", ())]
    location = _LOCATIONS.get(loc[0], Location.body) if loc else Location.body
    path = loc[1:] if loc and loc[0] in _LOCATIONS else loc
    if error.get("type") == "json_invalid":
        # The position of the syntax error is not a field.
        return FieldError(location=location, field="", message="is not valid JSON")
    message = str(error.get("msg", "is invalid"))
    return FieldError(location=location, field=".".join(path), message=message)


def validation_problem(errors: Iterable[Mapping[str, Any]]) -> HttpProblem:
    """The 400 for FastAPI's validation errors, naming each invalid field."""
    fields = [field_error(error) for error in errors]
    named = "; ".join(
        f"{field.location.value}{'.' + field.field if field.field else ''} {field.message}"
        for field in fields
    )
    return HttpProblem(400, f"Invalid request: {named}" if named else None, errors=fields)


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HttpProblem)
    return problem_response(exc, request)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(validation_problem(exc.errors()), request)


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    # Routing errors (404, 405) and anything Starlette raises itself.
    assert isinstance(exc, StarletteHTTPException)
    detail = {
        404: "No operation matches this request.",
        405: "The operation does not support this method.",
    }.get(exc.status_code, str(exc.detail))
    problem = HttpProblem(exc.status_code, detail, headers=dict(exc.headers or {}))
    return problem_response(problem, request)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("request failed", exc_info=exc, extra={"requestId": request_id_of(request)})
    return problem_response(HttpProblem(500, "An unexpected error occurred."), request)


def install_problem_handlers(app: FastAPI) -> None:
    """Renders every error of ``app`` as Problem Details (422 → 400, unexpected → 500)."""
    app.add_exception_handler(HttpProblem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unexpected)
