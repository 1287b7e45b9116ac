/**
 * NATS JetStream events, as declared in `contracts/events.yaml` (AsyncAPI 3.0): the payload
 * types, streams and consumers generated from it (`contracts/generated/events.ts`), the envelope
 * every event travels in, and its validation against the generated JSON Schemas
 * (`contracts/generated/events.schemas.json`). Subjects follow `<service>.<entity>.<event>` in
 * the past tense; each publishing service has one stream named after it.
 */
import {
  CONSUMERS as DECLARED_CONSUMERS,
  STREAMS as DECLARED_STREAMS,
  type EventPayloads,
  type EventSubject,
} from "../generated/events.js";

export type {
  DeadLetter,
  EventPayloads,
  EventSubject,
  ProductBackInStockData,
  ProductCreatedData,
  ProductDeletedData,
  ProductSnapshot,
  ProductUpdatedData,
  StockChangedData,
  UserRegisteredData,
} from "../generated/events.js";
export {
  assertValidEvent,
  type EventValidation,
  type EventValidationError,
  InvalidEventError,
  isEventSubject,
  validateEvent,
} from "./event-validation.js";

/**
 * The envelope every event travels in (JSON body of the NATS message). The request id and W3C
 * `traceparent` travel in NATS headers (`X-Request-Id`, `traceparent`), not in the body, and
 * `Nats-Msg-Id` carries the envelope `id`.
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

/** A subject a stream holds: an event subject, or the dead-letter stream's `deadletter.>`. */
export type StreamSubject = EventSubject | (typeof DECLARED_STREAMS.deadletter.subjects)[number];

/** A JetStream stream: the events one service publishes (or the dead letters). */
export interface StreamDeclaration {
  /** Stream name, upper-case service name (`DEADLETTER` for dead letters). */
  name: string;
  /** Exactly the subjects the stream holds (never a wildcard that could capture queries). */
  subjects: readonly StreamSubject[];
}

/**
 * The JetStream streams: `users` (`USERS`), `products` (`PRODUCTS`) and `deadletter`
 * (`DEADLETTER`, subjects `deadletter.>`: every consumer may dead-letter a message there).
 */
export const STREAMS = DECLARED_STREAMS satisfies Record<string, StreamDeclaration>;

/** A durable JetStream consumer of one event subject. */
export interface ConsumerDeclaration {
  /** Durable consumer name, `<consumer-service>-<purpose>`; shared by the service's instances. */
  durable: string;
  /** The stream it reads (a `STREAMS` entry's name). */
  stream: string;
  /** The one event subject it receives. */
  subject: EventSubject;
  /** The consuming service. */
  service: string;
}

/** The durable consumers, by durable name (e.g. `notifications-back-in-stock`). */
export const CONSUMERS = DECLARED_CONSUMERS satisfies Record<string, ConsumerDeclaration>;
