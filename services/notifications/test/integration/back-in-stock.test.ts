/**
 * From `products.product.back_in_stock` to the inbox and the mailbox: the real consumer, outbox
 * sender and app on real NATS JetStream, PostgreSQL and an in-process SMTP server; stand-ins
 * answer the products and users queries.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { jetstream } from "@nats-io/jetstream";
import type { NotificationsApi, QueryReply } from "@portico/contracts";
import {
  createEventPublisher,
  createLogger,
  type EventPublisher,
  findDeadLetters,
  type NatsConnection,
  type ProblemBody,
} from "@portico/kit";
import { v7 as uuidv7 } from "uuid";
import { createService } from "../../src/app.js";
import {
  BACK_IN_STOCK_DURABLE,
  BACK_IN_STOCK_SUBJECT,
  consumeBackInStock,
  handleBackInStock,
} from "../../src/consumers.js";
import { createOutboxSender, type OutboxSender } from "../../src/mail/outbox-sender.js";
import { createSmtpTransport } from "../../src/mail/transport.js";
import { type Lookups, natsLookups } from "../../src/queries.js";
import { consumerInfo, deleteConsumer, waitUntilConsumed } from "../support/consumer.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { client, serve, type TestServer } from "../support/http.js";
import { type OwnNats, startOwnNats } from "../support/own-nats.js";
import { type SmtpCapture, startSmtpCapture } from "../support/smtp.js";
import { type StandIn, standInProducts, standInUsers } from "../support/stand-ins.js";
import { createTestIssuer } from "../support/tokens.js";
import { waitFor } from "../support/wait.js";

type Notification = NotificationsApi.components["schemas"]["Notification"];
type NotificationPage = NotificationsApi.components["schemas"]["NotificationPage"];

const MAIL_FROM = "Portico <no-reply@portico.local>";

/** Products known to the products stand-in, each test using its own. */
const products = new Map<string, { id: string; name: string; stock: number }>();
function newProduct(name: string): string {
  const id = uuidv7();
  products.set(id, { id, name, stock: 0 });
  return id;
}

const people = {
  alice: { id: randomUUID(), email: "alice@example.com", name: "Alice" },
  bob: { id: randomUUID(), email: "bob@example.com", name: "Bob" },
  carol: { id: randomUUID(), email: "carol@example.com", name: "Carol" },
};
type Person = keyof typeof people;
const contacts = new Map<string, QueryReply<"users.query.getUserContact">>(
  Object.values(people).map((p) => [p.id, p]),
);
const tokens = {} as Record<Person, string>;

let database: TestDatabase;
let ownNats: OwnNats;
let nc: NatsConnection;
let smtp: SmtpCapture;
let productsStandIn: StandIn;
let usersStandIn: StandIn;
let sender: OutboxSender;
let consumer: { stop: () => Promise<void> };
let server: TestServer;
let api: ReturnType<typeof client>;
let publisher: EventPublisher;
let lookups: Lookups;
const log = createLogger("notifications-test", "silent");

beforeAll(async () => {
  database = await createTestDatabase("notifications_back_in_stock");
  ownNats = await startOwnNats("notifications-back-in-stock", log);
  nc = ownNats.nc;
  smtp = await startSmtpCapture();
  productsStandIn = await standInProducts(nc, products);
  usersStandIn = await standInUsers(nc, contacts);
  lookups = natsLookups(nc, 1_000);

  sender = createOutboxSender({
    db: database.db,
    transport: createSmtpTransport(smtp.url),
    from: MAIL_FROM,
    log,
  });
  sender.start();
  await deleteConsumer(nc); // a durable left by an interrupted run would carry its old position
  consumer = await consumeBackInStock(
    nc,
    { db: database.db, lookups, log, onEmailQueued: sender.kick },
    { maxDeliver: 5, backoffSeconds: [0.3, 1] },
  );

  const issuer = await createTestIssuer();
  server = await serve(
    createService({
      db: database.db,
      lookups,
      verifyToken: issuer.verifyToken,
      logger: log,
      validateResponses: true,
      readiness: {},
    }),
  );
  api = client(server.baseUrl);
  for (const [name, person] of Object.entries(people)) {
    tokens[name as Person] = await issuer.tokenFor({ userId: person.id, email: person.email });
  }
  publisher = createEventPublisher(nc, "products");
  await waitUntilConsumed(nc); // the stream's earlier back_in_stock events, if any
});

afterAll(async () => {
  await server?.close();
  await consumer?.stop();
  await sender?.stop();
  await deleteConsumer(nc);
  await productsStandIn?.stop();
  await usersStandIn?.stop();
  await ownNats?.stop();
  await smtp?.stop();
  await database?.drop();
});

async function subscribe(person: Person, productId: string): Promise<void> {
  const res = await api("POST", "/subscriptions", { token: tokens[person], body: { productId } });
  expect(res.status).toBe(201);
}

