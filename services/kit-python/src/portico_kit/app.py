"""The FastAPI app every Portico Python service starts from: paths matched exactly as the
contract writes them (no redirect from ``/things/`` to ``/things``: a 404 Problem), every error a
Problem (``portico_kit.problems``), ``HEAD`` answered as ``GET``, the 1 MiB body limit, the
access log and ``X-Request-Id`` (outermost first: request id, access log, body limit, HEAD)."""

from typing import Any

from fastapi import FastAPI

from portico_kit.head import HeadAsGetMiddleware
from portico_kit.limits import BodyLimitMiddleware
from portico_kit.logging import AccessLogMiddleware
from portico_kit.problems import install_problem_handlers
from portico_kit.request_id import RequestIdMiddleware


def platform_app(**fastapi_options: Any) -> FastAPI:
    """A FastAPI app with the platform's rules of the module comment; ``fastapi_options`` are
    passed to ``FastAPI`` (``lifespan``, ``docs_url``, ...), ``redirect_slashes`` excepted.

    Raises:
        TypeError: when ``redirect_slashes`` is passed.
    """
    if "redirect_slashes" in fastapi_options:
        raise TypeError("paths match exactly: redirect_slashes is always off")
    app = FastAPI(redirect_slashes=False, **fastapi_options)
    install_problem_handlers(app)
    app.add_middleware(HeadAsGetMiddleware)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(RequestIdMiddleware)
    return app
