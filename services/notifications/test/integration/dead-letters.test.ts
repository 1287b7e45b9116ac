/**
 * The dead-letter admin operations (listDeadLetters, replayDeadLetter) with the real consumer,
 * app and outbox sender on real PostgreSQL and a nats-server of this file's own (the consumer's
 * durable is the service's real one, which back-in-stock.test.ts also uses on its own server).
 * A stand-in users service fails the contact lookup of "broken" users until the test fixes them.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { jetstream } from "@nats-io/jetstream";
import { headers as natsHeaders, type Subscription } from "@nats-io/transport-node";
import type { EventEnvelope, NotificationsApi, QueryReply } from "@portico/contracts";
import {
  createEventPublisher,
  createLogger,
  type NatsConnection,
  type ProblemBody,
} from "@portico/kit";
import { v7 as uuidv7 } from "uuid";
import { createService } from "../../src/app.js";
import {
  BACK_IN_STOCK_DURABLE,
  BACK_IN_STOCK_SUBJECT,
  backInStockReplayer,
  consumeBackInStock,
  handleBackInStock,
} from "../../src/consumers.js";
import { natsDeadLetterStore } from "../../src/dead-letters.js";
import { createOutboxSender, type OutboxSender } from "../../src/mail/outbox-sender.js";
import { createSmtpTransport } from "../../src/mail/transport.js";
import { natsLookups } from "../../src/queries.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { client, serve, type TestServer } from "../support/http.js";
import { type OwnNats, startOwnNats } from "../support/own-nats.js";
import { type SmtpCapture, startSmtpCapture } from "../support/smtp.js";
import { type StandIn, standInUsers } from "../support/stand-ins.js";
import { createTestIssuer } from "../support/tokens.js";
import { waitFor } from "../support/wait.js";

type DeadLetter = NotificationsApi.components["schemas"]["DeadLetter"];
type DeadLetterPage = NotificationsApi.components["schemas"]["DeadLetterPage"];
type DeadLetterReplay = NotificationsApi.components["schemas"]["DeadLetterReplay"];

const log = createLogger("notifications-dead-letters-test", "silent");
const contacts = new Map<string, QueryReply<"users.query.getUserContact">>();
/** Users whose contact lookup fails with a service error (the poison's cause). */
const broken = new Set<string>();

let ownNats: OwnNats;
let nc: NatsConnection;
let database: TestDatabase;
let smtp: SmtpCapture;
let usersStandIn: StandIn;
let brokenUsers: Subscription;
let sender: OutboxSender;
let consumer: { stop: () => Promise<void> };
let server: TestServer;
let api: ReturnType<typeof client>;
let adminToken: string;
let userToken: string;
let deps: Parameters<typeof handleBackInStock>[0];

beforeAll(async () => {
  ownNats = await startOwnNats("notifications-dead-letters", log);
  nc = ownNats.nc;
  database = await createTestDatabase("notifications_dead_letters");
  smtp = await startSmtpCapture();
  usersStandIn = await standInUsers(nc, contacts);
  brokenUsers = nc.subscribe("users.query.getUserContact", {
    callback: (err, msg) => {
      if (err || !broken.has(msg.json<{ userId: string }>().userId)) return;
      const h = natsHeaders();
      h.set("Nats-Service-Error-Code", "500");
      h.set("Nats-Service-Error", "users database unavailable");
      msg.respond("", { headers: h });
    },
  });
  sender = createOutboxSender({
    db: database.db,
    transport: createSmtpTransport(smtp.url),
    from: "Portico <no-reply@portico.local>",
    log,
  });
  sender.start();
  deps = { db: database.db, lookups: natsLookups(nc, 1_000), log, onEmailQueued: sender.kick };
  consumer = await consumeBackInStock(nc, deps, { maxDeliver: 2, backoffSeconds: [0.2] });

  const issuer = await createTestIssuer();
  server = await serve(
    createService({
      db: database.db,
      lookups: natsLookups(nc, 1_000),
      deadLetters: {
        store: natsDeadLetterStore(nc, [BACK_IN_STOCK_DURABLE]),
        replayers: { [BACK_IN_STOCK_DURABLE]: backInStockReplayer(deps) },
      },
      verifyToken: issuer.verifyToken,
      logger: log,
      validateResponses: true,
      readiness: {},
    }),
  );
  api = client(server.baseUrl);
  adminToken = await issuer.tokenFor({ role: "admin", email: "admin@portico.local" });
  userToken = await issuer.tokenFor({ role: "user" });
}, 30_000);