async function inbox(person: Person, query = ""): Promise<Notification[]> {
  const res = await api<NotificationPage>("GET", `/notifications?limit=100${query}`, {
    token: tokens[person],
  });
  expect(res.status).toBe(200);
  return res.body.items;
}

function backInStock(productId: string, stock: number) {
  const product = products.get(productId);
  if (!product) throw new Error("unknown test product");
  return publisher.publish(BACK_IN_STOCK_SUBJECT, productId, {
    productId,
    name: product.name,
    stock,
  });
}

/** Waits until the consumer acknowledged everything and the outbox sent every queued email. */
async function settled(): Promise<void> {
  await waitUntilConsumed(nc);
  await waitFor("the outbox to be empty", async () => {
    const pending = await database.db
      .selectFrom("email_outbox")
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .where("status", "=", "pending")
      .executeTakeFirstOrThrow();
    return Number(pending.n) === 0;
  });
}

function mailsAbout(subject: string) {
  return smtp.messages.filter((m) => m.subject === subject);
}

describe("products.product.back_in_stock", () => {
  it("creates one notification and sends one email per subscriber, and none to others", async () => {
    const espresso = newProduct("Espresso cup");
    const other = newProduct("Milk jug");
    await subscribe("alice", espresso);
    await subscribe("bob", espresso);
    await subscribe("carol", other);

    await backInStock(espresso, 25);
    await settled();

    for (const person of ["alice", "bob"] as const) {
      expect(await inbox(person)).toEqual([
        {
          id: expect.any(String),
          type: "back_in_stock",
          title: "Espresso cup is back in stock",
          body: "Espresso cup is back in stock (25 available).",
          productId: espresso,
          createdAt: expect.any(String),
          readAt: null,
        },
      ]);
    }
    expect(await inbox("carol")).toEqual([]);

    const mails = mailsAbout("Espresso cup is back in stock");
    expect(mails.map((m) => m.to).sort()).toEqual([["alice@example.com"], ["bob@example.com"]]);
    for (const mail of mails) {
      expect(mail.from).toBe(MAIL_FROM);
      expect(mail.text).toContain("Espresso cup is back in stock, with 25 available");
    }
    expect(mails.find((m) => m.to[0] === "bob@example.com")?.text).toMatch(/^Hello Bob,/);
  });

  it("stores and notifies once when the same envelope is published twice (JetStream de-dup)", async () => {
    const tamper = newProduct("Tamper");
    await subscribe("alice", tamper);

    const envelope = await backInStock(tamper, 3);
    const again = await jetstream(nc).publish(BACK_IN_STOCK_SUBJECT, JSON.stringify(envelope), {
      msgID: envelope.id,
    });
    expect(again.duplicate).toBe(true);
    await settled();

    expect((await inbox("alice")).filter((n) => n.productId === tamper)).toHaveLength(1);
    expect(mailsAbout("Tamper is back in stock")).toHaveLength(1);
  });

  it("notifies once when the same event id is redelivered under another message id", async () => {
    const grinder = newProduct("Grinder");
    await subscribe("alice", grinder);
    await subscribe("bob", grinder);

    const envelope = await backInStock(grinder, 7);
    await settled();
    const redelivered = await jetstream(nc).publish(
      BACK_IN_STOCK_SUBJECT,
      JSON.stringify(envelope),
      { msgID: randomUUID() },
    );
    expect(redelivered.duplicate).toBe(false);
    await settled();

    for (const person of ["alice", "bob"] as const) {
      expect((await inbox(person)).filter((n) => n.productId === grinder)).toHaveLength(1);
    }
    expect(mailsAbout("Grinder is back in stock")).toHaveLength(2);
  });

  it("retries an event while the users service does not answer, then notifies once", async () => {
    const kettle = newProduct("Kettle");
    await subscribe("carol", kettle);
    await usersStandIn.stop();
    try {
      await backInStock(kettle, 1);
      // The first delivery failed and JetStream is redelivering it.
      await waitFor("a redelivery", async () => (await consumerInfo(nc)).num_redelivered > 0);
      expect((await inbox("carol")).filter((n) => n.productId === kettle)).toEqual([]);
    } finally {
      usersStandIn = await standInUsers(nc, contacts);
    }
    await settled();

    expect((await inbox("carol")).filter((n) => n.productId === kettle)).toHaveLength(1);
    expect(mailsAbout("Kettle is back in stock").map((m) => m.to)).toEqual([["carol@example.com"]]);
  });

  it("creates one notification per subscriber when two deliveries of an event race", async () => {
    const mill = newProduct("Pepper mill");
    await subscribe("alice", mill);
    await subscribe("bob", mill);
    const event = {
      id: uuidv7(),
      type: BACK_IN_STOCK_SUBJECT,
      occurredAt: new Date().toISOString(),
      source: "products",
      subject: mill,
      data: { productId: mill, name: "Pepper mill", stock: 2 },
    } as const;
    const deps = { db: database.db, lookups, log, onEmailQueued: sender.kick };
    // Both see every subscriber as not yet notified; the processed-event record settles it.
    const outcomes = await Promise.all([
      handleBackInStock(deps, event),
      handleBackInStock(deps, event),
    ]);
    expect(outcomes.map((o) => o.applied).sort()).toEqual([false, true]);
    expect(outcomes[0].notified + outcomes[1].notified).toBe(2);
    await settled();

    for (const person of ["alice", "bob"] as const) {
      expect((await inbox(person)).filter((n) => n.productId === mill)).toHaveLength(1);
    }
    expect(mailsAbout("Pepper mill is back in stock")).toHaveLength(2);
  });

  it("dead-letters an envelope that breaks its contract at once, with the violations", async () => {
    const ack = await jetstream(nc).publish(
      BACK_IN_STOCK_SUBJECT,
      JSON.stringify({ id: "not-a-uuid", type: BACK_IN_STOCK_SUBJECT, data: { productId: 42 } }),
    );
    await settled();
    const info = await consumerInfo(nc);
    expect(info.ack_floor.stream_seq).toBeGreaterThanOrEqual(ack.seq);
    expect(info.num_redelivered).toBe(0);
    const dead = await findDeadLetters(nc, { consumers: [BACK_IN_STOCK_DURABLE], limit: 100 });
    const record = dead.find((d) => d.record.streamSequence === ack.seq)?.record;
    expect(record).toMatchObject({
      subject: BACK_IN_STOCK_SUBJECT,
      consumer: BACK_IN_STOCK_DURABLE,
      deliveries: 1,
      envelope: { id: "not-a-uuid", data: { productId: 42 } },
    });
    expect(record?.error).toMatch(/violates the products\.product\.back_in_stock contract/);
    expect(record?.error).toContain("/id");
  });

  it("skips a subscriber the users service no longer knows", async () => {
    const scale = newProduct("Scale");
    const ghost = randomUUID();
    contacts.set(ghost, null); // the users service no longer knows this user
    await database.db
      .insertInto("subscriptions")
      .values({ id: uuidv7(), user_id: ghost, product_id: scale })
      .execute();
    await subscribe("bob", scale);

    await backInStock(scale, 4);
    await settled();

    expect((await inbox("bob")).filter((n) => n.productId === scale)).toHaveLength(1);
    expect(mailsAbout("Scale is back in stock").map((m) => m.to)).toEqual([["bob@example.com"]]);
  });
});

