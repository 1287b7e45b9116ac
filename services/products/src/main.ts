/**
 * Products service entry point — wiring only: config → database (migrated) → NATS (stream,
 * queries) → app → listen. On shutdown: HTTP first, then the query service, NATS (drained) and
 * the database pool.
 */
import {
  connectNats,
  createDatabase,
  createLogger,
  createTokenVerifier,
  ensureStream,
  listen,
  loadConfig,
  migrateToLatest,
} from "@portico/kit";
import { createProductsApp } from "./app.js";
import { productsConfigShape } from "./config.js";
import { PRODUCTS_STREAM } from "./events.js";
import { serveProductQueries } from "./queries.js";
import { migrations } from "./store/migrations/index.js";
import type { Database } from "./store/schema.js";

const config = loadConfig(productsConfigShape);
const logger = createLogger("products", config.LOG_LEVEL);

try {
  const db = createDatabase<Database>(config.DATABASE_URL);
  const applied = await migrateToLatest(db, migrations);
  logger.info({ applied }, "database migrated");

  const nc = await connectNats(config.NATS_URL, "products", logger);
  await ensureStream(nc, PRODUCTS_STREAM);
  const queries = await serveProductQueries(nc, db, logger);

  const app = createProductsApp({
    db,
    nc,
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
    onClose: [queries.stop, () => nc.drain(), () => db.destroy()],
  });
} catch (err) {
  logger.fatal({ err }, "products service failed to start");
  process.exit(1);
}
