/**
 * The review events of the products service:
 * - publishes `products.review.created` (a review was written: the ML service scores its text)
 *   and `products.review.scored` (a score was stored: the product's average changed), both
 *   through the outbox in the transaction of their change, with the product as envelope subject
 *   so that whoever caches the product learns it changed;
 * - consumes `ml.review.scored` (stream `ML`, durable `products-review-scores`): stores the
 *   review's sentiment and recomputes the product's average, in ONE transaction with the record
 *   that the event was applied (kit's processOnce), so a redelivery, a duplicate or a replay
 *   changes nothing.
 */
import { type EventEnvelope, STREAMS } from "@portico/contracts";
import {
  consumeEvents,
  ensureStream,
  type Logger,
  type NatsConnection,
  processOnce,
  type RunningConsumer,
} from "@portico/kit";
import type { Kysely } from "kysely";
import type { PendingEvent, ProductEvents } from "./events.js";
import { lockProduct } from "./store/products.js";
import { storeScore, updateAverageSentiment } from "./store/reviews.js";
import type { Database, ProductRow, ReviewRow } from "./store/schema.js";

/** The subject consumed. */
export const REVIEW_SCORED_SUBJECT = "ml.review.scored";
/** Durable consumer name (`<consumer-service>-<purpose>`, declared in contracts/events.yaml). */
export const REVIEW_SCORES_DURABLE = "products-review-scores";

/** An `ml.review.scored` event. */
export type ReviewScoredEvent = EventEnvelope<typeof REVIEW_SCORED_SUBJECT>;

/** `products.review.created` for a newly inserted review. */
export function reviewCreated(review: ReviewRow): PendingEvent<"products.review.created"> {
  return {
    subject: "products.review.created",
    aggregateId: review.product_id,
    data: {
      reviewId: review.id,
      productId: review.product_id,
      text: review.text,
      rating: review.rating,
    },
  };
}

/**
 * `products.review.scored` once a review's score is stored.
 * @param product the product after its average was recomputed over the stored score.
 * @throws Error when the product has no average (it was not recomputed: a bug).
 */
export function reviewSentimentStored(
  score: Pick<ReviewScoredEvent["data"], "reviewId" | "label"> & { compound: number },
  product: ProductRow,
): PendingEvent<"products.review.scored"> {
  if (product.average_sentiment === null) {
    throw new Error(`product ${product.id} has a scored review but no average sentiment`);
  }
  return {
    subject: "products.review.scored",
    aggregateId: product.id,
    data: {
      reviewId: score.reviewId,
      productId: product.id,
      compound: score.compound,
      label: score.label,
      averageSentiment: product.average_sentiment,
      reviewCount: product.review_count,
    },
  };
}

/** What applying scores needs. */
export interface ReviewScoresDeps {
  db: Kysely<Database>;
  /** The outbox writer, for `products.review.scored`. */
  events: ProductEvents;
  log: Logger;
}

/** What applying one event did. */
export type ReviewScoreOutcome =
  /** The score was stored and the product's average updated. */
  | "applied"
  /** This consumer had applied the event before: nothing changed. */
  | "already_applied"
  /** The review no longer exists (its product was deleted) or was scored already. */
  | "nothing_to_score";

/**
 * Applies one (valid) `ml.review.scored` event in one transaction: records it as processed,
 * locks the product (scores of one product apply one after the other, so each average sees the
 * previous score), stores the score, recomputes the average and writes `products.review.scored`
 * to the outbox.
 * @throws Error when the database fails: nothing was committed, and JetStream redelivers it.
 */
export async function applyReviewScore(
  deps: ReviewScoresDeps,
  event: ReviewScoredEvent,
  context: { requestId?: string } = {},
): Promise<ReviewScoreOutcome> {
  const { reviewId, productId, scores, label, model } = event.data;
  const outcome = await deps.db.transaction().execute(async (trx) => {
    if (!(await processOnce(trx, { consumer: REVIEW_SCORES_DURABLE, eventId: event.id }))) {
      return "already_applied" as const;
    }
    if (!(await lockProduct(trx, productId))) return "nothing_to_score" as const;
    const review = await storeScore(trx, {
      reviewId,
      compound: scores.compound,
      label,
      modelName: model.name,
      modelVersion: model.version,
    });
    if (!review || review.product_id !== productId) return "nothing_to_score" as const;
    const product = await updateAverageSentiment(trx, productId);
    if (!product) return "nothing_to_score" as const;
    const stored = reviewSentimentStored({ reviewId, label, compound: scores.compound }, product);
    // Without a request id (the event carried none), the causing event's id correlates the logs.
    await deps.events.enqueue(trx, [stored], { requestId: context.requestId ?? event.id });
    return "applied" as const;
  });
  if (outcome === "applied") deps.events.committed();
  deps.log.info(
    { eventId: event.id, reviewId, productId, outcome, requestId: context.requestId },
    "ml.review.scored handled",
  );
  return outcome;
}

/**
 * Starts consuming `ml.review.scored`. Declares the `ML` stream first (idempotent), so the
 * consumer can be created before the ML service has started.
 * @returns the running consumer (stop waits for the event in hand).
 */
export async function consumeReviewScores(
  nc: NatsConnection,
  deps: ReviewScoresDeps,
  policy: { maxDeliver?: number; backoffSeconds?: readonly number[] } = {},
): Promise<RunningConsumer> {
  await ensureStream(nc, STREAMS.ml);
  return consumeEvents(nc, {
    stream: STREAMS.ml.name,
    durable: REVIEW_SCORES_DURABLE,
    subject: REVIEW_SCORED_SUBJECT,
    log: deps.log,
    ...policy,
    handle: async (event, { requestId }) => {
      await applyReviewScore(deps, event, requestId ? { requestId } : {});
    },
  });
}
