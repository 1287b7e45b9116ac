"""NATS JetStream with nats-py, following the TypeScript kit's rules (services/kit/src/nats.ts,
consumer.ts, dead-letter.ts) so that a Python service behaves on the bus exactly like the others:

- streams: file storage, a 2-minute duplicate window (de-duplication by ``Nats-Msg-Id``), the
  subjects and name the event contract declares;
- publishing: the envelope as JSON, ``Nats-Msg-Id`` = envelope id, ``X-Request-Id`` and
  ``traceparent`` passed on, waiting for JetStream's acknowledgement;
- consuming: a durable pull consumer shared by every instance, explicit ack, one message at a
  time, server-side redelivery back-off, each envelope validated against its contract before the
  handler sees it; an invalid one, or one still failing at the last delivery, is published to the
  dead-letter stream (``deadletter.<durable>``) with the reason and terminated. A dead letter that
  cannot be published is retried, never dropped.

Delivery is at least once: handlers must be idempotent.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.errors import NotFoundError

from portico_kit.events.contract import (
    ConsumerDeclaration,
    StreamDeclaration,
    describe,
    stream,
    validate_event,
)

DUPLICATE_WINDOW_SECONDS: Final = 120.0
"""How long JetStream remembers a ``Nats-Msg-Id`` to drop a re-publish (the kit's window)."""
DEFAULT_BACKOFF_SECONDS: Final = (5.0, 15.0, 60.0, 180.0)
"""Seconds before each redelivery; the first is also the ack wait (the kit's default)."""
DEFAULT_MAX_DELIVER: Final = 5
"""Handler attempts before a failing message is dead-lettered (the kit's default)."""
DEAD_LETTER_RETRIES: Final = 5
"""Deliveries allowed beyond ``max_deliver``, used only to retry publishing a dead letter."""
PULL_EXPIRES_SECONDS: Final = 5.0
"""How long one pull waits for a message (short, so pulls resume soon after a failover)."""


async def ensure_stream(
    js: JetStreamContext, declaration: StreamDeclaration, *, replicas: int = 1
) -> None:
    """Creates the stream, or updates its subjects and replica count to the declaration."""
    config = StreamConfig(
        name=declaration.name,
        subjects=list(declaration.subjects),
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=replicas,
    )
    try:
        await js.stream_info(declaration.name)
    except NotFoundError:
        await js.add_stream(config)
        return
    await js.update_stream(config)


def event_headers(
    message_id: str, request_id: str | None, traceparent: str | None
) -> dict[str, str]:
    """The NATS headers of an event: ``Nats-Msg-Id``, and the request's id and trace context."""
    headers = {"Nats-Msg-Id": message_id}
    if request_id:
        headers["X-Request-Id"] = request_id
    if traceparent:
        headers["traceparent"] = traceparent
    return headers


async def publish_envelope(
    js: JetStreamContext,
    envelope: Mapping[str, Any],
    *,
    request_id: str | None = None,
    traceparent: str | None = None,
    ack_wait_seconds: float = 5.0,
) -> bool:
    """Publishes an envelope on its ``type`` and waits for JetStream's acknowledgement.

    Returns:
        True when JetStream stored it, False when it dropped it as a duplicate of an earlier
        publish with the same id (inside the duplicate window).

    Raises:
        nats.errors.Error: when JetStream does not acknowledge (no stream, NATS down, timeout).
    """
    ack = await js.publish(
        str(envelope["type"]),
        json.dumps(envelope, separators=(",", ":")).encode(),
        timeout=ack_wait_seconds,
        headers=event_headers(str(envelope["id"]), request_id, traceparent),
    )
    return not ack.duplicate


def dead_letter_subject(durable: str) -> str:
    """Where a consumer's dead letters go: ``deadletter.<durable>``."""
    return f"deadletter.{durable}"


async def publish_dead_letter(
    js: JetStreamContext, record: Mapping[str, Any], *, stream: str, request_id: str | None
) -> None:
    """Publishes a dead letter (the ``DeadLetter`` message of the event contract), once per
    original message and consumer (``Nats-Msg-Id`` as the kit builds it)."""
    message_id = f"deadletter:{record['consumer']}:{stream}:{record['streamSequence']}"
    headers = {"Nats-Msg-Id": message_id}
    if request_id:
        headers["X-Request-Id"] = request_id
    await js.publish(
        dead_letter_subject(str(record["consumer"])),
        json.dumps(record, separators=(",", ":")).encode(),
        headers=headers,
    )


@dataclass(frozen=True)
class Delivery:
    """What a handler learns about the message besides its envelope."""

    request_id: str | None
    traceparent: str | None
    deliveries: int


EventHandler = Callable[[dict[str, Any], Delivery], Awaitable[None]]
"""Applies one valid envelope; must be idempotent. Returning acknowledges the message; raising
makes JetStream redeliver it after the back-off, and dead-letters it at the last delivery."""


@dataclass
class ConsumerPolicy:
    """Redelivery policy of a consumer (the kit's defaults)."""

    backoff_seconds: Sequence[float] = DEFAULT_BACKOFF_SECONDS
    max_deliver: int = DEFAULT_MAX_DELIVER

    def __post_init__(self) -> None:
        if not self.backoff_seconds or any(s <= 0 for s in self.backoff_seconds):
            raise ValueError("backoff_seconds must be positive numbers")
        if self.max_deliver < 1:
            raise ValueError("max_deliver must be a positive integer")

    def config(self, declaration: ConsumerDeclaration) -> ConsumerConfig:
        """The durable consumer's JetStream configuration."""
        return ConsumerConfig(
            durable_name=declaration.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            filter_subject=declaration.subject,
            # With a back-off, JetStream uses its first entry as the ack wait.
            ack_wait=self.backoff_seconds[0],
            backoff=list(self.backoff_seconds),
            # JetStream requires max_deliver > len(backoff).
            max_deliver=max(self.max_deliver + DEAD_LETTER_RETRIES, len(self.backoff_seconds) + 1),
        )

    def retry_delay(self, deliveries: int) -> float:
        """Seconds before the delivery after the ``deliveries``-th, as the back-off picks it."""
        return self.backoff_seconds[min(deliveries - 1, len(self.backoff_seconds) - 1)]


@dataclass
class RunningConsumer:
    """A consumer's pull loop."""

    task: asyncio.Task[None] | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    busy: bool = False
    """True while a message is in hand (stopping then waits for it to settle)."""

    async def stop(self) -> None:
        """Stops pulling and waits for the message in hand, if any, to settle."""
        self.stopping.set()
        if self.task is None:
            return
        if not self.busy:
            self.task.cancel()  # waiting for a message: nothing to settle
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def _header(msg: Msg, name: str) -> str | None:
    value = (msg.headers or {}).get(name)
    return value or None


async def consume_events(
    nc: NatsClient,
    declaration: ConsumerDeclaration,
    handle: EventHandler,
    *,
    log: logging.Logger,
    policy: ConsumerPolicy | None = None,
) -> RunningConsumer:
    """Consumes one event subject through its declared durable pull consumer, one message at a
    time (instances sharing the durable name share the work). For each message:

    - not JSON, or not valid against the subject's contract → dead-lettered at once;
    - handled → acknowledged;
    - handler failed before the last delivery → negatively acknowledged with the back-off delay;
    - handler failed at delivery ``max_deliver`` or later → dead-lettered with the handler's error.

    Declares the ``DEADLETTER`` stream and creates (or updates) the durable consumer first.

    Raises:
        nats.js.errors.Error: when JetStream refuses the consumer (e.g. its stream is missing).
    """
    policy = policy or ConsumerPolicy()
    js = nc.jetstream()
    await ensure_stream(js, stream("deadletter"))
    await js.add_consumer(declaration.stream, policy.config(declaration))
    subscription = await js.pull_subscribe_bind(declaration.durable, stream=declaration.stream)
    heartbeat = max(0.1, min(policy.backoff_seconds) / 3)

    async def dead_letter(msg: Msg, body: object, error: str, request_id: str | None) -> None:
        record = {
            "subject": msg.subject,
            "streamSequence": msg.metadata.sequence.stream,
            "consumer": declaration.durable,
            "deliveries": msg.metadata.num_delivered,
            "error": error,
            "envelope": body,
            "deadLetteredAt": datetime.now(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }
        try:
            await publish_dead_letter(js, record, stream=declaration.stream, request_id=request_id)
        except Exception:
            # Keep the message: it comes back after the back-off and dead-lettering is retried.
            log.exception("dead letter not published; message kept for a retry")
            await msg.nak(delay=policy.retry_delay(msg.metadata.num_delivered))
            return
        log.error(
            "message dead-lettered",
            extra={"subject": msg.subject, "seq": record["streamSequence"], "error": error},
        )
        await msg.term()

    async def keep_alive(msg: Msg) -> None:
        while True:
            await asyncio.sleep(heartbeat)
            await msg.in_progress()

    async def handle_message(msg: Msg) -> None:
        request_id = _header(msg, "X-Request-Id")
        try:
            body: object = json.loads(msg.data)
        except ValueError:
            await dead_letter(
                msg, msg.data.decode("utf-8", "replace"), "the message body is not JSON", request_id
            )
            return
        errors = validate_event(msg.subject, body)
        if errors:
            reason = f"the envelope violates the {msg.subject} contract: {describe(errors)}"
            await dead_letter(msg, body, reason, request_id)
            return
        deliveries = msg.metadata.num_delivered
        alive = asyncio.create_task(keep_alive(msg))
        try:
            await handle(
                body,  # type: ignore[arg-type]  # validated: an envelope object
                Delivery(request_id, _header(msg, "traceparent"), deliveries),
            )
        except Exception as error:
            if deliveries >= policy.max_deliver:
                await dead_letter(msg, body, str(error) or type(error).__name__, request_id)
                return
            log.warning(
                "event handling failed; will be redelivered",
                exc_info=error,
                extra={"subject": msg.subject, "deliveries": deliveries, "requestId": request_id},
            )
            await msg.nak(delay=policy.retry_delay(deliveries))
            return
        finally:
            alive.cancel()
        await msg.ack()

    running = RunningConsumer()

    async def pull_loop() -> None:
        try:
            while not running.stopping.is_set():
                try:
                    messages = await subscription.fetch(1, timeout=PULL_EXPIRES_SECONDS)
                except NatsTimeoutError:
                    continue
                except Exception:
                    log.exception("pull failed; retrying")
                    await asyncio.sleep(1)
                    continue
                running.busy = True
                try:
                    for msg in messages:
                        try:
                            await handle_message(msg)
                        except Exception:
                            log.exception(
                                "message left for redelivery", extra={"subject": msg.subject}
                            )
                finally:
                    running.busy = False
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    running.task = asyncio.create_task(pull_loop(), name=f"consumer {declaration.durable}")
    return running
