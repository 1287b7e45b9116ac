/**
 * Runs the real products service for an integration test file: a fresh database on the server
 * at DATABASE_URL (migrated), the NATS server at NATS_URL (stream ensured), the outbox relay and
 * the real app on an ephemeral port. Both URLs come from jest's globalSetup. The NATS queries are
 * not served here: see {@link serveQueriesBriefly}.
 */
import { setTimeout as delay } from "node:timers/promises";
import {
  connectNats,
  createDatabase,
  createLogger,
  ensureStream,
  listen,
  migrateToLatest,
  type NatsConnection,
  outboxBacklog,
  startOutboxRelay,
} from "@portico/kit";
import { createDatabase as createTestDatabase } from "@portico/scripts/testing/provision";
import type { Kysely } from "kysely";
import { createService } from "../../src/app.js";
import { createProductEvents, PRODUCTS_STREAM } from "../../src/events.js";
import { serveProductQueries } from "../../src/queries.js";
import { migrations } from "../../src/store/migrations/index.js";
import type { Database } from "../../src/store/schema.js";
import { createTestAuth, type TestAuth } from "./auth.js";

/** A running products service and handles on what it runs on. */
export interface RunningProducts {
  /** e.g. `http://127.0.0.1:40123`. */
  baseUrl: string;
  /** The service's own database, for asserting what was (not) written. */
  db: Kysely<Database>;
  /** The service's NATS connection (also usable by the test). */
  nc: NatsConnection;
  auth: TestAuth;
  /**
   * Serves the NATS queries only while `run` runs. Every test file shares one NATS server and
   * the service answers every id (null when unknown) from a queue group, so serving all along
   * would answer other files' queries (e.g. the notifications tests' stand-in's) too.
   */
  serveQueriesBriefly(run: () => Promise<void>): Promise<void>;
  /**
   * Resolves once the outbox holds nothing pending: every committed event is on the stream.
   * @throws Error after 5 s.
   */
  eventsPublished(): Promise<void>;
  /** Stops the server, the relay, NATS and the pool. */
  stop(): Promise<void>;
}

/**
 * Starts the service.
 * @throws Error when NATS_URL or DATABASE_URL is not set.
 */
export async function startProducts(): Promise<RunningProducts> {
  const natsUrl = process.env.NATS_URL;
  if (!natsUrl) throw new Error("NATS_URL is not set: run the tests through jest");
  const logger = createLogger("products", process.env.TEST_LOG_LEVEL ?? "silent");
  const db = createDatabase<Database>(await createTestDatabase("products"));
  await migrateToLatest(db, migrations);
  const nc = await connectNats(natsUrl, "products-test", logger);
  await ensureStream(nc, PRODUCTS_STREAM);
  const relay = startOutboxRelay({ db, nc, log: logger });
  const auth = await createTestAuth();
  const app = createService({
    db,
    events: createProductEvents(() => relay.kick()),
    verifyToken: auth.verifyToken,
    logger,
    validateResponses: true,
  });
  const server = await listen(app, {
    port: 0,
    host: "127.0.0.1",
    log: logger,
    exitOnSignal: false,
    onClose: [relay.stop, () => nc.drain(), () => db.destroy()],
  });
  return {
    serveQueriesBriefly: async (run) => {
      const queries = await serveProductQueries(nc, db, logger);
      try {
        await run();
      } finally {
        await queries.stop();
      }
    },
    eventsPublished: async () => {
      const deadline = Date.now() + 5_000;
      while ((await outboxBacklog(db)).pending > 0) {
        if (Date.now() > deadline) throw new Error("the outbox did not drain within 5 s");
        await delay(20);
      }
    },
    baseUrl: `http://127.0.0.1:${server.port}`,
    db,
    nc,
    auth,
    stop: server.close,
  };
}
