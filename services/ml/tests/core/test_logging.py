"""Log lines: JSON shaped like the TypeScript services' pino lines."""

import json
import logging

from app.core.logging import JsonFormatter


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
