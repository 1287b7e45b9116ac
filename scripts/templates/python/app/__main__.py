"""``python -m app``: serves the __name__ service with the kit's uvicorn set-up
(``portico_kit.serve``: header size limit, header and request deadlines, Problem answers) on
``HOST``:``PORT`` with ``WEB_CONCURRENCY`` workers; an invalid environment stops it with one line
per variable and exit code 1."""

import sys

from portico_kit.serve import serve

from app.core.config import load_settings

if __name__ == "__main__":
    sys.exit(serve(load_settings, "app.main:create_app"))
