"""What the __name__ service publishes, on JetStream: each event in the Portico envelope (``id``
UUID v7 = ``Nats-Msg-Id``, ``type`` = subject, ``occurredAt``, ``source``, ``subject``, ``data``;
see contracts/events.yaml), with the request id as the ``X-Request-Id`` header."""

import json
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

import nats
from nats.aio.client import Client
from nats.js.api import StreamConfig

SOURCE = "__name__"
STREAM = "__NAME__"
SUBJECTS = ["__name__.__entity__.created"]


def uuid7() -> str:
    """A UUID v7 (RFC 9562 section 5.7): 48 bits of Unix milliseconds, then random bits."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # variant 10
    return str(uuid.UUID(int=value & ((1 << 128) - 1)))


def envelope(subject: str, aggregate_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The envelope of a new event ``subject`` about ``aggregate_id``."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "id": uuid7(),
        "type": subject,
        "occurredAt": now,
        "source": SOURCE,
        "subject": aggregate_id,
        "data": data,
    }


class Publisher(Protocol):
    """Publishes this service's events."""

    async def publish(self, event: dict[str, Any], request_id: str | None) -> None:
        """Publishes ``event`` (an envelope) and waits for the stream's acknowledgement."""


class JetStreamPublisher:
    """Publishes to the ``__NAME__`` stream, which it creates or updates at connection."""

    def __init__(self, client: Client, replicas: int) -> None:
        self._client = client
        self._replicas = replicas

    @classmethod
    async def connect(cls, servers: list[str], replicas: int) -> "JetStreamPublisher":
        """Connects to NATS and ensures the stream."""
        publisher = cls(await nats.connect(servers=servers, name=SOURCE), replicas)
        config = StreamConfig(
            name=STREAM, subjects=SUBJECTS, num_replicas=replicas, duplicate_window=120
        )
        await publisher._client.jetstream().add_stream(config)
        return publisher

    async def publish(self, event: dict[str, Any], request_id: str | None) -> None:
        """Publishes ``event`` with ``Nats-Msg-Id`` = its id (a re-publish is dropped)."""
        headers = {"Nats-Msg-Id": event["id"]}
        if request_id:
            headers["X-Request-Id"] = request_id
        await self._client.jetstream().publish(
            event["type"], json.dumps(event).encode(), headers=headers
        )

    async def close(self) -> None:
        """Drains the connection."""
        await self._client.drain()
