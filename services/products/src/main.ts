/**
 * Products service entry point — wiring only: config → database (migrated) → app → listen, with
 * NATS attached in the background (stream, queries, outbox relay) so that the service serves
 * HTTP, and accepts writes, while NATS is unreachable. On shutdown: HTTP first, then the relay,
 * the query service, NATS (drained) and the database pool.
 */
import {
  connectNatsInBackground,
  createDatabase,
  createLogger,
  createTokenVerifier,
  ensureStream,
  listen,
  loadConfig,
  migrateToLatest,
  type OutboxRelay,
  startOutboxRelay,
} from "@portico/kit";
import { createProductsApp } from "./app.js";
import { productsConfigShape } from "./config.js";
import { createProductEvents, PRODUCTS_STREAM } from "./events.js";
import { serveProductQueries } from "./queries.js";
import { migrations } from "./store/migrations/index.js";
import type { Database } from "./store/schema.js";

const config = loadConfig(productsConfigShape);
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
    },
  });

  const app = createProductsApp({
    db,
    events: createProductEvents(() => relay?.kick()),
    verifyToken: createTokenVerifier({
      jwks: config.JWKS_URL,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
    }),
    logger,
    validateResponses: config.NODE_ENV !== "production",
  });
  await listen(app, {
    port: config.PORT,
    host: config.HOST,
    log: logger,
    onClose: [nats.close, () => db.destroy()],
  });
} catch (err) {
  logger.fatal({ err }, "products service failed to start");
  process.exit(1);
}
