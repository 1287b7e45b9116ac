/**
 * The daily digest job against real PostgreSQL and NATS: recipients come from the outbox or from a
 * users stand-in answering `users.query.getUserContact`; the queued digests are delivered by the
 * real outbox sender to an in-process SMTP server.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import type { QueryReply } from "@portico/contracts";
import { createLogger, type NatsConnection } from "@portico/kit";
import { sql } from "kysely";
import { v7 as uuidv7 } from "uuid";
import { type DailyDigestDeps, runDailyDigest } from "../../src/jobs/daily-digest.js";
import { createOutboxSender } from "../../src/mail/outbox-sender.js";
import { createSmtpTransport } from "../../src/mail/transport.js";
import { natsLookups } from "../../src/queries.js";
import { recordBackInStock } from "../../src/store/notifications.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { type OwnNats, startOwnNats } from "../support/own-nats.js";
import { type SmtpCapture, startSmtpCapture } from "../support/smtp.js";
import { type StandIn, standInUsers } from "../support/stand-ins.js";

const log = createLogger("notifications-test", "silent");
const MORNING = new Date("2024-05-01T08:00:00.000Z");
const NEXT_MORNING = new Date("2024-05-02T08:00:00.000Z");

/** Users the stand-in knows (`null`: "does not exist"); others get no answer at all. */
const contacts = new Map<string, QueryReply<"users.query.getUserContact">>();

let database: TestDatabase;
let ownNats: OwnNats;
let nc: NatsConnection;
let smtp: SmtpCapture;
let usersStandIn: StandIn;

beforeAll(async () => {
  database = await createTestDatabase("notifications_digest");
  ownNats = await startOwnNats("notifications-digest", log);
  nc = ownNats.nc;
  smtp = await startSmtpCapture();
  usersStandIn = await standInUsers(nc, contacts);
});

afterAll(async () => {
  await usersStandIn?.stop();
  await ownNats?.stop();
  await smtp?.stop();
  await database?.drop();
});

beforeEach(async () => {
  smtp.messages.length = 0;
  contacts.clear();
  await database.db.deleteFrom("notifications").execute(); // cascades to their emails
  await database.db.deleteFrom("digests").execute(); // cascades to digest emails
});

function deps(overrides: Partial<DailyDigestDeps> = {}): DailyDigestDeps {
  return {
    db: database.db,
    // Long enough for a loaded CI machine to answer; the silent user costs this much per run.
    lookups: natsLookups(nc, 1_500),
    log,
    timeZone: "UTC",
    ...overrides,
  };
}

/** Gives `userId` a notification titled `title` (with its email to `to`), read or not. */
async function notify(
  userId: string,
  title: string,
  options: { to?: string; read?: boolean } = {},
) {
  await recordBackInStock(database.db, {
    userId,
    productId: uuidv7(),
    eventId: uuidv7(),
    title,
    body: `${title} (1 available).`,
    email: { to: options.to ?? `${userId}@example.com`, subject: title, text: title },
  });
  if (options.read) {
    await database.db
      .updateTable("notifications")
      .set({ read_at: new Date() })
      .where("user_id", "=", userId)
      .where("title", "=", title)
      .execute();
  }
}

/** The digest emails queued so far: recipient, subject, text, digest day. */
async function digestEmails() {
  return database.db
    .selectFrom("email_outbox as e")
    .innerJoin("digests as d", "d.id", "e.digest_id")
    .select([
      "d.user_id as userId",
      sql<string>`d.digest_day::text`.as("day"),
      "d.unread_count as unread",
      "e.to_address as to",
      "e.subject",
      "e.text",
      "e.status",
    ])
    .orderBy("e.to_address")
    .execute();
}

