"""``python -m app``: serves the __name__ service with uvicorn on ``HOST``:``PORT``; an invalid
environment stops it with one line per variable and exit code 1."""

import sys

import uvicorn
from pydantic import ValidationError

from app.core.config import describe_errors, load_settings


def main() -> int:
    """Runs the service until it is stopped (SIGTERM, SIGINT: graceful)."""
    try:
        settings = load_settings()
    except ValidationError as error:
        print(describe_errors(error), file=sys.stderr)
        return 1
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=settings.HOST,
        port=settings.PORT,
        log_level="warning",
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
