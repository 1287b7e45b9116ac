"""Log lines: JSON shaped like the TypeScript services' pino lines in production, pino-pretty's
look in development, one access line per request."""

import io
import json
import logging
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.config import load_settings
from app.core.logging import JsonFormatter, PrettyFormatter, colour_wanted
from tests.support.servers import ml_service


def test_formats_a_record_as_a_pino_like_json_line() -> None:
    record = logging.makeLogRecord(
        {
            "name": "ml.http",
            "levelno": logging.WARNING,
            "msg": "request %s",
            "args": ("completed",),
            "requestId": "req-1",
            "color_message": "\x1b[1mrequest completed\x1b[0m",
        }
    )
    line = json.loads(JsonFormatter("ml").format(record))
    assert line["level"] == 40
    assert (line["service"], line["logger"], line["msg"]) == ("ml", "ml.http", "request completed")
    assert line["requestId"] == "req-1"
    assert "color_message" not in line
    assert isinstance(line["time"], int)


ACCESS = {
    "req": {"method": "GET", "url": "/ml/models"},
    "res": {"statusCode": 404},
    "responseTime": 3.125,
    "requestId": "0192f0c1-7d2e-4c4e-9d51-2a6c0f7b9e10",
}
PRETTY_LINE = re.compile(r"^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR) \(ml\): (.*)$")


def record(level: int, msg: str, **extra: Any) -> logging.LogRecord:
    return logging.makeLogRecord({"name": "ml.http", "levelno": level, "msg": msg, **extra})


def test_writes_an_access_line_for_people() -> None:
    line = PrettyFormatter("ml", colour=False).format(
        record(logging.WARNING, "request completed", **ACCESS)
    )
    match = PRETTY_LINE.match(line)
    assert match is not None, line
    assert match.groups() == ("WARN", "GET /ml/models 404 3.1 ms 0192f0c1")


def test_writes_other_lines_with_their_fields() -> None:
    line = PrettyFormatter("ml", colour=False).format(
        record(logging.INFO, "review scored", reviewId="r-1", compound=0.5)
    )
    match = PRETTY_LINE.match(line)
    assert match is not None, line
    assert match.groups() == ("INFO", 'review scored {"reviewId":"r-1","compound":0.5}')


def test_colours_level_status_and_request_id() -> None:
    line = PrettyFormatter("ml", colour=True).format(
        record(logging.WARNING, "request completed", **ACCESS)
    )
    assert "\x1b[33mWARN\x1b[0m" in line
    assert "\x1b[33m404\x1b[0m" in line
    assert "\x1b[90m0192f0c1\x1b[0m" in line


@pytest.mark.parametrize(
    ("env", "colour"),
    [({}, False), ({"FORCE_COLOR": "1"}, True), ({"FORCE_COLOR": "0"}, False)],
)
def test_colours_when_forced_or_on_a_terminal(env: dict[str, str], colour: bool) -> None:
    assert colour_wanted(io.StringIO(), env) is colour
    assert colour_wanted(io.StringIO(), {**env, "NO_COLOR": "1"}) is False


@pytest.mark.parametrize(
    ("env", "log_format"),
    [
        ({"NODE_ENV": "development"}, "pretty"),
        ({"NODE_ENV": "production"}, "json"),
        ({"NODE_ENV": "test"}, "json"),
        ({"NODE_ENV": "development", "LOG_FORMAT": "json"}, "json"),
        ({"NODE_ENV": "production", "LOG_FORMAT": "pretty"}, "pretty"),
    ],
)
def test_is_pretty_in_development_unless_log_format_says(
    env: dict[str, str], log_format: str
) -> None:
    required = {"NATS_URL": "nats://127.0.0.1:4222", "JWKS_URL": "http://127.0.0.1/jwks.json"}
    assert load_settings({**required, **env}).log_format == log_format


def test_the_running_service_writes_one_pretty_access_line_per_request(
    nats_url: str, tmp_path: Path
) -> None:
    env = {
        "NATS_URL": nats_url,
        "JWKS_URL": "http://127.0.0.1:9/jwks.json",
        "NODE_ENV": "development",
        "LOG_LEVEL": "info",
    }
    log_file = tmp_path / "ml.log"
    with log_file.open("wb") as output, ml_service(env, stdout=output) as url:
        response = httpx.get(f"{url}/ml/models", headers={"X-Request-Id": "pretty-request-1"})
        assert response.status_code == 200
    lines = log_file.read_text(encoding="utf-8").splitlines()
    assert all(PRETTY_LINE.match(line) for line in lines), lines
    access = [line for line in lines if "/ml/models" in line]
    assert len(access) == 1, lines
    assert re.search(r" INFO \(ml\): GET /ml/models 200 \d+\.\d ms pretty-r$", access[0]), access