describe("daily digest", () => {
  it("queues one digest per user with unread notifications, and a re-run of the day adds nothing", async () => {
    const alice = randomUUID();
    const bob = randomUUID();
    const carol = randomUUID();
    await notify(alice, "Espresso cup is back in stock", { to: "alice@example.com" });
    await notify(alice, "Milk jug is back in stock", { to: "alice@example.com" });
    await notify(bob, "Tamper is back in stock", { to: "bob@example.com" });
    await notify(carol, "Grinder is back in stock", { to: "carol@example.com", read: true });

    expect(await runDailyDigest(deps(), MORNING)).toEqual({
      day: "2024-05-01",
      queued: 2,
      skipped: 0,
    });
    const queued = await digestEmails();
    expect(queued.map((e) => [e.to, e.day, e.unread, e.subject, e.status])).toEqual([
      ["alice@example.com", "2024-05-01", 2, "You have 2 unread notifications", "pending"],
      ["bob@example.com", "2024-05-01", 1, "You have 1 unread notification", "pending"],
    ]);
    expect(queued[0]?.text).toContain(
      "- Milk jug is back in stock\n- Espresso cup is back in stock",
    );

    // Another tick of the same day (another instance, a retry): nothing new.
    expect(await runDailyDigest(deps(), new Date("2024-05-01T23:59:59.000Z"))).toMatchObject({
      queued: 0,
    });
    expect(await digestEmails()).toHaveLength(2);

    // The next day, the still unread ones are announced again.
    expect(await runDailyDigest(deps(), NEXT_MORNING)).toMatchObject({
      day: "2024-05-02",
      queued: 2,
    });
    expect((await digestEmails()).map((e) => e.day).sort()).toEqual([
      "2024-05-01",
      "2024-05-01",
      "2024-05-02",
      "2024-05-02",
    ]);
  });

  it("is delivered by the outbox sender", async () => {
    const dave = randomUUID();
    await notify(dave, "Kettle is back in stock", { to: "dave@example.com" });
    await runDailyDigest(deps(), MORNING);
    const sender = createOutboxSender({
      db: database.db,
      transport: createSmtpTransport(smtp.url),
      from: "Portico <no-reply@portico.local>",
      log,
    });
    await sender.sendBatch(); // dave's back-in-stock email and his digest
    await sender.stop();
    const digest = smtp.messages.find((m) => m.subject === "You have 1 unread notification");
    expect(digest?.to).toEqual(["dave@example.com"]);
    expect(digest?.text).toContain("- Kettle is back in stock");
    expect((await digestEmails()).map((e) => e.status)).toEqual(["sent"]);
  });

  it("asks the users service when the outbox has no address, and skips users it cannot resolve", async () => {
    const erin = randomUUID(); // known to the users stand-in only
    const gone = randomUUID(); // the users service says it does not exist
    const silent = randomUUID(); // nobody answers for it
    for (const userId of [erin, gone, silent]) {
      await notify(userId, "Scale is back in stock");
      await database.db
        .deleteFrom("email_outbox")
        .where("notification_id", "in", (eb) =>
          eb.selectFrom("notifications").select("id").where("user_id", "=", userId),
        )
        .execute();
    }
    contacts.set(erin, { id: erin, email: "erin@example.com", name: "Erin" });
    contacts.set(gone, null);

    expect(await runDailyDigest(deps(), MORNING)).toEqual({
      day: "2024-05-01",
      queued: 1,
      skipped: 2,
    });
    const [email] = await digestEmails();
    expect(email).toMatchObject({ userId: erin, to: "erin@example.com" });
    expect(email?.text.startsWith("Hello Erin,\n")).toBe(true);

    // Once the users service answers for it, a later run of the same day catches up.
    contacts.set(silent, { id: silent, email: "silent@example.com", name: "Sam" });
    expect(await runDailyDigest(deps(), MORNING)).toEqual({
      day: "2024-05-01",
      queued: 1,
      skipped: 1,
    });
    expect((await digestEmails()).map((e) => e.to)).toEqual([
      "erin@example.com",
      "silent@example.com",
    ]);
  });

  it("pages through many users and reads the day in the configured time zone", async () => {
    const users = Array.from({ length: 7 }, () => randomUUID());
    for (const userId of users) await notify(userId, "Filter papers are back in stock");
    // 23:30 UTC on April 30th is already May 1st in Paris.
    const lateEvening = new Date("2024-04-30T23:30:00.000Z");
    const outcome = await runDailyDigest(
      deps({ timeZone: "Europe/Paris", batchSize: 3 }),
      lateEvening,
    );
    expect(outcome).toEqual({ day: "2024-05-01", queued: 7, skipped: 0 });
    const queued = await digestEmails();
    expect(new Set(queued.map((e) => e.userId))).toEqual(new Set(users));
  });
});
