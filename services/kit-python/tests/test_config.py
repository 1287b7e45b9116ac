"""The settings every service reads: defaults, the log format rule, the timeouts' order."""

import pytest
from pydantic import ValidationError

from portico_kit.config import ServiceSettings, load_settings

REQUIRED = {"PORT": "8090", "NATS_URL": "nats://a:4222, nats://b:4222", "JWKS_URL": "http://u/j"}


@pytest.mark.parametrize(
    ("env", "log_format"),
    [
        ({"NODE_ENV": "development"}, "pretty"),
        ({"NODE_ENV": "production"}, "json"),
        ({"NODE_ENV": "development", "LOG_FORMAT": "json"}, "json"),
    ],
)
def test_is_pretty_in_development_unless_log_format_says(
    env: dict[str, str], log_format: str
) -> None:
    assert load_settings(ServiceSettings, {**REQUIRED, **env}).log_format == log_format


def test_splits_the_nats_servers() -> None:
    settings = load_settings(ServiceSettings, REQUIRED)
    assert settings.nats_servers == ["nats://a:4222", "nats://b:4222"]


def test_refuses_a_headers_timeout_over_the_request_timeout() -> None:
    env = {**REQUIRED, "HTTP_HEADERS_TIMEOUT_MS": "5000", "HTTP_REQUEST_TIMEOUT_MS": "1000"}
    with pytest.raises(ValidationError, match="HTTP_HEADERS_TIMEOUT_MS"):
        load_settings(ServiceSettings, env)
