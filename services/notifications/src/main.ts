/**
 * Wiring only: config → database (migrated) → NATS → event outbox relay → outbox sender →
 * back-in-stock consumer → scheduled jobs → HTTP app → listen. Shutdown closes them in reverse:
 * HTTP, consumer, jobs, sender, relay, NATS (drain), pool.
 */
import {
  connectNats,
  createDatabase,
  createLogger,
  createTokenVerifier,
  ensureStream,
  listen,
  migrateToLatest,
  pingDatabase,
  pingNats,
  startOutboxRelay,
  startTelemetry,
} from "@portico/kit";
import { createService } from "./app.js";
import { readConfig } from "./config.js";
import { BACK_IN_STOCK_DURABLE, backInStockReplayer, consumeBackInStock } from "./consumers.js";
import { natsDeadLetterStore } from "./dead-letters.js";
import { NOTIFICATIONS_STREAM } from "./events.js";
import { scheduleNotificationJobs } from "./jobs/index.js";
import { createOutboxSender } from "./mail/outbox-sender.js";
import { createSmtpTransport } from "./mail/transport.js";
import { natsLookups } from "./queries.js";
import { migrations } from "./store/migrations/index.js";
import type { NotificationsDatabase } from "./store/schema.js";

const config = readConfig();
// Spans are exported only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
const telemetry = await startTelemetry({ serviceName: "notifications" });
const log = createLogger("notifications", config.LOG_LEVEL);

const db = createDatabase<NotificationsDatabase>(config.DATABASE_URL);
const applied = await migrateToLatest(db, migrations);
if (applied.length > 0) log.info({ migrations: applied }, "migrations applied");

const nc = await connectNats(config.NATS_URL, "notifications", log);
const lookups = natsLookups(nc);

await ensureStream(nc, NOTIFICATIONS_STREAM);
const relay = startOutboxRelay({ db, nc, log: log.child({ component: "event-outbox" }) });

const sender = createOutboxSender({
  db,
  transport: createSmtpTransport(config.SMTP_URL),
  from: config.MAIL_FROM,
  log: log.child({ component: "outbox" }),
});
sender.start();

const backInStock = {
  db,
  lookups,
  log: log.child({ component: "back-in-stock" }),
  onEmailQueued: sender.kick,
  onNotificationsCreated: relay.kick,
};
const consumer = await consumeBackInStock(nc, backInStock, {
  maxDeliver: config.EVENT_MAX_DELIVER,
  backoffSeconds: config.EVENT_BACKOFF_SECONDS,
});
const deadLetters = {
  store: natsDeadLetterStore(nc, [BACK_IN_STOCK_DURABLE]),
  replayers: { [BACK_IN_STOCK_DURABLE]: backInStockReplayer(backInStock) },
};

const jobs = await scheduleNotificationJobs({
  nc,
  db,
  lookups,
  log: log.child({ component: "jobs" }),
  digestCron: config.DIGEST_CRON,
  digestTimeZone: config.DIGEST_TIMEZONE,
  emailRetryCron: config.EMAIL_RETRY_CRON,
  kickSender: sender.kick,
});

const app = createService({
  db,
  lookups,
  deadLetters,
  verifyToken: createTokenVerifier({
    jwks: config.JWKS_URL,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
  }),
  logger: log,
  validateResponses: config.NODE_ENV !== "production",
  readiness: { database: () => pingDatabase(db), nats: () => pingNats(nc) },
});

await listen(app, {
  port: config.PORT,
  host: config.HOST,
  log,
  onClose: [
    consumer.stop,
    jobs.stop,
    sender.stop,
    relay.stop,
    () => nc.drain(),
    () => db.destroy(),
    telemetry.shutdown,
  ],
});
