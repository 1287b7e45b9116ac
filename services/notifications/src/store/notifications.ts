/** Queries on `notifications` (and the outbox row written with one), scoped to the owning user. */

import type { CursorKey } from "@portico/kit";
import { type Kysely, sql, type Transaction } from "kysely";
import { v7 as uuidv7 } from "uuid";
import { enqueueNotificationCreated } from "../events.js";
import { queueEmail } from "./outbox.js";
import type { NotificationRow, NotificationsDatabase } from "./schema.js";

type Db = Kysely<NotificationsDatabase>;

/** Up to `limit` of the user's notifications after `after`, newest first; `unread` filters. */
export async function findNotifications(
  db: Db,
  userId: string,
  page: { limit: number; after?: CursorKey; unread?: boolean },
): Promise<NotificationRow[]> {
  let q = db.selectFrom("notifications").selectAll().where("user_id", "=", userId);
  if (page.unread !== undefined) {
    q = q.where("read_at", page.unread ? "is" : "is not", null);
  }
  if (page.after) {
    const { createdAt, id } = page.after;
    q = q.where((eb) =>
      eb(eb.refTuple("created_at", "id"), "<", eb.tuple(eb.val(createdAt), eb.val(id))),
    );
  }
  return q.orderBy("created_at", "desc").orderBy("id", "desc").limit(page.limit).execute();
}

/**
 * Marks the user's notification read, keeping the first `read_at` when it already is.
 * @returns the notification, or undefined when the user has none with this id.
 */
export async function markNotificationRead(
  db: Db,
  userId: string,
  id: string,
): Promise<NotificationRow | undefined> {
  return db
    .updateTable("notifications")
    .set({ read_at: sql<Date>`coalesce(read_at, now())` })
    .where("id", "=", id)
    .where("user_id", "=", userId)
    .returningAll()
    .executeTakeFirst();
}

/** A back-in-stock notification for one user and the email that goes with it. */
export interface BackInStockRecord {
  userId: string;
  productId: string;
  /** Id of the event envelope; with `userId`, the idempotency key. */
  eventId: string;
  title: string;
  body: string;
  email: { to: string; subject: string; text: string };
  /** The request id of the event that caused it, passed on to `notification.created`. */
  requestId?: string | undefined;
}

/**
 * In one transaction: inserts the notification unless this user already has one for this event
 * (`on conflict (user_id, event_id) do nothing`) and, only when it was inserted, its outbox email
 * and its `notifications.notification.created` event (the event outbox).
 * @returns true when the notification (and email) were created, false for a repeat.
 */
export async function recordBackInStock(db: Db, record: BackInStockRecord): Promise<boolean> {
  return db.transaction().execute((trx) => insertBackInStock(trx, record));
}

/**
 * {@link recordBackInStock} inside the caller's transaction `trx` (e.g. the consumer's, which
 * also records the event as processed).
 */
export async function insertBackInStock(
  trx: Transaction<NotificationsDatabase>,
  record: BackInStockRecord,
): Promise<boolean> {
  const inserted = await trx
    .insertInto("notifications")
    .values({
      id: uuidv7(),
      user_id: record.userId,
      type: "back_in_stock",
      title: record.title,
      body: record.body,
      product_id: record.productId,
      event_id: record.eventId,
    })
    .onConflict((oc) => oc.columns(["user_id", "event_id"]).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!inserted) return false;
  await queueEmail(trx, { notificationId: inserted.id }, record.email);
  await enqueueNotificationCreated(trx, inserted, { requestId: record.requestId });
  return true;
}
