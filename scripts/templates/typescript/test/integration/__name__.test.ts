/**
 * The __name__ service over real HTTP, PostgreSQL and NATS (URLs from jest's globalSetup): each
 * operation of its contract, and the event a create publishes through the outbox.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type EventEnvelope, validateEvent } from "@portico/contracts";
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
import { createTestIssuer, requestJson, type TestIssuer } from "@portico/kit/testing";
import { createDatabase as createTestDatabase } from "@portico/scripts/testing/provision";
import type { Kysely } from "kysely";
import { createService } from "../../src/app.js";
import { STREAM } from "../../src/events.js";
import { migrations } from "../../src/store/migrations/index.js";
import type { Database } from "../../src/store/schema.js";

let baseUrl: string;
let db: Kysely<Database>;
let nc: NatsConnection;
let auth: TestIssuer;
let stop: () => Promise<void>;

beforeAll(async () => {
  const logger = createLogger("__name__", process.env.TEST_LOG_LEVEL ?? "silent");
  db = createDatabase<Database>(await createTestDatabase("__name__"));
  await migrateToLatest(db, migrations);
  nc = await connectNats(process.env.NATS_URL as string, "__name__-test", logger);
  await ensureStream(nc, STREAM);
  const relay = startOutboxRelay({ db, nc, log: logger });
  auth = await createTestIssuer();
  const app = createService({
    db,
    committed: () => relay.kick(),
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
  baseUrl = `http://127.0.0.1:${server.port}`;
  stop = server.close;
});

afterAll(() => stop());

/** The events published after stream sequence `since` once the outbox is drained. */
async function publishedAfter(
  since: number,
): Promise<{ envelope: EventEnvelope; requestId?: string }[]> {
  while ((await outboxBacklog(db)).pending > 0) await new Promise((r) => setTimeout(r, 20));
  const last = (await (await jetstreamManager(nc)).streams.info(STREAM.name)).state.last_seq;
  if (last <= since) return [];
  const consumer = await jetstream(nc).consumers.get(STREAM.name, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: since + 1,
  });
  const messages = await consumer.consume();
  const read: { envelope: EventEnvelope; requestId?: string }[] = [];
  for await (const msg of messages) {
    const requestId = msg.headers?.get("X-Request-Id");
    read.push({ envelope: msg.json<EventEnvelope>(), ...(requestId ? { requestId } : {}) });
    if (msg.seq >= last) break;
  }
  await messages.close();
  return read;
}

describe("the __name__ operations", () => {
  it("refuses a caller without a token with 401", async () => {
    const response = await requestJson(baseUrl, "GET", "/__name__");
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
  });

  it("creates a __entity__, publishes __name__.__entity__.created, then gets and lists it", async () => {
    const token = await auth.tokenFor();
    const since = (await (await jetstreamManager(nc)).streams.info(STREAM.name)).state.last_seq;

    const created = await requestJson(baseUrl, "POST", "/__name__", {
      token,
      json: { name: "First __entity__" },
      headers: { "X-Request-Id": "scaffold-test-1" },
    });
    expect(created.status).toBe(201);
    expect(created.body.name).toBe("First __entity__");

    const events = (await publishedAfter(since)).filter(
      (e) => e.envelope.subject === created.body.id,
    );
    expect(events.map((e) => e.envelope.type)).toEqual(["__name__.__entity__.created"]);
    expect(validateEvent("__name__.__entity__.created", events[0]?.envelope).valid).toBe(true);
    expect(events[0]?.requestId).toBe("scaffold-test-1");

    const got = await requestJson(baseUrl, "GET", `/__name__/${created.body.id}`, { token });
    expect(got.body).toEqual(created.body);
    const listed = await requestJson(baseUrl, "GET", "/__name__?limit=100", { token });
    expect(listed.body.items).toContainEqual(created.body);
  });

  it("answers 404 for an unknown id and 400 naming a malformed one", async () => {
    const token = await auth.tokenFor();
    const unknown = await requestJson(
      baseUrl,
      "GET",
      "/__name__/0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10",
      { token },
    );
    expect(unknown.status).toBe(404);
    const malformed = await requestJson(baseUrl, "GET", "/__name__/not-a-uuid", { token });
    expect(malformed.status).toBe(400);
    expect(JSON.stringify(malformed.body.errors)).toContain("__entity__Id");
  });
});
