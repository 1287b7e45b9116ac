/** Queries on `subscriptions`, every one scoped to the owning user. */
import type { CursorKey } from "@portico/kit";
import type { Kysely } from "kysely";
import { v7 as uuidv7 } from "uuid";
import type { NotificationsDatabase, SubscriptionRow } from "./schema.js";

type Db = Kysely<NotificationsDatabase>;

/**
 * Subscribes `userId` to `productId`.
 * @throws the PostgreSQL unique violation (see `isUniqueViolation`) when it already exists.
 */
export async function insertSubscription(
  db: Db,
  subscription: { userId: string; productId: string },
): Promise<SubscriptionRow> {
  return db
    .insertInto("subscriptions")
    .values({ id: uuidv7(), user_id: subscription.userId, product_id: subscription.productId })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Up to `limit` of the user's subscriptions after `after`, newest first. */
export async function findSubscriptions(
  db: Db,
  userId: string,
  page: { limit: number; after?: CursorKey },
): Promise<SubscriptionRow[]> {
  let q = db.selectFrom("subscriptions").selectAll().where("user_id", "=", userId);
  if (page.after) {
    const { createdAt, id } = page.after;
    q = q.where((eb) =>
      eb(eb.refTuple("created_at", "id"), "<", eb.tuple(eb.val(createdAt), eb.val(id))),
    );
  }
  return q.orderBy("created_at", "desc").orderBy("id", "desc").limit(page.limit).execute();
}

/** Deletes the user's subscription; false when the user has none with this id. */
export async function deleteSubscription(db: Db, userId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom("subscriptions")
    .where("id", "=", id)
    .where("user_id", "=", userId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/**
 * Users subscribed to `productId` who have no notification for event `eventId` yet (so a
 * redelivered event only reaches the subscribers an earlier delivery missed), oldest first.
 */
export async function subscribersWithoutNotification(
  db: Db,
  productId: string,
  eventId: string,
): Promise<string[]> {
  const rows = await db
    .selectFrom("subscriptions as s")
    .select("s.user_id")
    .where("s.product_id", "=", productId)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("notifications as n")
            .select("n.id")
            .whereRef("n.user_id", "=", "s.user_id")
            .where("n.event_id", "=", eventId),
        ),
      ),
    )
    .orderBy("s.created_at")
    .orderBy("s.id")
    .execute();
  return rows.map((row) => row.user_id);
}
