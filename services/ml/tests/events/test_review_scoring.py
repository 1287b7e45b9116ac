"""The review consumer against a real nats-server (JetStream): it scores each
``products.review.created`` and publishes ``ml.review.scored`` once, whatever the redeliveries;
it dead-letters what breaks the contract and what keeps failing."""

import asyncio
import contextlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.errors import NotFoundError
from portico_kit.events.contract import new_envelope, validate_event
from portico_kit.events.ids import derived_uuid7
from portico_kit.events.jetstream import ConsumerPolicy, RunningConsumer

from app.events.review_scoring import DURABLE, start_review_scoring
from app.models.generated import SentimentResult
from app.sentiment.pool import ScoringPool
from tests.sentiment.test_analyzer import emoji_text

FAST = ConsumerPolicy(backoff_seconds=(0.2,), max_deliver=2)


def uuid7() -> str:
    """A UUID v7 for test events (RFC 9562: 48-bit ms timestamp, version, variant, random)."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0b11 << 62)) | (0b10 << 62)
    return str(uuid.UUID(int=value))


def review_created(text: str = "The espresso cup is lovely!") -> dict[str, Any]:
    product_id = str(uuid.uuid4())
    return new_envelope(
        uuid7(),
        "products.review.created",
        "products",
        product_id,
        {"reviewId": str(uuid.uuid4()), "productId": product_id, "text": text, "rating": 5},
    )


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[NatsClient]:
    """A connection to the test nats-server, with no Portico stream or consumer left over."""
    client = await nats.connect(nats_url)
    js = client.jetstream()
    for name in ("PRODUCTS", "ML", "DEADLETTER"):
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(name)
    yield client
    await client.drain()


@pytest.fixture
async def scoring(
    nc: NatsClient, scoring_pool: ScoringPool
) -> AsyncIterator[Callable[[], Awaitable[RunningConsumer]]]:
    started: list[RunningConsumer] = []

    async def start() -> RunningConsumer:
        running = await start_review_scoring(nc, scoring_pool, policy=FAST)
        started.append(running)
        return running

    yield start
    for running in started:
        await running.stop()


async def publish(nc: NatsClient, body: bytes, *, message_id: str, request_id: str = "") -> None:
    headers = {"Nats-Msg-Id": message_id}
    if request_id:
        headers["X-Request-Id"] = request_id
    await nc.jetstream().publish("products.review.created", body, headers=headers)


async def stored(nc: NatsClient, stream: str, count: int, within: float = 10) -> list[Any]:
    """The first ``count`` messages of ``stream``, once it holds them; then checks for no more."""
    js = nc.jetstream()
    deadline = asyncio.get_running_loop().time() + within
    while (await js.stream_info(stream)).state.messages < count:
        assert asyncio.get_running_loop().time() < deadline, f"{stream} holds fewer than {count}"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # anything published twice would be there by now
    assert (await js.stream_info(stream)).state.messages == count
    return [await js.get_msg(stream, seq) for seq in range(1, count + 1)]


async def test_scores_a_review_and_publishes_the_result(
    nc: NatsClient, scoring: Callable[[], Awaitable[RunningConsumer]]
) -> None:
    await scoring()
    created = review_created("The espresso cup is lovely, but the handle is a bit small.")
    await publish(nc, json.dumps(created).encode(), message_id=created["id"], request_id="req-42")

    [message] = await stored(nc, "ML", 1)
    scored = json.loads(message.data)
    assert validate_event("ml.review.scored", scored) == []
    assert scored["id"] == derived_uuid7(created["id"], "ml.review.scored")
    assert scored["subject"] == created["data"]["reviewId"]
    assert scored["data"] == {
        "reviewId": created["data"]["reviewId"],
        "productId": created["data"]["productId"],
        "scores": {"compound": 0.34, "positive": 0.179, "negative": 0.0, "neutral": 0.821},
        "label": "positive",
        "model": {"name": "vader", "version": "3.3.2"},
    }
    assert message.headers is not None
    assert message.headers["Nats-Msg-Id"] == scored["id"]
    assert message.headers["X-Request-Id"] == "req-42"


async def test_publishes_one_result_however_often_a_review_is_delivered(
    nc: NatsClient, scoring: Callable[[], Awaitable[RunningConsumer]]
) -> None:
    await scoring()
    created = review_created()
    body = json.dumps(created).encode()
    # The same event three times on the stream (a replay, or a publisher retrying after its
    # duplicate window): each is delivered and handled, one result is stored.
    for copy in range(3):
        await publish(nc, body, message_id=f"{created['id']}-{copy}")

    await stored(nc, "PRODUCTS", 3)
    [message] = await stored(nc, "ML", 1)
    assert json.loads(message.data)["id"] == derived_uuid7(created["id"], "ml.review.scored")
    info = await nc.jetstream().consumer_info("PRODUCTS", DURABLE)
    assert (info.num_pending, info.num_ack_pending) == (0, 0)


async def test_resumes_where_it_stopped_after_a_restart(
    nc: NatsClient, scoring: Callable[[], Awaitable[RunningConsumer]]
) -> None:
    first = await scoring()
    before = review_created()
    await publish(nc, json.dumps(before).encode(), message_id=before["id"])
    await stored(nc, "ML", 1)
    await first.stop()

    after = review_created()
    await publish(nc, json.dumps(after).encode(), message_id=after["id"])
    await scoring()
    messages = await stored(nc, "ML", 2)
    assert [json.loads(m.data)["data"]["reviewId"] for m in messages] == [
        before["data"]["reviewId"],
        after["data"]["reviewId"],
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "the message body is not JSON"),
        (b'{"id": "nope"}', "the envelope violates the products.review.created contract"),
    ],
)
async def test_dead_letters_a_message_that_breaks_the_contract(
    nc: NatsClient,
    scoring: Callable[[], Awaitable[RunningConsumer]],
    body: bytes,
    reason: str,
) -> None:
    await scoring()
    await publish(nc, body, message_id=str(uuid.uuid4()), request_id="req-poison")

    [message] = await stored(nc, "DEADLETTER", 1)
    assert message.subject == f"deadletter.{DURABLE}"
    record = json.loads(message.data)
    assert record["consumer"] == DURABLE
    assert record["subject"] == "products.review.created"
    assert record["streamSequence"] == 1
    assert record["error"].startswith(reason)
    assert message.headers is not None
    assert message.headers["X-Request-Id"] == "req-poison"
    assert (await nc.jetstream().stream_info("ML")).state.messages == 0


async def test_retries_a_failing_review_then_dead_letters_it(
    nc: NatsClient, scoring: Callable[[], Awaitable[RunningConsumer]]
) -> None:
    await scoring()
    # Without its stream, publishing the result fails: JetStream has no responder for it.
    await nc.jetstream().delete_stream("ML")
    created = review_created()
    await publish(nc, json.dumps(created).encode(), message_id=created["id"])

    [message] = await stored(nc, "DEADLETTER", 1)
    record = json.loads(message.data)
    assert record["deliveries"] == FAST.max_deliver
    assert record["envelope"] == created
    assert record["error"]


async def test_scores_the_costliest_review_once(
    nc: NatsClient, scoring: Callable[[], Awaitable[RunningConsumer]]
) -> None:
    # The text that took ~10 s on the event loop and outlasted the ack wait (issue 9, finding 1).
    await scoring()
    created = review_created(emoji_text(5000))
    await publish(nc, json.dumps(created).encode(), message_id=created["id"])

    await stored(nc, "ML", 1)
    info = await nc.jetstream().consumer_info("PRODUCTS", DURABLE)
    assert (info.num_redelivered, info.num_ack_pending) == (0, 0)


class SlowScorer:
    """Takes ``seconds`` per text (without holding the event loop), then scores it."""

    def __init__(self, pool: ScoringPool, seconds: float) -> None:
        self.pool = pool
        self.seconds = seconds

    async def score(self, text: str) -> SentimentResult:
        await asyncio.sleep(self.seconds)
        return await self.pool.score(text)


async def test_extends_the_ack_wait_while_it_scores(
    nc: NatsClient, scoring_pool: ScoringPool
) -> None:
    # Scoring takes three ack waits: progress acknowledgements keep JetStream from redelivering.
    policy = ConsumerPolicy(backoff_seconds=(0.3,), max_deliver=2)
    running = await start_review_scoring(nc, SlowScorer(scoring_pool, 0.9), policy=policy)
    try:
        created = review_created()
        await publish(nc, json.dumps(created).encode(), message_id=created["id"])
        await stored(nc, "ML", 1)
        info = await nc.jetstream().consumer_info("PRODUCTS", DURABLE)
        assert (info.num_redelivered, info.num_ack_pending) == (0, 0)
    finally:
        await running.stop()
