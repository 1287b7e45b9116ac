"""``python -m app``: serves the ML service with uvicorn on ``HOST``:``PORT`` with
``WEB_CONCURRENCY`` worker processes; an invalid environment stops it with one line per variable
and exit code 1. SIGTERM and SIGINT shut it down gracefully (uvicorn: in-flight requests finish,
then the lifespan stops the consumer and drains NATS)."""

import sys

import uvicorn
from pydantic import ValidationError

from app.core.config import describe_errors, load_settings


def main() -> int:
    """Runs the service until it is stopped."""
    try:
        settings = load_settings()
    except ValidationError as error:
        print(f"{describe_errors(error)}\nSee .env.example for every variable.", file=sys.stderr)
        return 1
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=settings.HOST,
        port=settings.PORT,
        workers=settings.WEB_CONCURRENCY,
        # Header size limit, header and request deadlines, keep-alive and Problem answers for
        # what the parser refuses: see the module.
        http="app.core.http_server:PorticoHttpProtocol",
        # No WebSockets here: an Upgrade request is served as plain HTTP, not refused with
        # uvicorn's bodiless 403 text/plain.
        ws="none",
        log_config=None,  # app.core.logging configures logging in each worker
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
