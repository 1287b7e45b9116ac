/**
 * @portico/kit — the shared runtime of Portico's TypeScript services: an Express app built from a
 * contract and handlers keyed by operationId, config, logging, PostgreSQL, NATS, auth, health.
 */
export * from "./app.js";
export * from "./auth.js";
export * from "./config.js";
export * from "./db.js";
export * from "./handlers.js";
export * from "./logger.js";
export * from "./nats.js";
export * from "./pagination.js";
export * from "./problem.js";
export * from "./server.js";
