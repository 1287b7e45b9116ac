/**
 * Fault scenario d: the same message delivered twice (forced redelivery) produces one effect.
 *
 * Two ways to force it, on a nats-server and a database of this file's own:
 * 1. In this process: a handler applies each back_in_stock event (notifications + outbox emails,
 *    committed) and then fails before the ack on the first delivery; JetStream redelivers every
 *    event after the back-off.
 * 2. In a separate process (fixtures/crashing-consumer.ts, the service's consumer): it SIGKILLs
 *    itself right after an effect committed, before the ack; restarted, it gets the message again
 *    once the ack wait has passed.
 * Every event and subscriber must end with exactly one notification and one outbox email.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { jetstreamManager } from "@nats-io/jetstream";
import { type EventEnvelope, STREAMS } from "@portico/contracts";
import {
  connectNats,
  consumeEvents,
  createEventPublisher,
  createLogger,
  ensureStream,
  type NatsConnection,
} from "@portico/kit";
import { type NatsServer, startNats } from "@portico/scripts/infra/nats";
import type { ManagedProcess } from "@portico/scripts/infra/process";
import { recordScenario } from "@portico/scripts/reliability/record";
import { sql } from "kysely";
import { v7 as uuidv7 } from "uuid";
import {
  BACK_IN_STOCK_DURABLE,
  BACK_IN_STOCK_SUBJECT,
  handleBackInStock,
} from "../../src/consumers.js";
import { natsLookups } from "../../src/queries.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { spawnEntry } from "../support/process.js";
import { type StandIn, standInUsers } from "../support/stand-ins.js";
import { waitFor } from "../support/wait.js";

const IN_PROCESS_EVENTS = 30;
const CRASH_EVENTS = 10;
const SUBSCRIBERS_PER_PRODUCT = 2;
const log = createLogger("notifications-fault-d", "silent");

let workDir: string;
let natsServer: NatsServer;
let nc: NatsConnection;
let database: TestDatabase;
let usersStandIn: StandIn;
const contacts = new Map<string, { id: string; email: string; name: string }>();
const children: ManagedProcess[] = [];

type Outcome = Awaited<ReturnType<typeof effectsOf>> & { events: number; redelivered: number };
let inProcess: Outcome | undefined;
let crashed: Outcome | undefined;

/** Records scenario d with what has run so far (before the assertions). */
async function record(): Promise<void> {
  const parts = [inProcess, crashed].filter((p): p is Outcome => p !== undefined);
  await recordScenario({
    id: "d",
    scenario: "the same message delivered twice (forced redelivery) produces one effect",
    sent: parts.reduce((n, p) => n + p.events, 0),
    effects: parts.reduce((n, p) => n + p.notifications + p.emails, 0),
    lost: parts.reduce((n, p) => n + p.lost, 0),
    duplicated: parts.reduce((n, p) => n + p.duplicated, 0),
    notes:
      `${inProcess?.events ?? 0} events whose first delivery failed after its commit ` +
      `(${inProcess?.redelivered ?? 0} redelivered), ${crashed?.events ?? 0} events with the ` +
      `consumer process SIGKILLed after a commit, before the ack (${crashed?.redelivered ?? 0} ` +
      "redelivered); 2 subscribers each: effects = notifications + outbox emails.",
  });
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "notifications-fault-d-"));
  natsServer = await startNats({ storeDir: join(workDir, "nats") });
  nc = await connectNats(natsServer.url, "notifications-fault-d", log);
  await ensureStream(nc, STREAMS.products);
  database = await createTestDatabase("notifications_fault_d");
  usersStandIn = await standInUsers(nc, contacts);
}, 30_000);

afterAll(async () => {
  await Promise.all(children.map((child) => child.stop(5_000)));
  await usersStandIn?.stop();
  await nc?.drain();
  await natsServer?.stop();
  await database?.drop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
}, 30_000);

/** Publishes `count` back_in_stock events, each of a new product with two subscribers. */
async function publishEvents(
  count: number,
): Promise<EventEnvelope<typeof BACK_IN_STOCK_SUBJECT>[]> {
  const publisher = createEventPublisher(nc, "products");
  const events: EventEnvelope<typeof BACK_IN_STOCK_SUBJECT>[] = [];
  for (let i = 0; i < count; i++) {
    const productId = uuidv7();
    for (let s = 0; s < SUBSCRIBERS_PER_PRODUCT; s++) {
      const userId = randomUUID();
      contacts.set(userId, { id: userId, email: `${userId.slice(0, 8)}@example.com`, name: "D" });
      await database.db
        .insertInto("subscriptions")
        .values({ id: uuidv7(), user_id: userId, product_id: productId })
        .execute();
    }
    events.push(
      await publisher.publish(BACK_IN_STOCK_SUBJECT, productId, {
        productId,
        name: `Item ${i}`,
        stock: 1,
      }),
    );
  }
  return events;
}

