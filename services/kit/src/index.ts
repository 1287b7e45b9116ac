/**
 * @portico/kit — the shared runtime of Portico's TypeScript services: an Express app built from a
 * contract and handlers keyed by operationId, config, logging, PostgreSQL, NATS, auth, health.
 * `@portico/kit/core` is the same without the PostgreSQL side.
 */
export * from "./core.js";
export * from "./db.js";
export * from "./idempotency.js";
export * from "./jobs.js";
export * from "./outbox.js";
export * from "./prepared-query.js";
