"""Logs on stdout as the TypeScript services write them (``@portico/kit``'s logger.ts): in
production JSON lines shaped like pino's (numeric ``level``, ``time`` in epoch milliseconds,
``service``, ``msg``, then the record's extra fields), so one log pipeline reads every service; in
development short lines in pino-pretty's look, ``[12:34:56.789] INFO (orders): message``, an
access line reading ``GET /orders 200 3.1 ms 0192f0c1`` (status coloured by class, the request id's
first 8 characters dimmed). Also the access log: one line per request, 4xx as warn, 5xx as
error, health probes not logged."""

import json
import logging
import os
import sys
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portico_kit.config import LogFormat, LogLevel

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


def _extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


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
        line.update(_extra_fields(record))
        if record.exc_info:
            line["err"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


# ANSI SGR sequences, the colours pino-pretty gives each level (its default `customColors`).
_RESET: Final = "\x1b[0m"
_GRAY: Final = "\x1b[90m"
_CYAN: Final = "\x1b[36m"
_LEVEL_STYLES: Final = {
    logging.DEBUG: ("DEBUG", "\x1b[34m"),
    logging.INFO: ("INFO", "\x1b[32m"),
    logging.WARNING: ("WARN", "\x1b[33m"),
    logging.ERROR: ("ERROR", "\x1b[31m"),
    logging.CRITICAL: ("FATAL", "\x1b[41m"),
}


def _status_colour(status: int) -> str:
    if status >= 500 or status == 0:
        return _LEVEL_STYLES[logging.ERROR][1]
    if status >= 400:
        return _LEVEL_STYLES[logging.WARNING][1]
    if status >= 300:
        return _CYAN
    return _LEVEL_STYLES[logging.INFO][1]


class PrettyFormatter(logging.Formatter):
    """One short line per record, as pino-pretty writes the TypeScript services' lines
    (``translateTime: "SYS:HH:MM:ss.l"``, ``singleLine``): local time, level, ``(service)``,
    the message, then any extra fields as JSON; an access line's message is
    ``METHOD path status duration ms request-id`` (see the module comment)."""

    def __init__(self, service: str, *, colour: bool) -> None:
        super().__init__()
        self.service = service
        self.colour = colour

    def _paint(self, style: str, text: str) -> str:
        return f"{style}{text}{_RESET}" if self.colour else text

    def _access_message(self, fields: Mapping[str, Any]) -> str | None:
        req, res = fields.get("req"), fields.get("res")
        if not isinstance(req, Mapping) or not isinstance(res, Mapping):
            return None
        status = int(res.get("statusCode", 0))
        request_id = fields.get("requestId")
        line = (
            f"{req.get('method')} {req.get('url')} "
            f"{self._paint(_status_colour(status), str(status or 'aborted'))} "
            f"{float(fields.get('responseTime', 0)):.1f} ms"
        )
        if isinstance(request_id, str):
            line += " " + self._paint(_GRAY, request_id[:8])
        return line

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created).strftime("%H:%M:%S.%f")[:-3]
        name, style = _LEVEL_STYLES.get(record.levelno, ("INFO", _LEVEL_STYLES[logging.INFO][1]))
        fields = _extra_fields(record)
        message = self._access_message(fields)
        if message is None:
            message = self._paint(_CYAN, record.getMessage())
            if fields:
                extra = json.dumps(fields, default=str, separators=(",", ":"))
                message += " " + self._paint(_GRAY, extra)
        line = f"[{moment}] {self._paint(style, name)} ({self.service}): {message}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def colour_wanted(stream: Any = None, env: Mapping[str, str] | None = None) -> bool:
    """Whether to colour lines: ``FORCE_COLOR`` (not ``0``) or a terminal, unless ``NO_COLOR``
    (no-color.org) — the rule of colorette, which pino-pretty uses."""
    env = os.environ if env is None else env
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR", "0") not in ("", "0"):
        return True
    isatty = getattr(stream if stream is not None else sys.stdout, "isatty", None)
    return bool(isatty and isatty())


def configure_logging(level: LogLevel, log_format: LogFormat, service: str) -> None:
    """Sends every logger (uvicorn's included) to stdout at ``level``, as JSON or pretty lines
    naming ``service``."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        JsonFormatter(service)
        if log_format == "json"
        else PrettyFormatter(service, colour=colour_wanted(sys.stdout))
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_PYTHON_LEVELS[level])
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The access log below replaces uvicorn's (it knows the request id).
    logging.getLogger("uvicorn.access").disabled = True


HEALTH_PATHS: Final = frozenset({"/healthz", "/readyz"})
access_log = logging.getLogger("portico.http")


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
