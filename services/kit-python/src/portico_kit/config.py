"""The environment every Portico Python service reads, validated once at start-up: the variable
names and defaults of the TypeScript services (``@portico/kit``'s ``serviceConfigShape``).

A service subclasses :class:`ServiceSettings` with its port and own variables;
:func:`settings_main` is its ``python -m app.core.config``: it validates the current environment
and exits 1 naming each invalid variable, as the service does at start-up; with ``--variables``
it prints the names of every variable the service reads, as JSON (the deployment checks compare
compose.yaml and deploy/k8s with them).
"""

import json
import sys
from collections.abc import Mapping
from typing import Annotated, Literal, TypeVar

from pydantic import AnyHttpUrl, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["trace", "debug", "info", "warn", "error", "fatal", "silent"]
LogFormat = Literal["json", "pretty"]

Milliseconds = Annotated[int, Field(ge=1, le=3_600_000)]

SettingsT = TypeVar("SettingsT", bound=BaseSettings)


class HttpServerSettings(BaseSettings):
    """The HTTP server's timeouts, named and defaulted as the TypeScript services' (``@portico/kit``
    server.ts): the HTTP server reads only these (``portico_kit.http_server``)."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", frozen=True)

    HTTP_HEADERS_TIMEOUT_MS: Milliseconds = 10_000
    """The request line and headers must arrive within it (from the connection, or from the
    request's first byte on a kept-alive one); else 408 and the connection is closed."""
    HTTP_REQUEST_TIMEOUT_MS: Milliseconds = 30_000
    """The whole request, body included, must arrive within it; at least the headers timeout."""
    HTTP_KEEP_ALIVE_TIMEOUT_MS: Milliseconds = 65_000
    """An idle kept-alive connection is closed after it."""

    @model_validator(mode="after")
    def _headers_within_request(self) -> "HttpServerSettings":
        if self.HTTP_HEADERS_TIMEOUT_MS > self.HTTP_REQUEST_TIMEOUT_MS:
            raise ValueError(
                f"HTTP_HEADERS_TIMEOUT_MS ({self.HTTP_HEADERS_TIMEOUT_MS}) must not exceed "
                f"HTTP_REQUEST_TIMEOUT_MS ({self.HTTP_REQUEST_TIMEOUT_MS})"
            )
        return self


class ServiceSettings(HttpServerSettings):
    """The variables every Portico Python service reads (a service adds its own and sets its
    ``PORT`` default)."""

    NODE_ENV: Literal["development", "test", "production"] = "development"
    HOST: Annotated[str, Field(min_length=1)] = "127.0.0.1"
    PORT: Annotated[int, Field(ge=0, le=65535)]
    LOG_LEVEL: LogLevel = "info"
    LOG_FORMAT: LogFormat | None = None
    """``json`` (one object a line) or ``pretty`` (short lines for people); unset: ``pretty``
    when ``NODE_ENV`` is ``development``, else ``json`` (the TypeScript services' rule)."""
    NATS_URL: Annotated[str, Field(min_length=1)]
    """NATS server URLs, comma-separated (JetStream enabled)."""
    JWKS_URL: AnyHttpUrl
    """The token issuer's JWK Set (RFC 7517), for verifying access tokens."""
    JWT_ISSUER: Annotated[str, Field(min_length=1)] = "portico"
    """Required ``iss`` claim of access tokens."""
    JWT_AUDIENCE: Annotated[str, Field(min_length=1)] = "portico-api"
    """Required ``aud`` claim of access tokens."""
    NATS_STREAM_REPLICAS: Annotated[int, Field(ge=1, le=5)] = 1
    """Copies of the service's stream on a NATS cluster (3 on a 3-node cluster)."""
    WEB_CONCURRENCY: Annotated[int, Field(ge=1, le=32)] = 1
    """uvicorn worker processes."""

    @property
    def log_format(self) -> LogFormat:
        """``LOG_FORMAT``, or its default for ``NODE_ENV``."""
        if self.LOG_FORMAT is not None:
            return self.LOG_FORMAT
        return "pretty" if self.NODE_ENV == "development" else "json"

    @property
    def nats_servers(self) -> list[str]:
        """``NATS_URL`` as a list of server URLs."""
        return [url.strip() for url in self.NATS_URL.split(",") if url.strip()]


def describe_errors(error: ValidationError) -> str:
    """One line per invalid variable, as the TypeScript services print them."""
    lines = [
        f"  {'.'.join(str(part) for part in issue['loc']) or '(env)'}: {issue['msg']}"
        for issue in error.errors()
    ]
    return "Invalid configuration:\n" + "\n".join(lines)


def load_settings(cls: type[SettingsT], env: Mapping[str, str] | None = None) -> SettingsT:
    """The settings ``cls`` from ``env`` (default: the process environment).

    Raises:
        ValidationError: naming each missing or invalid variable.
    """
    if env is None:
        return cls()  # pydantic-settings reads the environment
    return cls.model_validate(dict(env))


def settings_main(cls: type[BaseSettings]) -> int:
    """Validates the process environment against ``cls``: 0 when the service would start, else 1
    (the reasons on stderr). With ``--variables``, prints the variables it reads instead."""
    if "--variables" in sys.argv[1:]:
        print(json.dumps(list(cls.model_fields)))
        return 0
    try:
        load_settings(cls)
    except ValidationError as error:
        print(describe_errors(error), file=sys.stderr)
        return 1
    return 0
