/**
 * Fault scenario e: a poison message ends in the dead-letter stream after max deliveries, and
 * replaying it after the cause is fixed applies it once.
 *
 * The notifications service runs as a separate process (src/main.ts) on a nats-server, SMTP sink
 * and database of this file's own, with 3 deliveries per event and a short back-off. The poison:
 * back_in_stock events whose subscribers include a user the users service fails to look up (a
 * stand-in in this process answers those queries with a service error). Healthy events go through
 * meanwhile. Once the dead letters are listed (GET /admin/dead-letters), the cause is fixed and
 * each is replayed through the HTTP API (POST …/replay): each event must then notify each of its
 * subscribers exactly once, by inbox and by email — and a second replay must change nothing.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { headers as natsHeaders, type Subscription } from "@nats-io/transport-node";
import type { EventEnvelope, NotificationsApi, QueryReply } from "@portico/contracts";
import { STREAMS } from "@portico/contracts";
import {
  connectNats,
  createEventPublisher,
  createLogger,
  ensureStream,
  type NatsConnection,
} from "@portico/kit";
import { createTestIssuer, requestJson } from "@portico/kit/testing";
import { type NatsServer, startNats } from "@portico/scripts/infra/nats";
import { type SmtpSink, startSmtpSink } from "@portico/scripts/infra/smtp";
import { recordScenario } from "@portico/scripts/reliability/record";
import { listMessages } from "@portico/scripts/testing/mail";
import { v7 as uuidv7 } from "uuid";
import { BACK_IN_STOCK_DURABLE, BACK_IN_STOCK_SUBJECT } from "../../src/consumers.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import {
  type JwksEndpoint,
  type NotificationsProcess,
  serveJwks,
  startNotificationsProcess,
} from "../support/process.js";
import { type StandIn, standInUsers } from "../support/stand-ins.js";
import { waitFor } from "../support/wait.js";

type DeadLetter = NotificationsApi.components["schemas"]["DeadLetter"];
type Event = EventEnvelope<typeof BACK_IN_STOCK_SUBJECT>;

const POISON_EVENTS = 5;
const HEALTHY_EVENTS = 5;
const MAX_DELIVER = 3;
const log = createLogger("notifications-fault-e", "silent");

let workDir: string;
let natsServer: NatsServer;
let nc: NatsConnection;
let smtp: SmtpSink;
let database: TestDatabase;
let jwks: JwksEndpoint;
let service: NotificationsProcess;
let usersStandIn: StandIn;
let brokenUsers: Subscription;
let adminToken: string;
const contacts = new Map<string, QueryReply<"users.query.getUserContact">>();
/** Users whose contact lookup fails: the cause of the poison. */
const broken = new Map<string, { id: string; email: string; name: string }>();

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "notifications-fault-e-"));
  natsServer = await startNats({ storeDir: join(workDir, "nats") });
  nc = await connectNats(natsServer.url, "notifications-fault-e", log);
  await ensureStream(nc, STREAMS.products);
  smtp = await startSmtpSink();
  database = await createTestDatabase("notifications_fault_e");
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
  await nc.flush();
  const issuer = await createTestIssuer();
  adminToken = await issuer.tokenFor({ role: "admin", email: "admin@portico.local" });
  jwks = await serveJwks(issuer);
  service = await startNotificationsProcess({
    DATABASE_URL: database.url,
    NATS_URL: natsServer.url,
    JWKS_URL: jwks.url,
    SMTP_URL: smtp.smtpUrl,
    EVENT_MAX_DELIVER: String(MAX_DELIVER),
    EVENT_BACKOFF_SECONDS: "0.3,0.6",
  });
}, 60_000);

afterAll(async () => {
  await service?.proc.stop(10_000);
  brokenUsers?.unsubscribe();
  await usersStandIn?.stop();
  await nc?.drain();
  await natsServer?.stop();
  await smtp?.stop();
  await jwks?.close();
  await database?.drop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
}, 30_000);

/** A new user, known to the users stand-in or (broken) failing its lookup. */
function user(options: { broken?: boolean } = {}) {
  const id = randomUUID();
  const person = { id, email: `${id.slice(0, 8)}@example.com`, name: "E" };
  if (options.broken) broken.set(id, person);
  else contacts.set(id, person);
  return person;
}

/** Publishes a back_in_stock event of a new product with these subscribers. */
async function backInStock(name: string, subscribers: { id: string }[]): Promise<Event> {
  const productId = uuidv7();
  for (const s of subscribers) {
    await database.db
      .insertInto("subscriptions")
      .values({ id: uuidv7(), user_id: s.id, product_id: productId })
      .execute();
  }
  return createEventPublisher(nc, "products").publish(BACK_IN_STOCK_SUBJECT, productId, {
    productId,
    name,
    stock: 2,
  });
}

const admin = <T>(method: string, path: string) =>
  requestJson<T>(service.baseUrl, method, path, { token: adminToken });

async function deadLetters(): Promise<DeadLetter[]> {
  const res = await admin<{ items: DeadLetter[] }>("GET", "/admin/dead-letters?limit=100");
  expect(res.status).toBe(200);
  return res.body.items;
}