afterAll(async () => {
  await server?.close();
  await consumer?.stop();
  await sender?.stop();
  brokenUsers?.unsubscribe();
  await usersStandIn?.stop();
  await ownNats?.stop();
  await smtp?.stop();
  await database?.drop();
});

/** A subscriber of a new product, with a known (or broken) contact. */
async function subscriber(options: { broken?: boolean } = {}) {
  const userId = randomUUID();
  const productId = uuidv7();
  const email = `${userId.slice(0, 8)}@example.com`;
  if (options.broken) broken.add(userId);
  else contacts.set(userId, { id: userId, email, name: "Dana" });
  await database.db
    .insertInto("subscriptions")
    .values({ id: uuidv7(), user_id: userId, product_id: productId })
    .execute();
  return { userId, productId, email };
}

/** Fixes the cause: the users service answers for this user again. */
function repair(person: { userId: string; email: string }): void {
  broken.delete(person.userId);
  contacts.set(person.userId, { id: person.userId, email: person.email, name: "Dana" });
}

function backInStock(productId: string): Promise<EventEnvelope<typeof BACK_IN_STOCK_SUBJECT>> {
  return createEventPublisher(nc, "products").publish(BACK_IN_STOCK_SUBJECT, productId, {
    productId,
    name: "Moka pot",
    stock: 3,
  });
}

async function listAll(): Promise<DeadLetter[]> {
  const res = await api<DeadLetterPage>("GET", "/admin/dead-letters?limit=100", {
    token: adminToken,
  });
  expect(res.status).toBe(200);
  return res.body.items;
}

/** Waits for the dead letter of the event `eventId`. */
function deadLetterOf(eventId: string): Promise<DeadLetter> {
  return waitFor(
    `the dead letter of ${eventId}`,
    async () =>
      (await listAll()).find((d) => (d.envelope as { id?: string } | null)?.id === eventId),
    10_000,
  );
}

async function notificationsOf(userId: string): Promise<number> {
  const rows = await database.db
    .selectFrom("notifications")
    .select("id")
    .where("user_id", "=", userId)
    .execute();
  return rows.length;
}

function replay(id: string, token = adminToken) {
  return api<DeadLetterReplay & ProblemBody>("POST", `/admin/dead-letters/${id}/replay`, {
    token,
  });
}

