"""Logs as JSON lines on stdout, shaped like the TypeScript services' pino lines (numeric
``level``, ``time`` in epoch milliseconds, ``service``, ``msg``, then the record's extra fields), so
one log pipeline reads every service. Also the access log: one line per request, 4xx as warn, 5xx
as error, health probes not logged."""

import json
import logging
import sys
import time
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import LogLevel

PINO_LEVELS: Final = {
    logging.DEBUG: 20,
    logging.INFO: 30,
    logging.WARNING: 40,
    logging.ERROR: 50,
    logging.CRITICAL: 60,
}
_PYTHON_LEVELS: Final[dict[str, int]] = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.CRITICAL,
    "silent": logging.CRITICAL + 10,
}
# Attributes every LogRecord has; anything else was passed as `extra` and is logged as a field
# (but uvicorn's `color_message`, its message with terminal colours).
_STANDARD: Final = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: pino's fields first, then the ``extra`` fields."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "level": PINO_LEVELS.get(record.levelno, 30),
            "time": int(record.created * 1000),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            line["err"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: LogLevel, service: str = "ml") -> None:
    """Sends every logger (uvicorn's included) to stdout as JSON at ``level``."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_PYTHON_LEVELS[level])
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The access log below replaces uvicorn's (it knows the request id).
    logging.getLogger("uvicorn.access").disabled = True


HEALTH_PATHS: Final = frozenset({"/healthz", "/readyz"})
access_log = logging.getLogger("ml.http")


class AccessLogMiddleware:
    """Logs each request once it is answered: method, path, status, duration, request id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in HEALTH_PATHS:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            level = (
                logging.ERROR
                if status >= 500
                else logging.WARNING
                if status >= 400
                else logging.INFO
            )
            if access_log.isEnabledFor(level):
                access_log.log(
                    level,
                    "request completed",
                    extra={
                        "req": {"method": scope["method"], "url": scope["path"]},
                        "res": {"statusCode": status},
                        "responseTime": round((time.perf_counter() - started) * 1000, 3),
                        "requestId": scope.get("state", {}).get("request_id"),
                    },
                )
