/**
 * notifications as a publisher: each notification the back-in-stock handler creates writes
 * `notifications.notification.created` into the outbox in the same transaction, exactly once per
 * notification, and the kit's relay publishes it to the `NOTIFICATIONS` stream (real PostgreSQL
 * and NATS JetStream; a stand-in answers the users query).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { DeliverPolicy, jetstream } from "@nats-io/jetstream";
import { type EventEnvelope, type QueryReply, validateEvent } from "@portico/contracts";
import {
  createLogger,
  ensureStream,
  type NatsConnection,
  type OutboxRelay,
  startOutboxRelay,
} from "@portico/kit";
import { sql } from "kysely";
import { v7 as uuidv7 } from "uuid";
import { type BackInStockEvent, handleBackInStock } from "../../src/consumers.js";
import { NOTIFICATION_CREATED_SUBJECT, NOTIFICATIONS_STREAM } from "../../src/events.js";
import { natsLookups } from "../../src/queries.js";
import { findNotifications } from "../../src/store/notifications.js";
import { insertSubscription } from "../../src/store/subscriptions.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { type OwnNats, startOwnNats } from "../support/own-nats.js";
import { type StandIn, standInUsers } from "../support/stand-ins.js";

type Created = EventEnvelope<typeof NOTIFICATION_CREATED_SUBJECT>;

const ada = { id: randomUUID(), email: "ada@example.com", name: "Ada" };
const grace = { id: randomUUID(), email: "grace@example.com", name: "Grace" };
const contacts = new Map<string, QueryReply<"users.query.getUserContact">>([
  [ada.id, ada],
  [grace.id, grace],
]);
const log = createLogger("notification-events-test", "silent");

let database: TestDatabase;
let ownNats: OwnNats;
let nc: NatsConnection;
let users: StandIn;
let relay: OutboxRelay | undefined;

beforeAll(async () => {
  database = await createTestDatabase("notifications_events");
  ownNats = await startOwnNats("notification-events", log);
  nc = ownNats.nc;
  users = await standInUsers(nc, contacts);
});

afterAll(async () => {
  await relay?.stop();
  await users?.stop();
  await ownNats?.stop();
  await database?.drop();
});

/** A back-in-stock envelope for `productId`. */
function backInStock(productId: string): BackInStockEvent {
  return {
    id: uuidv7(),
    type: "products.product.back_in_stock",
    occurredAt: new Date().toISOString(),
    source: "products",
    subject: productId,
    data: { productId, name: "Espresso cup", stock: 3 },
  };
}

async function outboxEnvelopes(): Promise<Created[]> {
  const { rows } = await sql<{ envelope: Created }>`
    select envelope from outbox where subject = ${NOTIFICATION_CREATED_SUBJECT}
    order by seq`.execute(database.db);
  return rows.map((row) => row.envelope);
}

describe("notifications.notification.created", () => {
  it("is written with each notification, in its transaction, once per notification", async () => {
    const productId = uuidv7();
    await insertSubscription(database.db, { userId: ada.id, productId });
    await insertSubscription(database.db, { userId: grace.id, productId });
    let kicks = 0;
    const deps = {
      db: database.db,
      lookups: natsLookups(nc, 1_000),
      log,
      onNotificationsCreated: () => {
        kicks += 1;
      },
    };
    const event = backInStock(productId);

    const first = await handleBackInStock(deps, event, { requestId: "req-restock-1" });
    const again = await handleBackInStock(deps, event, { requestId: "req-restock-1" });

    expect(first).toEqual({ applied: true, notified: 2 });
    expect(again).toEqual({ applied: false, notified: 0 });
    expect(kicks).toBe(1);
    const envelopes = await outboxEnvelopes();
    expect(envelopes).toHaveLength(2);
    for (const user of [ada, grace]) {
      const [row] = await findNotifications(database.db, user.id, { limit: 10 });
      const envelope = envelopes.find((e) => e.subject === user.id);
      expect(envelope).toBeDefined();
      expect(validateEvent(NOTIFICATION_CREATED_SUBJECT, envelope)).toEqual({ valid: true });
      expect(envelope?.source).toBe("notifications");
      expect(envelope?.data).toEqual({
        userId: user.id,
        notification: {
          id: row?.id,
          type: "back_in_stock",
          title: row?.title,
          body: row?.body,
          productId,
          createdAt: row?.created_at.toISOString(),
          readAt: null,
        },
      });
    }
    const { rows } = await sql<{ headers: Record<string, string> }>`
      select headers from outbox where subject = ${NOTIFICATION_CREATED_SUBJECT}`.execute(
      database.db,
    );
    expect(rows.map((row) => row.headers["X-Request-Id"])).toEqual([
      "req-restock-1",
      "req-restock-1",
    ]);
  });

  it("is published by the relay to the NOTIFICATIONS stream", async () => {
    await ensureStream(nc, NOTIFICATIONS_STREAM);
    const js = jetstream(nc);
    const consumer = await js.consumers.get(NOTIFICATIONS_STREAM.name, {
      filter_subjects: NOTIFICATION_CREATED_SUBJECT,
      deliver_policy: DeliverPolicy.All,
    });
    const written = new Set((await outboxEnvelopes()).map((e) => e.id));
    relay = startOutboxRelay({ db: database.db, nc, log });

    const received: Created[] = [];
    const messages = await consumer.consume();
    const timer = setTimeout(() => messages.stop(), 10_000);
    for await (const msg of messages) {
      const envelope = msg.json<Created>();
      if (written.has(envelope.id)) received.push(envelope);
      if (received.length === written.size) break;
    }
    clearTimeout(timer);
    expect(received.map((e) => e.id).sort()).toEqual([...written].sort());
    const { rows } = await sql<{ pending: number }>`
      select count(*)::int as pending from outbox where published_at is null`.execute(database.db);
    expect(rows[0]?.pending).toBe(0);
  });
});
