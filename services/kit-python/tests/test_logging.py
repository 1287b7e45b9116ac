"""Log lines: JSON shaped like the TypeScript services' pino lines in production, pino-pretty's
look in development."""

import io
import json
import logging
import re
from typing import Any

import pytest

from portico_kit.logging import JsonFormatter, PrettyFormatter, colour_wanted


def test_formats_a_record_as_a_pino_like_json_line() -> None:
    record = logging.makeLogRecord(
        {
            "name": "portico.http",
            "levelno": logging.WARNING,
            "msg": "request %s",
            "args": ("completed",),
            "requestId": "req-1",
            "color_message": "\x1b[1mrequest completed\x1b[0m",
        }
    )
    line = json.loads(JsonFormatter("things").format(record))
    assert line["level"] == 40
    assert (line["service"], line["logger"], line["msg"]) == (
        "things",
        "portico.http",
        "request completed",
    )
    assert line["requestId"] == "req-1"
    assert "color_message" not in line
    assert isinstance(line["time"], int)


ACCESS = {
    "req": {"method": "GET", "url": "/things"},
    "res": {"statusCode": 404},
    "responseTime": 3.125,
    "requestId": "0192f0c1-7d2e-4c4e-9d51-2a6c0f7b9e10",
}
PRETTY_LINE = re.compile(r"^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR) \(things\): (.*)$")


def record(level: int, msg: str, **extra: Any) -> logging.LogRecord:
    return logging.makeLogRecord({"name": "portico.http", "levelno": level, "msg": msg, **extra})


def test_writes_an_access_line_for_people() -> None:
    line = PrettyFormatter("things", colour=False).format(
        record(logging.WARNING, "request completed", **ACCESS)
    )
    match = PRETTY_LINE.match(line)
    assert match is not None, line
    assert match.groups() == ("WARN", "GET /things 404 3.1 ms 0192f0c1")


def test_writes_other_lines_with_their_fields() -> None:
    line = PrettyFormatter("things", colour=False).format(
        record(logging.INFO, "thing counted", thingId="t-1", count=5)
    )
    match = PRETTY_LINE.match(line)
    assert match is not None, line
    assert match.groups() == ("INFO", 'thing counted {"thingId":"t-1","count":5}')


def test_colours_level_status_and_request_id() -> None:
    line = PrettyFormatter("things", colour=True).format(
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
