"""The ML service's environment, validated once at start-up (see ``.env.example``): the
variables of every Portico Python service (``portico_kit.config.ServiceSettings``: the names and
defaults of the TypeScript services, without ``DATABASE_URL``: this service keeps no state) and
its own. ``python -m app.core.config`` validates the current environment and exits 1 naming each
invalid variable, as the service does at start-up; with ``--variables`` it prints the names of
every variable it reads, as JSON (the deployment checks compare compose.yaml and deploy/k8s with
them).
"""

import sys
from collections.abc import Mapping
from typing import Annotated

from portico_kit import config as kit_config
from portico_kit.config import ServiceSettings
from pydantic import Field


class Settings(ServiceSettings):
    """Every variable the ML service reads, with its default when it has one."""

    PORT: Annotated[int, Field(ge=0, le=65535)] = 8084
    WEB_CONCURRENCY: Annotated[int, Field(ge=1, le=32)] = 1
    """uvicorn worker processes; each also runs a consumer instance (they share the durable)."""
    SCORING_WORKERS: Annotated[int, Field(ge=1, le=32)] = 2
    """Worker processes that score texts, per uvicorn worker (the event loop never scores)."""
    SCORING_BUDGET_MS: Annotated[int, Field(ge=1, le=60_000)] = 2000
    """Longest one text may take to score; beyond it the worker is stopped and the request
    answered 503 (the worst text the contract allows takes well under 100 ms of CPU)."""


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings from ``env`` (default: the process environment).

    Raises:
        ValidationError: naming each missing or invalid variable.
    """
    return kit_config.load_settings(Settings, env)


if __name__ == "__main__":
    sys.exit(kit_config.settings_main(Settings))
