/**
 * The transactional outbox against real PostgreSQL (a fresh database on DATABASE_URL) and a real
 * nats-server of this file's own: the relay publishes real event subjects (the contracts' typed
 * ones), which on the shared server would reach other test files' streams and consumers, and one
 * test kills and restarts NATS.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { type EventEnvelope, STREAMS } from "@portico/contracts";
import { type NatsServer, startNats } from "@portico/scripts/infra/nats";
import { getFreePort } from "@portico/scripts/infra/ports";
import { createDatabase as createTestDatabase } from "@portico/scripts/testing/provision";
import { type Kysely, sql, type Transaction } from "kysely";
import { pino } from "pino";
import { v7 as uuidv7 } from "uuid";
import { createDatabase, migrateToLatest } from "../../src/db.js";
import { createLogger, type Logger } from "../../src/logger.js";
import { connectNats, ensureStream, type NatsConnection } from "../../src/nats.js";
import {
  enqueueEvent,
  type OutboxDatabase,
  type OutboxRelay,
  outboxBacklog,
  outboxMigration,
  pruneOutbox,
  startOutboxRelay,
} from "../../src/outbox.js";
import { waitFor } from "../support/wait.js";

const STREAM = STREAMS.products.name;
const silent = createLogger("outbox-test", process.env.TEST_LOG_LEVEL ?? "silent");

let storeDir: string;
let natsPort: number;
let natsServer: NatsServer;
let nc: NatsConnection;
let db: Kysely<OutboxDatabase>;
const relays: OutboxRelay[] = [];

/** Starts (or restarts, on the same port and store) this file's nats-server. */
async function startOwnNats(): Promise<NatsServer> {
  return startNats({ storeDir, port: natsPort });
}

/** Kills nats-server without letting it shut down (SIGKILL) and waits for it to be gone. */
async function killNats(server: NatsServer): Promise<void> {
  if (server.pid !== undefined) process.kill(server.pid, "SIGKILL");
  await server.stop();
}

function relay(
  options: { batchSize?: number; log?: Logger; connection?: NatsConnection } = {},
): OutboxRelay {
  const started = startOutboxRelay({
    db,
    nc: options.connection ?? nc,
    log: options.log ?? silent,
    idleMs: 200,
    retryBaseMs: 50,
    retryMaxMs: 500,
    publishTimeoutMs: 1_000,
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
  });
  relays.push(started);
  return started;
}

/** Writes a `products.stock.changed` event of `productId` in its own committed transaction. */
async function stockChanged(
  productId: string,
  current: number,
  context: { requestId?: string; traceparent?: string } = {},
): Promise<EventEnvelope<"products.stock.changed">> {
  return db.transaction().execute((trx) =>
    enqueueEvent(trx, {
      source: "products",
      subject: "products.stock.changed",
      aggregateId: productId,
      data: { productId, previous: Math.max(0, current - 1), current },
      ...context,
    }),
  );
}

/** A message read back from the stream. */
interface StreamMessage {
  msgId: string | undefined;
  headers: Record<string, string>;
  envelope: EventEnvelope<"products.stock.changed">;
}

/** Every message in the stream, in stream order (ordered consumer from the first sequence). */
async function readStream(): Promise<StreamMessage[]> {
  const info = await (await jetstreamManager(nc)).streams.info(STREAM);
  if (info.state.messages === 0) return [];
  const consumer = await jetstream(nc).consumers.get(STREAM, {
    deliver_policy: DeliverPolicy.All,
  });
  const messages = await consumer.consume();
  const timer = setTimeout(() => messages.stop(new Error(`timed out reading ${STREAM}`)), 10_000);
  const read: StreamMessage[] = [];
  try {
    for await (const msg of messages) {
      const headers: Record<string, string> = {};
      for (const name of msg.headers?.keys() ?? []) headers[name] = msg.headers?.get(name) ?? "";
      read.push({
        msgId: msg.headers?.get("Nats-Msg-Id") || undefined,
        headers,
        envelope: msg.json(),
      });
      if (msg.seq >= info.state.last_seq) break;
    }
  } finally {
    clearTimeout(timer);
    await messages.close();
  }
  return read;
}

