/**
 * Products service entry point — wiring only: config → database (migrated) → app → listen, with
 * NATS attached in the background (stream, queries, outbox relay) so that the service serves
 * HTTP, and accepts writes, while NATS is unreachable. On shutdown: HTTP first, then the relay,
 * the query service, NATS (drained) and the database pool.
 */
import {
  connectNatsInBackground,
  createApiKeyVerifier,
  createDatabase,
  createLogger,
  createTokenVerifier,
  ensureStream,
  listen,
  migrateToLatest,
  type OutboxRelay,
  startOutboxRelay,
  startTelemetry,
} from "@portico/kit";
import { createService } from "./app.js";
import { readConfig } from "./config.js";
import { consumeReviewScores } from "./consumers.js";
import { createProductEvents, PRODUCTS_STREAM } from "./events.js";
import { serveProductQueries } from "./queries.js";
import { migrations } from "./store/migrations/index.js";
import type { Database } from "./store/schema.js";

const config = readConfig();
// Spans are exported only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
const telemetry = await startTelemetry({ serviceName: "products" });
const logger = createLogger("products", config.LOG_LEVEL);

try {
  const db = createDatabase<Database>(config.DATABASE_URL);
  const applied = await migrateToLatest(db, migrations);
  logger.info({ applied }, "database migrated");

  let relay: OutboxRelay | undefined;
  const nats = connectNatsInBackground({
    url: config.NATS_URL,
    name: "products",
    log: logger,
    attach: async (nc, defer) => {
      await ensureStream(nc, PRODUCTS_STREAM);
      defer((await serveProductQueries(nc, db, logger)).stop);
      const started = startOutboxRelay({ db, nc, log: logger });
      relay = started;
      defer(async () => {
        relay = undefined;
        await started.stop();
      });
      // Stores the ML service's review scores and each product's average sentiment.
      const scores = await consumeReviewScores(nc, {
        db,
        events: createProductEvents(() => relay?.kick()),
        log: logger.child({ component: "review-scores" }),
      });
      defer(scores.stop);
    },
  });

  const app = createService({
    db,
    events: createProductEvents(() => relay?.kick()),
    verifyToken: createTokenVerifier({
      jwks: config.JWKS_URL,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
    }),
    // Asks the users service over NATS (cached for seconds); 503 while NATS is not connected.
    verifyApiKey: createApiKeyVerifier(() => nats.current(), {
      onUnavailable: (err) => logger.warn({ err }, "API key could not be verified"),
    }),
    logger,
    validateResponses: config.NODE_ENV !== "production",
  });
  await listen(app, {
    port: config.PORT,
    host: config.HOST,
    log: logger,
    onClose: [nats.close, () => db.destroy(), telemetry.shutdown],
  });
} catch (err) {
  logger.fatal({ err }, "products service failed to start");
  process.exit(1);
}