/** Notifications per (event, user) and delivered emails per (recipient, subject). */
async function effects(events: { event: Event; subscribers: { id: string; email: string }[] }[]) {
  const notifications = await database.db
    .selectFrom("notifications")
    .select(["event_id", "user_id"])
    .where(
      "event_id",
      "in",
      events.map((e) => e.event.id),
    )
    .execute();
  const mails = (await listMessages(smtp.apiUrl, 1_000)).messages;
  let lost = 0;
  let duplicated = 0;
  for (const { event, subscribers } of events) {
    for (const s of subscribers) {
      const inbox = notifications.filter((n) => n.event_id === event.id && n.user_id === s.id);
      const mail = mails.filter(
        (m) => m.Subject === `${event.data.name} is back in stock` && m.To[0]?.Address === s.email,
      );
      for (const n of [inbox.length, mail.length]) {
        if (n === 0) lost += 1;
        if (n > 1) duplicated += n - 1;
      }
    }
  }
  const mailCount = mails.filter((m) =>
    events.some((e) => m.Subject.startsWith(e.event.data.name)),
  );
  return { count: notifications.length + mailCount.length, lost, duplicated };
}

describe("fault e: a poison message is dead-lettered, then replayed once", () => {
  it("dead-letters it after max deliveries and applies it exactly once on replay after the fix", async () => {
    const poison = await Promise.all(
      Array.from({ length: POISON_EVENTS }, async (_, i) => {
        const subscribers = [user({ broken: true }), user()];
        return { event: await backInStock(`Poison item ${i}`, subscribers), subscribers };
      }),
    );
    const healthy = await Promise.all(
      Array.from({ length: HEALTHY_EVENTS }, async (_, i) => {
        const subscribers = [user(), user()];
        return { event: await backInStock(`Healthy item ${i}`, subscribers), subscribers };
      }),
    );
    const publishedAt = Date.now();

    // 1. Each poison event ends in the dead-letter stream after its last delivery.
    const dead = await waitFor(
      "the poison events' dead letters",
      async () => {
        const items = await deadLetters();
        return items.length >= POISON_EVENTS ? items : undefined;
      },
      20_000,
    );
    const deadLetteredAfterMs = Date.now() - publishedAt;
    const ids = poison.map((p) => dead.find((d) => (d.envelope as Event).id === p.event.id)?.id);
    await waitFor("the healthy events' emails", async () => (await effects(healthy)).lost === 0);
    const beforeReplay = await effects(poison);

    // 2. Replayed before the fix: still failing, still listed.
    const early = await admin<{ detail: string }>("POST", `/admin/dead-letters/${ids[0]}/replay`);

    // 3. Fixed, then replayed: applied; a second replay changes nothing.
    for (const [id, person] of broken) contacts.set(id, person);
    broken.clear();
    const replays = [];
    for (const id of ids) {
      replays.push(await admin<{ outcome: string }>("POST", `/admin/dead-letters/${id}/replay`));
    }
    await waitFor("the replayed events' emails", async () => (await effects(poison)).lost === 0);
    const seconds = [];
    for (const id of ids) seconds.push(await admin("POST", `/admin/dead-letters/${id}/replay`));
    await delay(1_000); // an email a second replay queued would be sent by now
    const after = await effects(poison);
    const healthyAfter = await effects(healthy);
    const remaining = await deadLetters();

    await recordScenario({
      id: "e",
      scenario:
        "a poison message is dead-lettered after max deliveries; replayed once after the fix",
      sent: POISON_EVENTS,
      effects: after.count,
      lost: after.lost,
      duplicated: after.duplicated,
      notes:
        `${POISON_EVENTS} poison back_in_stock events (a subscriber's lookup fails) among ` +
        `${HEALTHY_EVENTS} healthy ones; dead-lettered after ${MAX_DELIVER} deliveries within ` +
        `${deadLetteredAfterMs} ms; replay before the fix: ${early.status}; after: ` +
        `${replays.map((r) => r.status).join("/")}; second replay: ` +
        `${seconds.map((r) => r.status).join("/")}. Effects = notifications + emails of the ` +
        `poison events (expected ${POISON_EVENTS * 2 * 2}).`,
    });

    expect(dead).toHaveLength(POISON_EVENTS);
    for (const d of dead) {
      expect(d).toMatchObject({
        consumer: BACK_IN_STOCK_DURABLE,
        subject: BACK_IN_STOCK_SUBJECT,
        deliveries: MAX_DELIVER,
        error: "users.query.getUserContact: users database unavailable",
      });
    }
    expect(ids.every((id) => id !== undefined)).toBe(true);
    expect(beforeReplay.count).toBe(0);
    expect(early.status).toBe(422);
    expect(early.body.detail).toBe("users.query.getUserContact: users database unavailable");
    expect(replays.map((r) => [r.status, r.body.outcome])).toEqual(ids.map(() => [200, "applied"]));
    expect(seconds.map((r) => r.status)).toEqual(ids.map(() => 409));
    expect(after).toEqual({ count: POISON_EVENTS * 2 * 2, lost: 0, duplicated: 0 });
    expect(healthyAfter).toEqual({ count: HEALTHY_EVENTS * 2 * 2, lost: 0, duplicated: 0 });
    expect(remaining).toEqual([]);
  }, 90_000);
});
