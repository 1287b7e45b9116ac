"""contracts/ml.yaml bundled (``contracts/generated/ml.openapi.json``, read by the kit)."""

from typing import Any

from portico_kit.contract import service_contract


def ml_contract() -> dict[str, Any]:
    """The bundled contract of this service, parsed once.

    Raises:
        FileNotFoundError: when it has not been generated (``npm run generate``).
    """
    return service_contract("ml")
