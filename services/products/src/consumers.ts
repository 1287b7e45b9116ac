/**
 * What the products service consumes:
 * - `ml.review.scored` (stream `ML`, durable `products-review-scores`): stores the
 *   review's sentiment and recomputes the product's average, in ONE transaction with the record
 *   that the event was applied (kit's processOnce), so a redelivery, a duplicate or a replay
 *   changes nothing.
 */
import { CONSUMERS, type EventEnvelope, STREAMS } from "@portico/contracts";
import {
  consumeEvents,
  ensureStream,
  type Logger,
  type NatsConnection,
  processOnce,
  type RunningConsumer,
} from "@portico/kit";
import type { Kysely } from "kysely";
import { type ProductEvents, reviewSentimentStored } from "./events.js";
import { lockProduct } from "./store/products.js";
import { storeScore, updateAverageSentiment } from "./store/reviews.js";
import type { Database } from "./store/schema.js";

/** The subject consumed. */
export const REVIEW_SCORED_SUBJECT = CONSUMERS["products-review-scores"].subject;
/** Durable consumer name (`<consumer-service>-<purpose>`, declared in contracts/events.yaml). */
export const REVIEW_SCORES_DURABLE = CONSUMERS["products-review-scores"].durable;

/** An `ml.review.scored` event. */
export type ReviewScoredEvent = EventEnvelope<typeof REVIEW_SCORED_SUBJECT>;

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
    ...CONSUMERS["products-review-scores"],
    log: deps.log,
    ...policy,
    handle: async (event, { requestId }) => {
      await applyReviewScore(deps, event, requestId ? { requestId } : {});
    },
  });
}
