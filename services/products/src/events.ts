/**
 * What the products service publishes (it consumes nothing). Events go to the `PRODUCTS`
 * JetStream stream after the database commit. Until the transactional outbox exists, a failed
 * publish is logged as an error and the change stands: the event is lost, not retried.
 */
import type { EventPayloads } from "@portico/contracts";
import { STREAMS } from "@portico/contracts";
import type { EventPublisher, Logger } from "@portico/kit";
import type { StockTransition } from "./domain/stock.js";
import { toSnapshot } from "./representation.js";
import type { ProductRow } from "./store/schema.js";

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

/** Publishes committed changes' events. */
export interface ProductEvents {
  /**
   * Publishes `events` in order, each carrying `requestId` in its NATS headers. Never rejects:
   * a failed publish is logged as an error (the change is already committed) and the rest are
   * still attempted.
   */
  publish(events: ProductEvent[], context: { requestId: string; log: Logger }): Promise<void>;
}

async function publishOne<S extends ProductEventSubject>(
  publisher: EventPublisher,
  event: PendingEvent<S>,
  requestId: string,
): Promise<void> {
  await publisher.publish(event.subject, event.aggregateId, event.data, { requestId });
}

/** {@link ProductEvents} over the kit's JetStream publisher. */
export function createProductEvents(publisher: EventPublisher): ProductEvents {
  return {
    async publish(events, { requestId, log }) {
      for (const event of events) {
        try {
          await publishOne(publisher, event, requestId);
        } catch (err) {
          log.error(
            { err, event: event.subject, productId: event.aggregateId, requestId },
            "event not published; the change is committed and the event is lost",
          );
        }
      }
    },
  };
}
