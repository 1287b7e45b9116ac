/**
 * @portico/kit — the shared runtime of Portico's TypeScript services: an Express app built from a
 * contract and handlers keyed by operationId, config, logging, PostgreSQL, NATS, auth, health.
 */
export * from "./app.js";
export * from "./auth.js";
export * from "./config.js";
export * from "./consumer.js";
export * from "./db.js";
export * from "./dead-letter.js";
export * from "./handlers.js";
export * from "./idempotency.js";
export * from "./jobs.js";
export * from "./logger.js";
export * from "./metrics.js";
export * from "./nats.js";
export * from "./nats-background.js";
export * from "./outbox.js";
export * from "./pagination.js";
export * from "./problem.js";
export * from "./server.js";
export * from "./telemetry.js";
