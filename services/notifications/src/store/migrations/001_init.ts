/**
 * Subscriptions, the inbox and the email outbox. Keyset pagination reads (user_id, created_at desc,
 * id desc). Timestamps are `timestamptz(3)`: millisecond precision, so a value survives the round
 * trip through a JS Date and a cursor exactly. The outbox sender reads pending rows by
 * next_attempt_at.
 */
import { type Kysely, sql } from "kysely";

/** Creates the three tables and their indexes. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("subscriptions")
    .addColumn("id", "uuid", (c) => c.primaryKey())
    .addColumn("user_id", "uuid", (c) => c.notNull())
    .addColumn("product_id", "uuid", (c) => c.notNull())
    .addColumn("created_at", "timestamptz(3)", (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint("subscriptions_user_product_key", ["user_id", "product_id"])
    .execute();
  await db.schema
    .createIndex("subscriptions_user_page_idx")
    .on("subscriptions")
    .expression(sql`user_id, created_at desc, id desc`)
    .execute();
  await db.schema
    .createIndex("subscriptions_product_idx")
    .on("subscriptions")
    .column("product_id")
    .execute();

  await db.schema
    .createTable("notifications")
    .addColumn("id", "uuid", (c) => c.primaryKey())
    .addColumn("user_id", "uuid", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull().check(sql`type in ('back_in_stock')`))
    .addColumn("title", "text", (c) => c.notNull())
    .addColumn("body", "text", (c) => c.notNull())
    .addColumn("product_id", "uuid", (c) => c.notNull())
    .addColumn("event_id", "uuid", (c) => c.notNull())
    .addColumn("created_at", "timestamptz(3)", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("read_at", "timestamptz(3)")
    .addUniqueConstraint("notifications_user_event_key", ["user_id", "event_id"])
    .execute();
  await db.schema
    .createIndex("notifications_user_page_idx")
    .on("notifications")
    .expression(sql`user_id, created_at desc, id desc`)
    .execute();

  await db.schema
    .createTable("email_outbox")
    .addColumn("id", "uuid", (c) => c.primaryKey())
    .addColumn("notification_id", "uuid", (c) =>
      c.notNull().references("notifications.id").onDelete("cascade"),
    )
    .addColumn("to_address", "text", (c) => c.notNull())
    .addColumn("subject", "text", (c) => c.notNull())
    .addColumn("text", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) =>
      c.notNull().defaultTo("pending").check(sql`status in ('pending', 'sent', 'failed')`),
    )
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("last_error", "text")
    .addColumn("next_attempt_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("created_at", "timestamptz(3)", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("sent_at", "timestamptz(3)")
    .execute();
  await db.schema
    .createIndex("email_outbox_pending_idx")
    .on("email_outbox")
    .columns(["next_attempt_at", "id"])
    .where(sql.ref("status"), "=", "pending")
    .execute();
}

/** Drops the tables. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("email_outbox").execute();
  await db.schema.dropTable("notifications").execute();
  await db.schema.dropTable("subscriptions").execute();
}
