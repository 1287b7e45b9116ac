"""``python -m app``: serves the ML service with the kit's uvicorn set-up
(``portico_kit.serve``) on ``HOST``:``PORT`` with ``WEB_CONCURRENCY`` worker processes; an invalid
environment stops it with one line per variable and exit code 1. SIGTERM and SIGINT shut it down
gracefully (in-flight requests finish, then the lifespan stops the consumer and drains NATS)."""

import sys

from portico_kit.serve import serve

from app.core.config import load_settings

if __name__ == "__main__":
    sys.exit(serve(load_settings, "app.main:create_app"))
