"""The ML service's logs: pretty in development unless LOG_FORMAT says, one access line per
request (the formats are the kit's, tested there)."""

import re
from pathlib import Path

import httpx
import pytest

from app.core.config import load_settings
from tests.support.servers import ml_service

PRETTY_LINE = re.compile(r"^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR) \(ml\): (.*)$")


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
