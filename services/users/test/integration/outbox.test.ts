/**
 * Registration does not depend on NATS: the service starts and registers users while NATS is
 * unreachable, the `users.user.registered` events wait in its outbox, and once a nats-server
 * answers on NATS_URL the service attaches in the background and publishes them. The server is
 * this file's own (started late, on a port chosen up front), not the shared one.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { DeliverPolicy, jetstream } from "@nats-io/jetstream";
import type { EventEnvelope } from "@portico/contracts";
import { connectNats, createLogger, type NatsConnection } from "@portico/kit";
import { type NatsServer, startNats } from "@portico/scripts/infra/nats";
import { getFreePort } from "@portico/scripts/infra/ports";
import pg from "pg";
import { USERS_STREAM } from "../../src/events.js";
import {
  createTestDatabase,
  dropTestDatabase,
  type RunningUsers,
  register,
  request,
  startUsers,
  testConfig,
} from "./support.js";

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let storeDir: string;
let natsUrl: string;
let databaseUrl: string;
let users: RunningUsers;
let db: pg.Client;
let natsServer: NatsServer | undefined;
let nc: NatsConnection | undefined;

beforeAll(async () => {
  storeDir = await mkdtemp(join(tmpdir(), "portico-users-outbox-"));
  natsUrl = `nats://127.0.0.1:${await getFreePort()}`; // nothing listens there yet
  databaseUrl = await createTestDatabase("users_outbox");
  users = await startUsers(testConfig(databaseUrl, { NATS_URL: natsUrl }), {
    waitForNats: false,
  });
  db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await users?.stop();
  await nc?.close();
  await natsServer?.stop();
  if (databaseUrl) await dropTestDatabase(databaseUrl);
  if (storeDir) await rm(storeDir, { recursive: true, force: true });
});

async function outboxRows(): Promise<
  { id: string; aggregate_id: string; headers: Record<string, string>; published: boolean }[]
> {
  const result = await db.query(
    "select id, aggregate_id, headers, published_at is not null as published from outbox order by seq",
  );
  return result.rows;
}

describe("users without NATS", () => {
  const registered: string[] = [];

  it("is ready and registers users while NATS is unreachable; the events wait in the outbox", async () => {
    expect((await request(users.baseUrl, "GET", "/readyz")).status).toBe(200);
    for (const name of ["Ada", "Grace"]) {
      const response = await request(users.baseUrl, "POST", "/users", {
        body: { email: `${name}@example.com`, password: "correct-horse-battery", name },
        headers: { "x-request-id": `register-${name}`, traceparent: TRACEPARENT },
      });
      expect(response.status).toBe(201);
      registered.push(response.body.id as string);
    }
    const rows = await outboxRows();
    expect(rows.map((row) => row.aggregate_id)).toEqual(registered);
    expect(rows.every((row) => !row.published && UUID.test(row.id))).toBe(true);
    expect(rows[0]?.headers).toEqual({ "X-Request-Id": "register-Ada", traceparent: TRACEPARENT });
  });

  it("rolls the user back with a taken email: no second event", async () => {
    const again = await register(users.baseUrl, {
      email: "ADA@example.com",
      password: "another-password-1",
      name: "Ada again",
    });
    expect(again.status).toBe(409);
    expect(await outboxRows()).toHaveLength(2);
  });

  it("attaches once NATS answers and publishes the waiting events once, in order", async () => {
    natsServer = await startNats({ storeDir, port: Number(new URL(natsUrl).port) });
    await users.service.natsAttached;
    nc = await connectNats(natsUrl, "users-outbox-test", createLogger("test", "silent"));
    const deadline = Date.now() + 10_000;
    while ((await outboxRows()).some((row) => !row.published)) {
      if (Date.now() > deadline) throw new Error("the outbox did not drain");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const consumer = await jetstream(nc).consumers.get(USERS_STREAM.name, {
      deliver_policy: DeliverPolicy.All,
    });
    const read: { envelope: EventEnvelope<"users.user.registered">; headers: string[] }[] = [];
    for (let i = 0; i < 2; i += 1) {
      const msg = await consumer.next({ expires: 5_000 });
      if (!msg) break;
      read.push({
        envelope: msg.json(),
        headers: ["Nats-Msg-Id", "X-Request-Id", "traceparent"].map(
          (name) => msg.headers?.get(name) ?? "",
        ),
      });
    }
    const rows = await outboxRows();
    expect(read.map((m) => m.envelope.subject)).toEqual(registered);
    expect(read.map((m) => m.headers)).toEqual([
      [rows[0]?.id, "register-Ada", TRACEPARENT],
      [rows[1]?.id, "register-Grace", TRACEPARENT],
    ]);
    expect(read[0]?.envelope).toMatchObject({
      type: "users.user.registered",
      source: "users",
      data: { userId: registered[0], email: "ada@example.com", name: "Ada", role: "user" },
    });
    expect(await consumer.next({ expires: 1_000 })).toBeNull();
  }, 30_000);
});
