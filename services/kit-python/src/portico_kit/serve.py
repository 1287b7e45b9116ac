"""A service's ``python -m app``: uvicorn on ``HOST``:``PORT`` with ``WEB_CONCURRENCY`` worker
processes and the platform's HTTP protocol (``portico_kit.http_server``: header size limit,
header and request deadlines, keep-alive, Problem answers for what the parser refuses); an
invalid environment stops it with one line per variable and exit code 1. SIGTERM and SIGINT shut
it down gracefully (in-flight requests finish, then the app's lifespan ends)."""

import sys
from collections.abc import Callable

import uvicorn
from pydantic import ValidationError

from portico_kit.config import ServiceSettings, describe_errors


def serve(load_settings: Callable[[], ServiceSettings], app_factory: str) -> int:
    """Runs the app that ``app_factory`` (``"app.main:create_app"``, called in each worker)
    builds, with the settings ``load_settings`` reads, until it is stopped.

    Returns:
        The exit code: 0 after a shutdown, 1 when the environment is invalid.
    """
    try:
        settings = load_settings()
    except ValidationError as error:
        print(f"{describe_errors(error)}\nSee .env.example for every variable.", file=sys.stderr)
        return 1
    uvicorn.run(
        app_factory,
        factory=True,
        host=settings.HOST,
        port=settings.PORT,
        workers=settings.WEB_CONCURRENCY,
        http="portico_kit.http_server:PorticoHttpProtocol",
        # No WebSockets: an Upgrade request is served as plain HTTP, not refused with uvicorn's
        # bodiless 403 text/plain.
        ws="none",
        log_config=None,  # the app configures logging (portico_kit.logging) in each worker
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    return 0