/** Notifications and outbox emails per (event, user) of the given events. */
async function effectsOf(eventIds: string[]) {
  const { rows } = await sql<{
    event_id: string;
    user_id: string;
    notifications: number;
    emails: number;
  }>`
    select n.event_id, n.user_id, count(distinct n.id)::int as notifications,
           count(e.id)::int as emails
    from notifications n left join email_outbox e on e.notification_id = n.id
    where n.event_id = any(${eventIds}::uuid[])
    group by n.event_id, n.user_id`.execute(database.db);
  const expected = eventIds.length * SUBSCRIBERS_PER_PRODUCT;
  const notifications = rows.reduce((n, r) => n + r.notifications, 0);
  const emails = rows.reduce((n, r) => n + r.emails, 0);
  const duplicated = rows.reduce(
    (n, r) => n + Math.max(0, r.notifications - 1) + Math.max(0, r.emails - 1),
    0,
  );
  const missingEmails = rows.filter((r) => r.emails === 0).length;
  return {
    notifications,
    emails,
    lost: 2 * Math.max(0, expected - rows.length) + missingEmails,
    duplicated,
  };
}

/** The durable's state on this file's PRODUCTS stream. */
async function consumerInfo() {
  return (await jetstreamManager(nc)).consumers.info(STREAMS.products.name, BACK_IN_STOCK_DURABLE);
}

/** Resolves once the durable has nothing pending and nothing awaiting an ack. */
function settled(timeoutMs: number) {
  return waitFor(
    "the consumer to acknowledge every event",
    async () => {
      const info = await consumerInfo();
      return info.num_pending === 0 && info.num_ack_pending === 0 ? info : undefined;
    },
    timeoutMs,
  );
}

/** Starts the consumer fixture; resolves once it consumes. `onLine` gets its log lines. */
async function startFixture(
  crashAfterCommits: number,
  onLine: (line: string) => void = () => undefined,
): Promise<ManagedProcess> {
  let ready: () => void = () => undefined;
  const consuming = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const child = spawnEntry(
    "crashing-consumer",
    "services/notifications/test/fault/fixtures/crashing-consumer.ts",
    {
      DATABASE_URL: database.url,
      NATS_URL: natsServer.url,
      CRASH_AFTER_COMMITS: String(crashAfterCommits),
    },
    (line) => {
      if (line.includes('"msg":"consuming"')) ready();
      onLine(line);
    },
  );
  children.push(child);
  await Promise.race([
    consuming,
    child.exited.then((info) => {
      throw new Error(`the fixture exited before consuming: ${JSON.stringify(info)}`);
    }),
  ]);
  return child;
}

describe("fault d: a message delivered twice is applied once", () => {
  it("applies each event once when every first delivery fails after its commit", async () => {
    const events = await publishEvents(IN_PROCESS_EVENTS);
    const deliveries = new Map<string, number>();
    const deps = { db: database.db, lookups: natsLookups(nc), log };
    const consumer = await consumeEvents(nc, {
      stream: STREAMS.products.name,
      durable: BACK_IN_STOCK_DURABLE,
      subject: BACK_IN_STOCK_SUBJECT,
      log,
      backoffSeconds: [0.2],
      maxDeliver: 5,
      handle: async (event, { msg }) => {
        deliveries.set(event.id, (deliveries.get(event.id) ?? 0) + 1);
        await handleBackInStock(deps, event);
        if (msg.info.deliveryCount === 1)
          throw new Error("crashed after the commit, before the ack");
      },
    });
    try {
      await settled(30_000);
    } finally {
      await consumer.stop();
    }
    const effects = await effectsOf(events.map((e) => e.id));
    const redelivered = events.filter((e) => (deliveries.get(e.id) ?? 0) >= 2).length;
    inProcess = { events: events.length, redelivered, ...effects };
    await record();

    expect(redelivered).toBe(IN_PROCESS_EVENTS);
    expect(effects).toEqual({
      notifications: IN_PROCESS_EVENTS * SUBSCRIBERS_PER_PRODUCT,
      emails: IN_PROCESS_EVENTS * SUBSCRIBERS_PER_PRODUCT,
      lost: 0,
      duplicated: 0,
    });
  }, 60_000);

  it("applies the event once when the consumer process is killed after the commit, before the ack", async () => {
    const events = await publishEvents(CRASH_EVENTS);
    const ids = events.map((e) => e.id);
    const crashing = await startFixture(1);
    const exit = await crashing.exited;
    expect(exit.signal).toBe("SIGKILL");
    const committed = await database.db
      .selectFrom("processed_events")
      .select("event_id")
      .where("event_id", "in", ids)
      .execute();
    expect(committed).toHaveLength(1); // the killed delivery's effect is in the database…
    expect((await consumerInfo()).num_ack_pending).toBeGreaterThanOrEqual(1); // …but not acked

    // The restarted consumer gets the killed delivery again and finds it already applied.
    let redelivered = 0;
    await startFixture(0, (line) => {
      if (line.includes("back_in_stock already applied")) redelivered += 1;
    });
    await settled(30_000);
    // Its log line may trail the ack by a moment; a missing one fails the assertion below.
    await waitFor("the redelivery's log line", () => redelivered >= 1, 2_000).catch(() => false);
    const effects = await effectsOf(ids);
    crashed = { events: events.length, redelivered, ...effects };
    await record();

    expect(redelivered).toBeGreaterThanOrEqual(1);
    expect(effects).toEqual({
      notifications: CRASH_EVENTS * SUBSCRIBERS_PER_PRODUCT,
      emails: CRASH_EVENTS * SUBSCRIBERS_PER_PRODUCT,
      lost: 0,
      duplicated: 0,
    });
  }, 90_000);
});
