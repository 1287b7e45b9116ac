/**
 * What the products service publishes, and how: each change writes its events into the `outbox`
 * table in its own transaction; the kit's outbox relay publishes them to the `PRODUCTS` JetStream
 * stream, in order per product, with `Nats-Msg-Id` = event id. The review events carry the
 * product as envelope subject, so whoever caches the product learns it changed. What it consumes
 * is in consumers.ts.
 */
import type { EventPayloads } from "@portico/contracts";
import { STREAMS } from "@portico/contracts";
import { enqueueEvent } from "@portico/kit";
import type { Transaction } from "kysely";
import type { StockTransition } from "./domain/stock.js";
import { toSnapshot } from "./representation.js";
import type { Database, ProductRow, ReviewRow } from "./store/schema.js";

/** The envelope `source` of every event this service publishes. */
export const PRODUCTS_SOURCE = "products";

/** The stream holding this service's events (declared in `@portico/contracts`). */
export const PRODUCTS_STREAM = STREAMS.products;

/** A subject this service publishes. */
export type ProductEventSubject = (typeof PRODUCTS_STREAM.subjects)[number];

/** An event ready to publish: subject, the product it is about, payload. */
export interface PendingEvent<S extends ProductEventSubject> {
  subject: S;
  /** The product id (the envelope's `subject`). */
  aggregateId: string;
  data: EventPayloads[S];
}

/** Any event this service publishes. */
export type ProductEvent = { [S in ProductEventSubject]: PendingEvent<S> }[ProductEventSubject];

/** `products.product.created` for a newly inserted row. */
export function productCreated(row: ProductRow): PendingEvent<"products.product.created"> {
  return {
    subject: "products.product.created",
    aggregateId: row.id,
    data: { product: toSnapshot(row) },
  };
}

/** `products.product.updated` with the row after the update. */
export function productUpdated(row: ProductRow): PendingEvent<"products.product.updated"> {
  return {
    subject: "products.product.updated",
    aggregateId: row.id,
    data: { product: toSnapshot(row) },
  };
}

/** `products.product.deleted` for the product `productId`. */
export function productDeleted(productId: string): PendingEvent<"products.product.deleted"> {
  return { subject: "products.product.deleted", aggregateId: productId, data: { productId } };
}

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
  score: Pick<EventPayloads["ml.review.scored"], "reviewId" | "label"> & { compound: number },
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

/**
 * The events of a stock transition (see `stockTransition`), in its order, with their payloads.
 * @param row the product after the change (its name goes into `back_in_stock`).
 */
export function stockEvents(row: ProductRow, transition: StockTransition): ProductEvent[] {
  return transition.events.map(
    (subject): ProductEvent =>
      subject === "products.stock.changed"
        ? {
            subject,
            aggregateId: row.id,
            data: { productId: row.id, previous: transition.previous, current: transition.current },
          }
        : {
            subject,
            aggregateId: row.id,
            data: { productId: row.id, name: row.name, stock: transition.current },
          },
  );
}

/**
 * Where an event came from, propagated as NATS headers. A handler passes none: the kit takes the
 * request id and trace context of the request being served (its EventOrigin). A consumer passes
 * the request id of the event it applies.
 */
export interface EventContext {
  /** `X-Request-Id` to publish with. */
  requestId?: string;
}

/** Writes this service's events into its outbox and hands committed ones to the relay. */
export interface ProductEvents {
  /**
   * Writes `events`, in order, into the outbox inside `trx`: they are published if and only if
   * `trx` commits.
   * @throws InvalidEventError (from `@portico/contracts`) when an event breaks its contract;
   *   nothing is written and the transaction fails.
   */
  enqueue(
    trx: Transaction<Database>,
    events: ProductEvent[],
    context?: EventContext,
  ): Promise<void>;
  /** Call after the commit: the relay publishes now instead of at its next poll. */
  committed(): void;
}

async function enqueueOne<S extends ProductEventSubject>(
  trx: Transaction<Database>,
  event: PendingEvent<S>,
  context: EventContext = {},
): Promise<void> {
  await enqueueEvent(trx, { source: PRODUCTS_SOURCE, ...event, ...context });
}

/**
 * {@link ProductEvents} over the kit's outbox.
 * @param onCommitted called by `committed()`: kicks the outbox relay (absent while NATS is not
 *   connected yet; its poll then picks the events up).
 */
export function createProductEvents(onCommitted: () => void = () => undefined): ProductEvents {
  return {
    async enqueue(trx, events, context) {
      for (const event of events) await enqueueOne(trx, event, context);
    },
    committed: onCommitted,
  };
}
