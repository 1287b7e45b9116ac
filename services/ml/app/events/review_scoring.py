"""What the ML service does on the bus: it consumes ``products.review.created`` (durable
``ml-review-scoring``, shared by every instance), scores the review's text with VADER and
publishes ``ml.review.scored`` (stream ``ML``), which the products service stores.

Idempotent and at least once without a database: the scores are a pure function of the text, and
the published event's id — its ``Nats-Msg-Id`` — is derived from the received event's id
(``app.events.ids``). A redelivery (the service died between publishing and acknowledging, or the
publish acknowledgement was lost) therefore publishes the *same* event again: JetStream drops it
inside the stream's 2-minute duplicate window, and after that the products service ignores it,
because it records the id of every event it applied in the transaction of its effect. The event
is acknowledged only after JetStream stored the published event, so none is lost.
"""

import logging
from typing import Any, Final

from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from portico_kit.events.contract import assert_valid_event, consumer, new_envelope, stream
from portico_kit.events.ids import derived_uuid7
from portico_kit.events.jetstream import (
    ConsumerPolicy,
    Delivery,
    RunningConsumer,
    consume_events,
    ensure_stream,
    publish_envelope,
)

from app.models.generated import SentimentResult
from app.sentiment.pool import Scorer

SOURCE: Final = "ml"
"""The envelope ``source`` of the events this service publishes."""
REVIEW_CREATED: Final = "products.review.created"
REVIEW_SCORED: Final = "ml.review.scored"
DURABLE: Final = "ml-review-scoring"
"""The durable consumer (declared in contracts/events.yaml)."""

log = logging.getLogger("ml.review-scoring")


def review_scored(created: dict[str, Any], result: SentimentResult) -> dict[str, Any]:
    """The ``ml.review.scored`` envelope for a (valid) ``products.review.created`` envelope and
    its text's ``result``: always the same id and data for the same input (only ``occurredAt``
    differs).

    Raises:
        InvalidEventError: when the result breaks the contract (a bug: nothing is published).
    """
    review = created["data"]
    envelope = new_envelope(
        derived_uuid7(created["id"], REVIEW_SCORED),
        REVIEW_SCORED,
        SOURCE,
        review["reviewId"],
        {
            "reviewId": review["reviewId"],
            "productId": review["productId"],
            "scores": result.scores.model_dump(mode="json"),
            "label": result.label.value,
            "model": result.model.model_dump(mode="json"),
        },
    )
    assert_valid_event(REVIEW_SCORED, envelope)
    return envelope


async def score_review(
    js: JetStreamContext, scoring: Scorer, created: dict[str, Any], delivery: Delivery
) -> None:
    """Scores one review and publishes the result; returns once JetStream stored it (or had it
    already).

    Raises:
        nats.errors.Error: when the publish is not acknowledged (the event is redelivered).
        ScoringTimeout: when the text took longer than the scoring budget (redelivered too).
    """
    scored = review_scored(created, await scoring.score(created["data"]["text"]))
    stored = await publish_envelope(
        js, scored, request_id=delivery.request_id, traceparent=delivery.traceparent
    )
    log.info(
        "review scored" if stored else "review scored again; JetStream dropped the duplicate",
        extra={
            "eventId": created["id"],
            "reviewId": created["data"]["reviewId"],
            "compound": scored["data"]["scores"]["compound"],
            "requestId": delivery.request_id,
        },
    )


async def start_review_scoring(
    nc: NatsClient,
    scoring: Scorer,
    *,
    replicas: int = 1,
    policy: ConsumerPolicy | None = None,
) -> RunningConsumer:
    """Declares the streams it reads and writes (``PRODUCTS``, ``ML``: idempotent, so the order
    in which services start does not matter) and starts consuming."""
    js = nc.jetstream()
    await ensure_stream(js, stream("products"), replicas=replicas)
    await ensure_stream(js, stream("ml"), replicas=replicas)

    async def handle(created: dict[str, Any], delivery: Delivery) -> None:
        await score_review(js, scoring, created, delivery)

    return await consume_events(nc, consumer(DURABLE), handle, log=log, policy=policy)