describe("listNotifications and markNotificationRead", () => {
  it("filters by unread, marks read idempotently, and keeps the first readAt", async () => {
    const unread = await inbox("alice", "&unread=true");
    expect(unread.length).toBeGreaterThanOrEqual(3);
    const [target] = unread as [Notification, ...Notification[]];

    const first = await api<Notification>("POST", `/notifications/${target.id}/read`, {
      token: tokens.alice,
    });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ ...target, readAt: expect.any(String) });

    await delay(20);
    const second = await api<Notification>("POST", `/notifications/${target.id}/read`, {
      token: tokens.alice,
    });
    expect(second.status).toBe(200);
    expect(second.body.readAt).toBe(first.body.readAt);

    expect((await inbox("alice", "&unread=true")).map((n) => n.id)).not.toContain(target.id);
    expect(await inbox("alice", "&unread=false")).toEqual([second.body]);
    expect(await inbox("alice")).toHaveLength(unread.length);
  });

  it("answers 404 when marking another user's notification, which stays unread", async () => {
    const [ofBob] = await inbox("bob", "&unread=true");
    const res = await api<ProblemBody>("POST", `/notifications/${ofBob?.id}/read`, {
      token: tokens.alice,
    });
    expect(res.status).toBe(404);
    expect((await inbox("bob", "&unread=true")).map((n) => n.id)).toContain(ofBob?.id);

    const unknown = await api<ProblemBody>("POST", `/notifications/${uuidv7()}/read`, {
      token: tokens.bob,
    });
    expect(unknown.status).toBe(404);
  });

  it("pages the inbox newest first with a cursor", async () => {
    const all = await inbox("alice");
    const first = await api<NotificationPage>("GET", "/notifications?limit=2", {
      token: tokens.alice,
    });
    expect(first.body.items).toEqual(all.slice(0, 2));
    const rest = await api<NotificationPage>(
      "GET",
      `/notifications?limit=100&cursor=${first.body.nextCursor}`,
      { token: tokens.alice },
    );
    expect(rest.body.items).toEqual(all.slice(2));
    expect(rest.body.nextCursor).toBeNull();
  });

  it("answers 400 naming unread when it is not a boolean, and 401 without a token", async () => {
    const res = await api<ProblemBody>("GET", "/notifications?unread=maybe", {
      token: tokens.alice,
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ location: "query", field: "unread" }),
    ]);
    expect((await api("GET", "/notifications")).status).toBe(401);
  });
});
