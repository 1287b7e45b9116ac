"""The service's NATS connection and its consumer, attached in the background: HTTP scoring
needs no NATS, so the service starts serving at once and connects (retrying every second until a
server answers, then reconnecting forever), then starts the review consumer. ``/readyz`` reports
NATS not ready until connected."""

import asyncio
import contextlib
import logging
from typing import Final

import nats
from nats.aio.client import Client as NatsClient
from portico_kit.events.jetstream import ConsumerPolicy, RunningConsumer

from app.events.review_scoring import start_review_scoring
from app.sentiment.pool import Scorer

RETRY_SECONDS: Final = 1.0
log = logging.getLogger("ml.nats")


async def _on_error(error: Exception) -> None:
    # Every failed (re)connection attempt lands here, twice a second while NATS is away: the
    # disconnect and reconnect themselves are logged as warnings below.
    log.debug("NATS error", extra={"err": str(error)})


async def _on_disconnect() -> None:
    log.warning("NATS disconnect")


async def _on_reconnect() -> None:
    log.warning("NATS reconnect")


class Bus:
    """NATS for this service: the connection, and the review consumer once connected."""

    def __init__(
        self,
        servers: list[str],
        scoring: Scorer,
        *,
        replicas: int = 1,
        policy: ConsumerPolicy | None = None,
    ) -> None:
        self._servers = servers
        self._scoring = scoring
        self._replicas = replicas
        self._policy = policy
        self._nc: NatsClient | None = None
        self._consumer: RunningConsumer | None = None
        self._attaching: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Connects and starts the consumer in the background."""
        self._attaching = asyncio.create_task(self._attach(), name="nats attach")

    async def _attach(self) -> None:
        while self._nc is None:
            try:
                self._nc = await nats.connect(
                    servers=self._servers,
                    name="ml",
                    connect_timeout=2,
                    reconnect_time_wait=0.5,
                    max_reconnect_attempts=-1,
                    error_cb=_on_error,
                    disconnected_cb=_on_disconnect,
                    reconnected_cb=_on_reconnect,
                )
            except Exception as error:
                log.warning("NATS not reachable; retrying", extra={"err": str(error)})
                await asyncio.sleep(RETRY_SECONDS)
        log.info("NATS connected")
        while self._consumer is None:
            try:
                self._consumer = await start_review_scoring(
                    self._nc, self._scoring, replicas=self._replicas, policy=self._policy
                )
            except Exception:
                log.exception("review consumer not started; retrying")
                await asyncio.sleep(RETRY_SECONDS)
        log.info("consuming products.review.created")

    async def ready(self) -> None:
        """Readiness check: a round trip to the NATS server.

        Raises:
            RuntimeError: when not connected (yet).
        """
        if self._nc is None or not self._nc.is_connected:
            raise RuntimeError("not connected")
        await self._nc.flush(timeout=1)

    async def close(self) -> None:
        """Stops the consumer (the message in hand settles first), then drains NATS."""
        if self._attaching is not None:
            self._attaching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._attaching
        if self._consumer is not None:
            await self._consumer.stop()
        if self._nc is not None and not self._nc.is_closed:
            with contextlib.suppress(Exception):
                await self._nc.drain()
