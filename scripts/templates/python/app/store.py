"""The __name__ records, kept in memory (one process, lost at restart): replace with a database
when the service needs to keep them."""

from datetime import UTC, datetime

from portico_kit.events.ids import uuid7

from app.models import generated as models


class __Name__Store:
    """Records by id, listed newest first."""

    def __init__(self) -> None:
        self._rows: dict[str, models.__Entity__] = {}

    def create(self, new: models.New__Entity__, owner_id: str) -> models.__Entity__:
        """Stores a new record owned by ``owner_id``."""
        row = models.__Entity__.model_validate(
            {"id": uuid7(), "name": new.name, "ownerId": owner_id, "createdAt": datetime.now(UTC)}
        )
        self._rows[str(row.id)] = row
        return row

    def get(self, id_: str) -> models.__Entity__ | None:
        """The record ``id_``, or None."""
        return self._rows.get(id_)

    def newest(self, offset: int, limit: int) -> list[models.__Entity__]:
        """Up to ``limit`` records after the first ``offset``, newest first."""
        rows = sorted(self._rows.values(), key=lambda row: row.createdAt, reverse=True)
        return rows[offset : offset + limit]
