/**
 * The outbox sender against real PostgreSQL and a real SMTP server in the test process:
 * delivery, no double sending between concurrent senders, back-off, giving up, start/stop.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { createLogger } from "@portico/kit";
import { v7 as uuidv7 } from "uuid";
import { createOutboxSender, type OutboxSenderOptions } from "../../src/mail/outbox-sender.js";
import { createSmtpTransport } from "../../src/mail/transport.js";
import { recordBackInStock } from "../../src/store/notifications.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { type SmtpCapture, startSmtpCapture } from "../support/smtp.js";
import { waitFor } from "../support/wait.js";

const FROM = "Portico <no-reply@portico.local>";
const log = createLogger("notifications-test", "silent");

let database: TestDatabase;
let smtp: SmtpCapture;

beforeAll(async () => {
  database = await createTestDatabase("notifications_outbox");
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

function sender(options: Partial<OutboxSenderOptions> = {}) {
  return createOutboxSender({
    db: database.db,
    transport: createSmtpTransport(smtp.url),
    from: FROM,
    log,
    ...options,
  });
}

/** Queues `count` emails (each with its notification); resolves with their addresses. */
async function queueEmails(count: number): Promise<string[]> {
  const addresses: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const to = `user${i}-${randomUUID().slice(0, 8)}@example.com`;
    await recordBackInStock(database.db, {
      userId: randomUUID(),
      productId: uuidv7(),
      eventId: uuidv7(),
      title: "Espresso cup is back in stock",
      body: "Espresso cup is back in stock (25 available).",
      email: { to, subject: "Espresso cup is back in stock", text: "25 available" },
    });
    addresses.push(to);
  }
  return addresses;
}

function outbox() {
  return database.db.selectFrom("email_outbox").selectAll().orderBy("id").execute();
}

describe("outbox sender", () => {
  it("sends each pending email once and marks it sent", async () => {
    const addresses = await queueEmails(3);
    const s = sender();
    expect(await s.sendBatch()).toBe(3);
    expect(await s.sendBatch()).toBe(0);
    await s.stop();

    expect(smtp.messages.map((m) => m.to[0]).sort()).toEqual([...addresses].sort());
    const rows = await outbox();
    for (const message of smtp.messages) {
      expect(message.from).toBe(FROM);
      expect(message.subject).toBe("Espresso cup is back in stock");
      expect(message.text.trim()).toBe("25 available");
      const row = rows.find((r) => r.to_address === message.to[0]);
      expect(message.messageId).toBe(`<${row?.id}@portico.local>`);
    }
    expect(rows.map((r) => [r.status, r.attempts, r.last_error])).toEqual(
      rows.map(() => ["sent", 0, null]),
    );
    expect(rows.every((r) => r.sent_at instanceof Date)).toBe(true);
  });

  it("never sends an email twice when several senders run at once", async () => {
    const addresses = await queueEmails(24);
    const senders = [sender({ batchSize: 3 }), sender({ batchSize: 3 }), sender({ batchSize: 3 })];
    const drainAll = async (s: ReturnType<typeof sender>) => {
      while ((await s.sendBatch()) > 0) {}
    };
    await Promise.all(senders.map(drainAll));
    await Promise.all(senders.map((s) => s.stop()));

    const delivered = smtp.messages.map((m) => m.to[0]);
    expect(delivered).toHaveLength(24);
    expect(new Set(delivered)).toEqual(new Set(addresses));
  });

  it("records a refused delivery, retries after a back-off, and sends once accepted", async () => {
    await queueEmails(1);
    const s = sender({ retryBaseDelayMs: 400 });
    smtp.refuse = true;
    expect(await s.sendBatch()).toBe(1);
    const [failed] = await outbox();
    expect(failed).toMatchObject({ status: "pending", attempts: 1, sent_at: null });
    expect(failed?.last_error).toMatch(/550/);
    expect(await s.sendBatch()).toBe(0); // not due yet

    smtp.refuse = false;
    await delay(450);
    expect(await s.sendBatch()).toBe(1);
    await s.stop();
    const [sent] = await outbox();
    expect(sent).toMatchObject({ status: "sent", attempts: 1 });
    expect(smtp.messages).toHaveLength(1);
  });

  it("gives up after 5 failed attempts and marks the email failed", async () => {
    await queueEmails(1);
    const s = sender({ retryBaseDelayMs: 1 });
    smtp.refuse = true;
    const row = await waitFor("the email to be marked failed", async () => {
      await s.sendBatch();
      const [current] = await outbox();
      return current?.status === "failed" ? current : undefined;
    });
    expect(row.attempts).toBe(5);
    expect(row.last_error).toMatch(/mailbox unavailable/);

    smtp.refuse = false;
    await delay(20);
    expect(await s.sendBatch()).toBe(0);
    await s.stop();
    expect(smtp.messages).toHaveLength(0);
  });

  it("polls on its own once started, and sends nothing after stop", async () => {
    const s = sender({ intervalMs: 50 });
    s.start();
    const [first] = await queueEmails(1);
    await waitFor("the polled email", () => smtp.messages.length === 1);
    expect(smtp.messages[0]?.to).toEqual([first]);

    await s.stop();
    await queueEmails(1);
    s.kick();
    await delay(200);
    expect(smtp.messages).toHaveLength(1);
    expect((await outbox()).map((r) => r.status).sort()).toEqual(["pending", "sent"]);
  });
});