async function pending(): Promise<number> {
  return (await outboxBacklog(db)).pending;
}

beforeAll(async () => {
  storeDir = await mkdtemp(join(tmpdir(), "portico-outbox-nats-"));
  natsPort = await getFreePort();
  natsServer = await startOwnNats();
  nc = await connectNats(natsServer.url, "outbox-test", silent);
  await ensureStream(nc, STREAMS.products);
  db = createDatabase<OutboxDatabase>(await createTestDatabase("kit_outbox"));
  await migrateToLatest(db, { "001_create_outbox": outboxMigration });
}, 30_000);

afterEach(async () => {
  for (const started of relays.splice(0)) await started.stop();
  await sql`delete from outbox`.execute(db);
  await (await jetstreamManager(nc)).streams.purge(STREAM);
});

afterAll(async () => {
  await nc?.close();
  await db?.destroy();
  await natsServer?.stop();
  if (storeDir) await rm(storeDir, { recursive: true, force: true });
});

describe("enqueueEvent", () => {
  it("writes the envelope and headers inside the caller's transaction", async () => {
    const productId = uuidv7();
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const envelope = await stockChanged(productId, 3, { requestId: "req-1", traceparent });

    expect(envelope).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-/),
      type: "products.stock.changed",
      occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      source: "products",
      subject: productId,
      data: { productId, previous: 2, current: 3 },
    });
    const row = await db.selectFrom("outbox").selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      id: envelope.id,
      aggregate_id: productId,
      subject: "products.stock.changed",
      envelope,
      headers: { "X-Request-Id": "req-1", traceparent },
      published_at: null,
      attempts: 0,
      last_error: null,
    });
  });

  it("writes nothing when the transaction rolls back, and refuses to run outside one", async () => {
    const productId = uuidv7();
    await expect(
      db.transaction().execute(async (trx) => {
        await enqueueEvent(trx, {
          source: "products",
          subject: "products.product.deleted",
          aggregateId: productId,
          data: { productId },
        });
        throw new Error("the change failed");
      }),
    ).rejects.toThrow("the change failed");
    await expect(
      // The type demands a Transaction; a caller that casts one in is stopped at run time.
      enqueueEvent(db as Transaction<OutboxDatabase>, {
        source: "products",
        subject: "products.product.deleted",
        aggregateId: productId,
        data: { productId },
      }),
    ).rejects.toThrow("inside the transaction");
    expect(await pending()).toBe(0);
  });

  it("makes a second writer of the aggregate wait for the first's commit (seq = commit order)", async () => {
    const productId = uuidv7();
    let commitFirst: () => void = () => undefined;
    const firstMayCommit = new Promise<void>((resolve) => {
      commitFirst = resolve;
    });
    let firstWritten: () => void = () => undefined;
    const firstIsWritten = new Promise<void>((resolve) => {
      firstWritten = resolve;
    });
    const writeLevel = (trx: Transaction<OutboxDatabase>, current: number) =>
      enqueueEvent(trx, {
        source: "products",
        subject: "products.stock.changed",
        aggregateId: productId,
        data: { productId, previous: current - 1, current },
      });
    const first = db.transaction().execute(async (trx) => {
      const envelope = await writeLevel(trx, 1);
      firstWritten();
      await firstMayCommit;
      return envelope;
    });
    await firstIsWritten;
    const second = db.transaction().execute((trx) => writeLevel(trx, 2));
    await waitFor("the second writer to wait for the aggregate's advisory lock", async () => {
      const { rows } = await sql<{ waiting: number }>`select count(*)::int as waiting from pg_locks
        where locktype = 'advisory' and not granted
          and database = (select oid from pg_database where datname = current_database())`.execute(
        db,
      );
      return rows[0]?.waiting === 1;
    });
    expect(await pending()).toBe(0);
    commitFirst();
    const [a, b] = await Promise.all([first, second]);
    const rows = await db
      .selectFrom("outbox")
      .select("id")
      .where("aggregate_id", "=", productId)
      .orderBy("seq")
      .execute();
    expect(rows.map((row) => row.id)).toEqual([a.id, b.id]);
  });

  it("never writes an event that breaks its contract, and fails the transaction", async () => {
    const productId = uuidv7();
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`select 1`.execute(trx);
        await enqueueEvent(trx, {
          source: "products",
          subject: "products.stock.changed",
          aggregateId: productId,
          data: { productId, previous: 1 } as never,
        });
      }),
    ).rejects.toThrow("invalid products.stock.changed event: /data/current");
    expect(await pending()).toBe(0);
  });
});

