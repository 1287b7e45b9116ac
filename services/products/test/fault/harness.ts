/**
 * What the products fault scenarios share: the products service as a separate OS process (the
 * real `src/main.ts`), a JWKS server for its tokens, its own fresh database on jest's PostgreSQL,
 * and the delivery check that compares the outbox with the PRODUCTS stream of a nats-server the
 * scenario owns (so it may kill and restart it).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { EventEnvelope } from "@portico/contracts";
import { createDatabase, type Kysely } from "@portico/kit";
import { createTestIssuer } from "@portico/kit/testing";
import { getFreePort } from "@portico/scripts/infra/ports";
import {
  type ManagedProcess,
  spawnManaged,
  waitForProcessReady,
} from "@portico/scripts/infra/process";
import { repoRoot } from "@portico/scripts/paths";
import { createDatabase as createTestDatabase } from "@portico/scripts/testing/provision";
import pg from "pg";
import { PRODUCTS_STREAM } from "../../src/events.js";
import type { Database } from "../../src/store/schema.js";

/** A fresh products database: its URL, a pool on it, and how to drop it. */
export interface FaultDatabase {
  url: string;
  db: Kysely<Database>;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/** Creates an empty database (the service migrates it when it starts). */
export async function createFaultDatabase(prefix: string): Promise<FaultDatabase> {
  const url = await createTestDatabase(prefix);
  const db = createDatabase<Database>(url, 2);
  return {
    url,
    db,
    drop: async () => {
      await db.destroy();
      const name = new URL(url).pathname.slice(1);
      const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A JWKS server for the test issuer, and admin tokens it signs. */
export interface TestJwks {
  url: string;
  adminToken: string;
  close(): Promise<void>;
}

/** Serves a fresh test issuer's JWK Set on 127.0.0.1 (a tiny node:http server). */
export async function serveTestJwks(): Promise<TestJwks> {
  const issuer = await createTestIssuer();
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(issuer.jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
    adminToken: await issuer.tokenFor({ role: "admin", expiresIn: "1h" }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A running products process. */
export interface ProductsProcess {
  baseUrl: string;
  proc: ManagedProcess;
  /** Its log lines so far (pino JSON), parsed. */
  logs: { level: number; msg: string }[];
  /** Kills it with SIGKILL (no shutdown code runs) and waits until it is gone. */
  kill(): Promise<void>;
}

/**
 * Starts `services/products/src/main.ts` as its own process and waits until /readyz answers
 * 200 (which needs the database only, not NATS).
 */
export async function startProductsProcess(env: {
  databaseUrl: string;
  natsUrl: string;
  jwksUrl: string;
}): Promise<ProductsProcess> {
  const port = await getFreePort();
  const logs: { level: number; msg: string }[] = [];
  const { NODE_OPTIONS: _jestOnly, ...inherited } = process.env;
  const proc = spawnManaged({
    name: "products",
    command: process.execPath,
    args: ["--import", "tsx", "--conditions=portico-source", "services/products/src/main.ts"],
    cwd: repoRoot,
    env: {
      ...inherited,
      NODE_ENV: "test",
      HOST: "127.0.0.1",
      PORT: String(port),
      LOG_LEVEL: "info",
      DATABASE_URL: env.databaseUrl,
      NATS_URL: env.natsUrl,
      JWKS_URL: env.jwksUrl,
    },
    log: (_name, line) => {
      if (!line.startsWith("{")) return;
      try {
        logs.push(JSON.parse(line));
      } catch {
        // not a log line
      }
    },
    tailLines: 100,
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitForProcessReady(proc, `${baseUrl}/readyz`, 45_000);
  } catch (err) {
    await proc.stop(1_000);
    throw err;
  }
  return {
    baseUrl,
    proc,
    logs,
    kill: async () => {
      if (proc.pid !== undefined && !proc.exitInfo()) process.kill(-proc.pid, "SIGKILL");
      await proc.exited;
    },
  };
}

/** Sends a JSON request as an admin; resolves to the status and parsed body. */
export async function adminRequest(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  json?: unknown,
): Promise<{ status: number; body: { id?: string } | undefined }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(json === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** Waits until the outbox holds no pending row. @throws Error after `timeoutMs`. */
export async function waitForOutboxDrained(db: Kysely<Database>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { pending } = await db
      .selectFrom("outbox")
      .select((eb) => eb.fn.countAll<string>().as("pending"))
      .where("published_at", "is", null)
      .executeTakeFirstOrThrow();
    if (Number(pending) === 0) return;
    if (Date.now() > deadline) throw new Error(`${pending} events still pending in the outbox`);
    await delay(100);
  }
}

/** One message of the PRODUCTS stream. */
export interface StreamEvent {
  seq: number;
  msgId: string | undefined;
  envelope: EventEnvelope;
}

/** Every message of the PRODUCTS stream on the server at `natsUrl`, in stream order. */
export async function readProductsStream(natsUrl: string): Promise<StreamEvent[]> {
  const nc = await connect({ servers: natsUrl, name: "fault-reader" });
  try {
    const info = await (await jetstreamManager(nc)).streams.info(PRODUCTS_STREAM.name);
    if (info.state.messages === 0) return [];
    const consumer = await jetstream(nc).consumers.get(PRODUCTS_STREAM.name, {
      deliver_policy: DeliverPolicy.All,
    });
    const read: StreamEvent[] = [];
    const messages = await consumer.consume();
    const timer = setTimeout(() => messages.stop(new Error("timed out reading PRODUCTS")), 15_000);
    try {
      for await (const msg of messages) {
        read.push({
          seq: msg.seq,
          msgId: msg.headers?.get("Nats-Msg-Id") || undefined,
          envelope: msg.json<EventEnvelope>(),
        });
        if (msg.seq >= info.state.last_seq) break;
      }
    } finally {
      clearTimeout(timer);
      await messages.close();
    }
    return read;
  } finally {
    await nc.close();
  }
}

/** The committed events, oldest first: id, product, outbox order. */
export async function committedEvents(
  db: Kysely<Database>,
): Promise<{ id: string; aggregate_id: string }[]> {
  return db.selectFrom("outbox").select(["id", "aggregate_id"]).orderBy("seq").execute();
}

/** How the stream compares with the outbox. */
export interface DeliveryReport {
  /** Committed events. */
  sent: number;
  /** Messages in the stream. */
  effects: number;
  /** Committed events missing from the stream. */
  lost: number;
  /** Extra copies of an event in the stream. */
  duplicated: number;
  /** Messages whose Nats-Msg-Id is not their envelope id. */
  mislabelled: number;
  /** Products whose events appear in the stream in another order than committed. */
  outOfOrder: number;
}

/** Compares the committed events with what the stream holds. */
export function compareDelivery(
  committed: { id: string; aggregate_id: string }[],
  stream: StreamEvent[],
): DeliveryReport {
  const copies = new Map<string, number>();
  for (const message of stream) {
    copies.set(message.envelope.id, (copies.get(message.envelope.id) ?? 0) + 1);
  }
  const order = (events: { id: string; aggregate: string }[]) => {
    const byAggregate = new Map<string, string[]>();
    for (const { id, aggregate } of events) {
      byAggregate.set(aggregate, [...(byAggregate.get(aggregate) ?? []), id]);
    }
    return byAggregate;
  };
  const committedOrder = order(committed.map((e) => ({ id: e.id, aggregate: e.aggregate_id })));
  const firstCopies = stream.filter(
    (m, i) => stream.findIndex((other) => other.envelope.id === m.envelope.id) === i,
  );
  const streamOrder = order(
    firstCopies.map((m) => ({ id: m.envelope.id, aggregate: m.envelope.subject })),
  );
  let outOfOrder = 0;
  for (const [aggregate, ids] of committedOrder) {
    const seen = (streamOrder.get(aggregate) ?? []).filter((id) => ids.includes(id));
    const expected = ids.filter((id) => seen.includes(id));
    if (seen.join() !== expected.join()) outOfOrder += 1;
  }
  return {
    sent: committed.length,
    effects: stream.length,
    lost: committed.filter((e) => !copies.has(e.id)).length,
    duplicated: [...copies.values()].reduce((n, c) => n + c - 1, 0),
    mislabelled: stream.filter((m) => m.msgId !== m.envelope.id).length,
    outOfOrder,
  };
}
