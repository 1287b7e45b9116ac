"""Publishing a service's events: a :class:`Publisher` the routes are given (tests pass one that
keeps what it gets), and :class:`JetStreamPublisher`, which publishes on NATS JetStream as
``portico_kit.events.jetstream`` does (``Nats-Msg-Id`` = the envelope's id, so a re-publish is
dropped; ``X-Request-Id`` passed on), each envelope checked against its contract first."""

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import nats
from nats.aio.client import Client as NatsClient

from portico_kit.events.contract import StreamDeclaration, assert_valid_event
from portico_kit.events.jetstream import ensure_stream, publish_envelope


class Publisher(Protocol):
    """Publishes a service's events."""

    async def publish(self, envelope: Mapping[str, Any], request_id: str | None) -> None:
        """Publishes ``envelope`` (see ``new_envelope``) and waits until it is stored."""


class JetStreamPublisher:
    """Publishes envelopes to JetStream over one NATS connection."""

    def __init__(self, client: NatsClient) -> None:
        self._client = client

    @classmethod
    async def connect(
        cls,
        servers: Sequence[str],
        *,
        name: str,
        streams: Sequence[StreamDeclaration],
        replicas: int = 1,
    ) -> "JetStreamPublisher":
        """Connects to NATS as ``name`` and creates or updates ``streams`` (the ones the service
        publishes to) with ``replicas`` copies.

        Raises:
            nats.errors.Error: when NATS is unreachable or JetStream refuses a stream.
        """
        client = await nats.connect(servers=list(servers), name=name, connect_timeout=2)
        for declaration in streams:
            await ensure_stream(client.jetstream(), declaration, replicas=replicas)
        return cls(client)

    async def publish(self, envelope: Mapping[str, Any], request_id: str | None) -> None:
        """Publishes ``envelope`` on its ``type`` once it is valid by its contract.

        Raises:
            InvalidEventError: when it breaks the contract (nothing is published).
            nats.errors.Error: when JetStream does not acknowledge it.
        """
        assert_valid_event(str(envelope["type"]), envelope)
        await publish_envelope(self._client.jetstream(), envelope, request_id=request_id)

    async def close(self) -> None:
        """Drains the connection (what is in flight is sent first)."""
        await self._client.drain()
