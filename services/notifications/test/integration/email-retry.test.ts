/**
 * The email retry job with the real outbox sender, PostgreSQL and an in-process SMTP server: a
 * failed email whose back-off has elapsed is requeued and delivered; one still backing off, or
 * given up on, is left alone.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { createLogger } from "@portico/kit";
import { sql } from "kysely";
import { v7 as uuidv7 } from "uuid";
import { MAX_DELIVERY_ATTEMPTS, SCHEDULED_RETRY } from "../../src/domain/delivery-policy.js";
import { runEmailRetry } from "../../src/jobs/email-retry.js";
import { createOutboxSender } from "../../src/mail/outbox-sender.js";
import { createSmtpTransport } from "../../src/mail/transport.js";
import { recordBackInStock } from "../../src/store/notifications.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { type SmtpCapture, startSmtpCapture } from "../support/smtp.js";
import { waitFor } from "../support/wait.js";

const log = createLogger("notifications-test", "silent");

let database: TestDatabase;
let smtp: SmtpCapture;

beforeAll(async () => {
  database = await createTestDatabase("notifications_email_retry");
  smtp = await startSmtpCapture();
});

afterAll(async () => {
  await smtp?.stop();
  await database?.drop();
});

beforeEach(async () => {
  smtp.messages.length = 0;
  smtp.refuse = false;
  await database.db.deleteFrom("notifications").execute(); // cascades to the outbox
});

function sender() {
  return createOutboxSender({
    db: database.db,
    transport: createSmtpTransport(smtp.url),
    from: "Portico <no-reply@portico.local>",
    log,
    retryBaseDelayMs: 1,
  });
}

/** Queues one email to `to`; resolves with its outbox id. */
async function queueEmail(to: string): Promise<string> {
  await recordBackInStock(database.db, {
    userId: randomUUID(),
    productId: uuidv7(),
    eventId: uuidv7(),
    title: "Espresso cup is back in stock",
    body: "Espresso cup is back in stock (25 available).",
    email: { to, subject: "Espresso cup is back in stock", text: "25 available" },
  });
  const row = await database.db
    .selectFrom("email_outbox")
    .select("id")
    .where("to_address", "=", to)
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Marks an email failed after `attempts`, its next attempt `inMs` from now (negative: past). */
async function markFailed(id: string, attempts: number, inMs: number): Promise<void> {
  await database.db
    .updateTable("email_outbox")
    .set({
      status: "failed",
      attempts,
      last_error: "550 mailbox unavailable",
      next_attempt_at: sql<Date>`now() + make_interval(secs => ${inMs / 1000})`,
    })
    .where("id", "=", id)
    .execute();
}

async function row(id: string) {
  return database.db
    .selectFrom("email_outbox")
    .select([
      "status",
      "attempts",
      "last_error",
      sql<number>`(extract(epoch from next_attempt_at - now()) * 1000)::float8`.as("dueInMs"),
    ])
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
}

describe("email retry job", () => {
  it("requeues a failed email whose back-off has elapsed, and the sender delivers it", async () => {
    const due = await queueEmail("due@example.com");
    const waiting = await queueEmail("waiting@example.com");
    const givenUp = await queueEmail("given-up@example.com");
    await markFailed(due, MAX_DELIVERY_ATTEMPTS, -1_000);
    await markFailed(waiting, MAX_DELIVERY_ATTEMPTS, 60_000);
    await markFailed(givenUp, SCHEDULED_RETRY.maxTotalAttempts, -1_000);

    let kicked = 0;
    expect(await runEmailRetry({ db: database.db, log, onRequeued: () => kicked++ })).toBe(1);
    expect(kicked).toBe(1);
    expect(await row(due)).toMatchObject({ status: "pending", attempts: MAX_DELIVERY_ATTEMPTS });

    const s = sender();
    expect(await s.sendBatch()).toBe(1);
    await s.stop();
    expect(smtp.messages.map((m) => m.to[0])).toEqual(["due@example.com"]);
    expect(await row(due)).toMatchObject({ status: "sent", attempts: MAX_DELIVERY_ATTEMPTS });
    expect(await row(waiting)).toMatchObject({ status: "failed" });
    expect(await row(givenUp)).toMatchObject({ status: "failed" });

    // Nothing else is due: a second run requeues nothing.
    expect(await runEmailRetry({ db: database.db, log, onRequeued: () => kicked++ })).toBe(0);
    expect(kicked).toBe(1);
  });

  it("backs off exponentially between scheduled retries, on the one delivery policy", async () => {
    const id = await queueEmail("flaky@example.com");
    smtp.refuse = true;
    const s = sender();
    // The sender's own attempts, then `failed` with the first scheduled back-off (1 min).
    await waitFor("the sender to give up", async () => {
      await s.sendBatch();
      return (await row(id)).status === "failed";
    });
    const afterSender = await row(id);
    expect(afterSender.attempts).toBe(MAX_DELIVERY_ATTEMPTS);
    expect(afterSender.dueInMs).toBeGreaterThan(SCHEDULED_RETRY.baseDelayMs - 5_000);
    expect(afterSender.dueInMs).toBeLessThanOrEqual(SCHEDULED_RETRY.baseDelayMs);
    expect(await runEmailRetry({ db: database.db, log })).toBe(0); // still backing off

    // The back-off elapses; the retry fails again and the next one waits twice as long.
    await markFailed(id, MAX_DELIVERY_ATTEMPTS, -1);
    expect(await runEmailRetry({ db: database.db, log })).toBe(1);
    expect(await s.sendBatch()).toBe(1);
    const afterRetry = await row(id);
    expect(afterRetry).toMatchObject({ status: "failed", attempts: MAX_DELIVERY_ATTEMPTS + 1 });
    expect(afterRetry.dueInMs).toBeGreaterThan(2 * SCHEDULED_RETRY.baseDelayMs - 5_000);
    expect(afterRetry.dueInMs).toBeLessThanOrEqual(2 * SCHEDULED_RETRY.baseDelayMs);

    // Accepted at last.
    smtp.refuse = false;
    await markFailed(id, MAX_DELIVERY_ATTEMPTS + 1, -1);
    expect(await runEmailRetry({ db: database.db, log })).toBe(1);
    expect(await s.sendBatch()).toBe(1);
    await s.stop();
    expect(await row(id)).toMatchObject({ status: "sent", attempts: MAX_DELIVERY_ATTEMPTS + 1 });
    expect(smtp.messages.map((m) => m.to[0])).toEqual(["flaky@example.com"]);
  });
});