describe("startOutboxRelay", () => {
  it("publishes with Nats-Msg-Id = event id and the stored headers, once", async () => {
    const productId = uuidv7();
    const first = await stockChanged(productId, 1, { requestId: "req-a" });
    const second = await stockChanged(productId, 2);
    const started = relay();
    await waitFor("the outbox to drain", async () => (await pending()) === 0);

    let messages = await readStream();
    expect(messages.map((m) => m.msgId)).toEqual([first.id, second.id]);
    expect(messages.map((m) => m.envelope)).toEqual([first, second]);
    expect(messages[0]?.headers["X-Request-Id"]).toBe("req-a");
    expect(messages[1]?.headers["X-Request-Id"]).toBeUndefined();
    const rows = await db.selectFrom("outbox").select(["id", "published_at"]).execute();
    expect(rows.every((row) => row.published_at instanceof Date)).toBe(true);

    // Another run, and another relay, find nothing left to publish.
    started.kick();
    relay().kick();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await readStream()).toHaveLength(2);

    // A re-publish (as after a crash between publish and commit) is dropped by JetStream.
    await sql`update outbox set published_at = null`.execute(db);
    started.kick();
    await waitFor("the outbox to drain again", async () => (await pending()) === 0);
    messages = await readStream();
    expect(messages.map((m) => m.msgId)).toEqual([first.id, second.id]);
  });

  it("publishes other aggregates past a failed publish, and nothing of that aggregate after it", async () => {
    const stuck = uuidv7();
    const other = uuidv7();
    // A row no stream captures: JetStream has no responder for its subject, so its publish fails.
    await sql`insert into outbox (id, aggregate_id, subject, envelope)
      values (${uuidv7()}, ${stuck}, 'unstreamed.subject', '{}'::jsonb)`.execute(db);
    const after = await stockChanged(stuck, 1);
    const published = await stockChanged(other, 1);
    relay();
    await waitFor("the failed attempt to be counted", async () => {
      const row = await db
        .selectFrom("outbox")
        .select(["attempts", "last_error"])
        .where("subject", "=", "unstreamed.subject")
        .executeTakeFirst();
      return (row?.attempts ?? 0) > 0 && row?.last_error !== null;
    });
    await waitFor("the other aggregate's event to be published", async () =>
      (await readStream()).some((m) => m.msgId === published.id),
    );
    expect((await readStream()).map((m) => m.msgId)).not.toContain(after.id);
    const waiting = await db
      .selectFrom("outbox")
      .select("id")
      .where("published_at", "is", null)
      .where("aggregate_id", "=", stuck)
      .execute();
    expect(waiting).toHaveLength(2);
  });

  it("with two relays publishes 20 aggregates × 10 events exactly once, in order per aggregate", async () => {
    const aggregates = Array.from({ length: 20 }, () => uuidv7());
    // Each relay on a connection of its own, as in two service instances.
    const [ncA, ncB] = await Promise.all(
      ["a", "b"].map((name) => connectNats(natsServer.url, `outbox-relay-${name}`, silent)),
    );
    const relayA = relay({ batchSize: 7, connection: ncA });
    const relayB = relay({ batchSize: 5, connection: ncB });
    // Writers run concurrently per aggregate while both relays are kicked after every commit.
    const enqueued = await Promise.all(
      aggregates.map(async (productId) => {
        const ids: string[] = [];
        for (let level = 1; level <= 10; level += 1) {
          ids.push((await stockChanged(productId, level)).id);
          (level % 2 === 0 ? relayA : relayB).kick();
        }
        return ids;
      }),
    );
    await waitFor("the outbox to drain", async () => (await pending()) === 0, 20_000);

    const messages = await readStream();
    const ids = messages.map((m) => m.envelope.id);
    expect(ids).toHaveLength(200);
    expect(new Set(ids).size).toBe(200);
    expect(new Set(ids)).toEqual(new Set(enqueued.flat()));
    for (const productId of aggregates) {
      const levels = messages
        .filter((m) => m.envelope.subject === productId)
        .map((m) => m.envelope.data.current);
      expect(levels).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }
    // Both took part: each published over its own connection.
    const published = [ncA, ncB].map((c) => c?.stats().outMsgs ?? 0);
    expect(published.every((n) => n > 0)).toBe(true);
    expect(published.reduce((a, b) => a + b)).toBeGreaterThanOrEqual(200);
    for (const started of relays.splice(0)) await started.stop();
    await Promise.all([ncA, ncB].map((c) => c?.close()));
  }, 30_000);

  it("keeps events pending while NATS is down and publishes them in order when it returns", async () => {
    const lines: { level: number; msg: string; pending?: number }[] = [];
    const log = pino({ level: "debug" }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const started = relay({ log });
    const productId = uuidv7();
    const before = await stockChanged(productId, 1);
    await waitFor("the first event to go out", async () => (await pending()) === 0);

    await killNats(natsServer);
    const during = [];
    for (let level = 2; level <= 6; level += 1) {
      during.push(await stockChanged(productId, level));
      started.kick();
    }
    await waitFor("the relay to notice the outage", async () => (await started.status()).failing);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // several back-off rounds
    expect(await started.status()).toMatchObject({ pending: 5, failing: true });

    natsServer = await startOwnNats();
    await waitFor("the backlog to go out", async () => (await pending()) === 0, 20_000);
    expect((await started.status()).failing).toBe(false);

    const messages = await readStream();
    expect(messages.map((m) => m.envelope.id)).toEqual([before, ...during].map((e) => e.id));
    const warnings = lines.filter((l) => l.msg.startsWith("outbox relay cannot publish"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.pending).toBeGreaterThanOrEqual(1);
    expect(lines.filter((l) => l.msg === "outbox relay publishing again")).toHaveLength(1);
  }, 60_000);
});

describe("pruneOutbox", () => {
  it("deletes the rows published before the retention, never a pending or a recent one", async () => {
    const productId = uuidv7();
    const events = [];
    for (let level = 1; level <= 5; level += 1) events.push(await stockChanged(productId, level));
    const [old1, old2, recent] = events.map((event) => event.id);
    const hourAgo = new Date(Date.now() - 3_600_000);
    await db
      .updateTable("outbox")
      .set({ published_at: hourAgo })
      .where("id", "in", [old1 as string, old2 as string])
      .execute();
    await db
      .updateTable("outbox")
      .set({ published_at: new Date() })
      .where("id", "=", recent as string)
      .execute();

    // Chunks of one: the loop runs until a statement deletes less than a chunk.
    expect(await pruneOutbox(db, 60_000, 1)).toBe(2);
    const left = await db.selectFrom("outbox").select("id").orderBy("seq").execute();
    expect(left.map((row) => row.id)).toEqual(events.slice(2).map((event) => event.id));
    expect(await pending()).toBe(2);
    expect(await pruneOutbox(db, 60_000)).toBe(0);
  });
});

describe("JetStream de-duplication the relay relies on", () => {
  it("drops a message whose Nats-Msg-Id it has already stored", async () => {
    const js = jetstream(nc);
    const id = uuidv7();
    const body = JSON.stringify({ id });
    const h = natsHeaders();
    const first = await js.publish("products.product.deleted", body, { msgID: id, headers: h });
    const again = await js.publish("products.product.deleted", body, { msgID: id, headers: h });
    expect(first.duplicate).toBe(false);
    expect(again).toMatchObject({ duplicate: true, seq: first.seq });
  });
});