describe("listDeadLetters and replayDeadLetter", () => {
  it("are for administrators only", async () => {
    expect((await api("GET", "/admin/dead-letters")).status).toBe(401);
    expect((await api("GET", "/admin/dead-letters", { token: userToken })).status).toBe(403);
    expect((await replay("1", userToken)).status).toBe(403);
  });

  it("lists a poison event after its last delivery, replays it once its cause is fixed, once", async () => {
    const dana = await subscriber({ broken: true });
    const event = await backInStock(dana.productId);

    const dead = await deadLetterOf(event.id);
    expect(dead).toEqual({
      id: expect.stringMatching(/^[1-9][0-9]*$/),
      consumer: BACK_IN_STOCK_DURABLE,
      subject: BACK_IN_STOCK_SUBJECT,
      streamSequence: expect.any(Number),
      deliveries: 2,
      error: "users.query.getUserContact: users database unavailable",
      deadLetteredAt: expect.any(String),
      envelope: event,
    });

    // Still broken: the replay fails with the handler's error and the dead letter stays.
    const failed = await replay(dead.id);
    expect(failed.status).toBe(422);
    expect(failed.body.detail).toBe("users.query.getUserContact: users database unavailable");
    expect((await listAll()).map((d) => d.id)).toContain(dead.id);
    expect(await notificationsOf(dana.userId)).toBe(0);

    repair(dana);
    const replayed = await replay(dead.id);
    expect(replayed.status).toBe(200);
    expect(replayed.body).toEqual({
      id: dead.id,
      consumer: BACK_IN_STOCK_DURABLE,
      subject: BACK_IN_STOCK_SUBJECT,
      eventId: event.id,
      outcome: "applied",
      replayedAt: expect.any(String),
    });
    expect(await notificationsOf(dana.userId)).toBe(1);
    await waitFor("the email", () => smtp.messages.some((m) => m.to.includes(dana.email)));
    expect((await listAll()).map((d) => d.id)).not.toContain(dead.id);

    const again = await replay(dead.id);
    expect(again.status).toBe(409);
    expect(again.body.detail).toMatch(new RegExp(`^Dead letter ${dead.id} was already replayed`));
    expect(await notificationsOf(dana.userId)).toBe(1);
    await sender.sendBatch();
    expect(smtp.messages.filter((m) => m.to.includes(dana.email))).toHaveLength(1);
  });

  it("answers already_applied for an event the consumer applied meanwhile, and adds nothing", async () => {
    const erin = await subscriber({ broken: true });
    const event = await backInStock(erin.productId);
    const dead = await deadLetterOf(event.id);
    repair(erin);
    expect(await handleBackInStock(deps, event)).toEqual({ applied: true, notified: 1 });

    const replayed = await replay(dead.id);
    expect(replayed.status).toBe(200);
    expect(replayed.body.outcome).toBe("already_applied");
    expect(await notificationsOf(erin.userId)).toBe(1);
  });

  it("refuses to replay an envelope that breaks its contract, naming the violations", async () => {
    const ack = await jetstream(nc).publish(
      BACK_IN_STOCK_SUBJECT,
      JSON.stringify({ id: uuidv7(), type: BACK_IN_STOCK_SUBJECT, data: { stock: 0 } }),
    );
    const dead = await waitFor("the invalid envelope's dead letter", async () =>
      (await listAll()).find((d) => d.streamSequence === ack.seq),
    );
    expect(dead.deliveries).toBe(1);
    expect(dead.error).toMatch(/^the envelope violates the products\.product\.back_in_stock/);

    const res = await replay(dead.id);
    expect(res.status).toBe(422);
    expect(res.body.detail).toMatch(/violates the products\.product\.back_in_stock contract/);
    expect((await listAll()).map((d) => d.id)).toContain(dead.id);
  });

  it("pages the list oldest first with a cursor", async () => {
    for (let i = 0; i < 2; i++) {
      await jetstream(nc).publish(BACK_IN_STOCK_SUBJECT, `not json ${i}`);
    }
    const all = await waitFor("at least three dead letters", async () => {
      const items = await listAll();
      return items.length >= 3 ? items : undefined;
    });
    const ids = all.map((d) => Number(d.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(all.at(-1)?.envelope).toBe("not json 1");

    const first = await api<DeadLetterPage>("GET", "/admin/dead-letters?limit=2", {
      token: adminToken,
    });
    expect(first.body.items).toEqual(all.slice(0, 2));
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const rest = await api<DeadLetterPage>(
      "GET",
      `/admin/dead-letters?limit=100&cursor=${first.body.nextCursor}`,
      { token: adminToken },
    );
    expect(rest.body.items).toEqual(all.slice(2));
    expect(rest.body.nextCursor).toBeNull();
  });

  it("answers 404 for an unknown dead letter and 400 naming a malformed id or cursor", async () => {
    const unknown = await replay("999999");
    expect(unknown.status).toBe(404);

    const malformed = await replay("abc");
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors).toEqual([
      expect.objectContaining({ location: "path", field: "deadLetterId" }),
    ]);

    const cursor = Buffer.from(JSON.stringify(["2026-11-21T00:00:00.000Z", "x"])).toString(
      "base64url",
    );
    const badCursor = await api<ProblemBody>("GET", `/admin/dead-letters?cursor=${cursor}`, {
      token: adminToken,
    });
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.errors).toEqual([
      expect.objectContaining({ location: "query", field: "cursor" }),
    ]);
  });
});
