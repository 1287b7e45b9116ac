"""RFC 9457 Problem Details answers (``application/problem+json``), with ``errors[]`` naming each
invalid field of a request, as every Portico service answers."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

PROBLEM = "application/problem+json"
TITLES = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed"}


class HttpProblem(Exception):
    """A client error answered as a Problem: ``status`` and ``detail``."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, str]] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors


def problem(request: Request, status: int, detail: str, errors: Any = None) -> JSONResponse:
    """The Problem response for ``request``."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors is not None:
        body["errors"] = errors
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    """Answers HttpProblem, Starlette's HTTP errors and invalid requests (400, not FastAPI's 422)
    with Problems."""

    async def on_problem(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HttpProblem)
        return problem(request, error.status, error.detail, error.errors)

    async def on_http(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HTTPException)
        return problem(request, error.status_code, str(error.detail))

    async def on_invalid(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        errors = [
            {
                "location": str(issue["loc"][0]) if issue["loc"] else "body",
                "field": ".".join(str(part) for part in issue["loc"][1:]),
                "message": str(issue["msg"]),
            }
            for issue in error.errors()
        ]
        return problem(request, 400, "The request breaks the contract.", errors)

    app.add_exception_handler(HttpProblem, on_problem)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_invalid)
