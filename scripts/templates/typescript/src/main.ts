/**
 * __name__ service entry point — wiring only: config → database (migrated) → app → listen, with
 * NATS attached in the background (stream, outbox relay) so that the service serves HTTP, and
 * accepts writes, while NATS is unreachable.
 */
import {
  connectNatsInBackground,
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
import { STREAM } from "./events.js";
import { migrations } from "./store/migrations/index.js";
import type { Database } from "./store/schema.js";

const config = readConfig();
const telemetry = await startTelemetry({ serviceName: "__name__" });
const logger = createLogger("__name__", config.LOG_LEVEL);

try {
  const db = createDatabase<Database>(config.DATABASE_URL);
  const applied = await migrateToLatest(db, migrations);
  logger.info({ applied }, "database migrated");

  let relay: OutboxRelay | undefined;
  const nats = connectNatsInBackground({
    url: config.NATS_URL,
    name: "__name__",
    log: logger,
    attach: async (nc, defer) => {
      await ensureStream(nc, STREAM);
      const started = startOutboxRelay({ db, nc, log: logger });
      relay = started;
      defer(async () => {
        relay = undefined;
        await started.stop();
      });
    },
  });

  const app = createService({
    db,
    committed: () => relay?.kick(),
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
    onClose: [nats.close, () => db.destroy(), telemetry.shutdown],
  });
} catch (err) {
  logger.fatal({ err }, "__name__ service failed to start");
  process.exit(1);
}
