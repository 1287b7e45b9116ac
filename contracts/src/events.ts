/**
 * NATS JetStream events: subject → payload. Subjects follow `<service>.<entity>.<event>`
 * in the past tense; each publishing service has one stream named after it.
 * (Issue 3 moves these declarations into an AsyncAPI document and generates these types.)
 */

/** A product as carried in product events. Money in integer minor units + ISO 4217 currency. */
export interface ProductSnapshot {
  id: string;
  name: string;
  description: string;
  price: { amount: number; currency: string };
  stock: number;
}

/** Every event subject and the shape of its `data`. */
export interface EventPayloads {
  "users.user.registered": { userId: string; email: string; name: string; role: "user" | "admin" };
  "products.product.created": { product: ProductSnapshot };
  "products.product.updated": { product: ProductSnapshot };
  "products.product.deleted": { productId: string };
  "products.stock.changed": { productId: string; previous: number; current: number };
  "products.product.back_in_stock": { productId: string; name: string; stock: number };
}

/** An event subject, e.g. `products.product.back_in_stock`. */
export type EventSubject = keyof EventPayloads;

/**
 * The envelope every event travels in (JSON body of the NATS message). The request id and W3C
 * `traceparent` travel in NATS headers (`X-Request-Id`, `traceparent`), not in the body.
 */
export interface EventEnvelope<S extends EventSubject = EventSubject> {
  /** UUID v7: unique, time-ordered; also the JetStream `Nats-Msg-Id` for de-duplication. */
  id: string;
  /** Equal to the subject, e.g. `products.product.back_in_stock`. */
  type: S;
  /** RFC 3339 UTC. */
  occurredAt: string;
  /** The publishing service. */
  source: string;
  /** The id of the aggregate the event is about (user id, product id). */
  subject: string;
  data: EventPayloads[S];
}

/** A JetStream stream: the events one service publishes. */
export interface StreamDeclaration {
  /** Stream name, upper-case service name. */
  name: string;
  /** Exactly the subjects the service publishes (never a wildcard that could capture queries). */
  subjects: EventSubject[];
}

/** The JetStream streams, one per publishing service. */
export const STREAMS = {
  users: { name: "USERS", subjects: ["users.user.registered"] },
  products: {
    name: "PRODUCTS",
    subjects: [
      "products.product.created",
      "products.product.updated",
      "products.product.deleted",
      "products.stock.changed",
      "products.product.back_in_stock",
    ],
  },
} as const satisfies Record<string, StreamDeclaration>;
