"""The __name__ service's environment, validated once at start-up.

``python -m app.core.config`` validates the current environment and exits 1 naming each invalid
variable; with ``--variables`` it prints the names of every variable it reads, as JSON (the
deployment checks compare compose.yaml and deploy/k8s with them).
"""

import json
import sys
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every variable the service reads, named and defaulted as the TypeScript services'."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", frozen=True)

    NODE_ENV: Literal["development", "test", "production"] = "development"
    HOST: Annotated[str, Field(min_length=1)] = "127.0.0.1"
    PORT: Annotated[int, Field(ge=0, le=65535)] = __port__
    LOG_LEVEL: Literal["trace", "debug", "info", "warn", "error", "fatal", "silent"] = "info"
    NATS_URL: Annotated[str, Field(min_length=1)]
    """NATS server URLs, comma-separated (JetStream enabled)."""
    JWKS_URL: AnyHttpUrl
    """The token issuer's JWK Set (RFC 7517), for verifying access tokens."""
    JWT_ISSUER: Annotated[str, Field(min_length=1)] = "portico"
    JWT_AUDIENCE: Annotated[str, Field(min_length=1)] = "portico-api"
    NATS_STREAM_REPLICAS: Annotated[int, Field(ge=1, le=5)] = 1
    """Copies of the ``__NAME__`` stream on a NATS cluster."""
    WEB_CONCURRENCY: Annotated[int, Field(ge=1, le=32)] = 1

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


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings from ``env`` (default: the process environment).

    Raises:
        ValidationError: naming each missing or invalid variable.
    """
    if env is None:
        return Settings()  # pydantic-settings reads the environment
    return Settings.model_validate(dict(env))


def main() -> int:
    """0 when the service would start with this environment, else 1 (``--variables``: list)."""
    if "--variables" in sys.argv[1:]:
        print(json.dumps(list(Settings.model_fields)))
        return 0
    try:
        load_settings()
    except ValidationError as error:
        print(describe_errors(error), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
