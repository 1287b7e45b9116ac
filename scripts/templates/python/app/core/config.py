"""The __name__ service's environment, validated once at start-up (see ``.env.example``): the
variables of every Portico Python service (``portico_kit.config.ServiceSettings``), and its own.

``python -m app.core.config`` validates the current environment and exits 1 naming each invalid
variable; with ``--variables`` it prints the names of every variable it reads, as JSON (the
deployment checks compare compose.yaml and deploy/k8s with them).
"""

import sys
from collections.abc import Mapping
from typing import Annotated

from portico_kit import config as kit_config
from portico_kit.config import ServiceSettings
from pydantic import Field


class Settings(ServiceSettings):
    """Every variable the __name__ service reads: add its own here."""

    PORT: Annotated[int, Field(ge=0, le=65535)] = __port__


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings from ``env`` (default: the process environment).

    Raises:
        ValidationError: naming each missing or invalid variable.
    """
    return kit_config.load_settings(Settings, env)


if __name__ == "__main__":
    sys.exit(kit_config.settings_main(Settings))
