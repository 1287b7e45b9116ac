/**
 * The scheduled jobs' tables: `digests` records each user's daily digest, unique per
 * (user_id, digest_day) so a re-run of the same day adds nothing; its email sits in `email_outbox`
 * like every other, so an outbox row is now caused by exactly one notification or one digest. The
 * email retry job reads failed rows by next_attempt_at; the digest job reads unread notifications
 * by user.
 */
import { type Kysely, sql } from "kysely";

/** Creates `digests`, links outbox rows to it and adds the jobs' indexes. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("digests")
    .addColumn("id", "uuid", (c) => c.primaryKey())
    .addColumn("user_id", "uuid", (c) => c.notNull())
    .addColumn("digest_day", "date", (c) => c.notNull())
    .addColumn("unread_count", "integer", (c) => c.notNull().check(sql`unread_count > 0`))
    .addColumn("created_at", "timestamptz(3)", (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint("digests_user_day_key", ["user_id", "digest_day"])
    .execute();

  await db.schema
    .alterTable("email_outbox")
    .alterColumn("notification_id", (c) => c.dropNotNull())
    .execute();
  await db.schema
    .alterTable("email_outbox")
    .addColumn("digest_id", "uuid", (c) => c.references("digests.id").onDelete("cascade"))
    .execute();
  await db.schema
    .alterTable("email_outbox")
    .addCheckConstraint(
      "email_outbox_one_cause_check",
      sql`(notification_id is null) <> (digest_id is null)`,
    )
    .execute();
  await db.schema
    .createIndex("email_outbox_digest_idx")
    .on("email_outbox")
    .column("digest_id")
    .execute();
  await db.schema
    .createIndex("email_outbox_failed_idx")
    .on("email_outbox")
    .columns(["next_attempt_at", "id"])
    .where(sql.ref("status"), "=", "failed")
    .execute();
  await db.schema
    .createIndex("notifications_unread_user_idx")
    .on("notifications")
    .columns(["user_id", "created_at"])
    .where(sql.ref("read_at"), "is", null)
    .execute();
}

/** Drops what `up` added (digest emails go with their digests). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("notifications_unread_user_idx").execute();
  await db.schema.dropIndex("email_outbox_failed_idx").execute();
  await sql`delete from email_outbox where digest_id is not null`.execute(db);
  await db.schema
    .alterTable("email_outbox")
    .dropConstraint("email_outbox_one_cause_check")
    .execute();
  await db.schema.alterTable("email_outbox").dropColumn("digest_id").execute();
  await db.schema
    .alterTable("email_outbox")
    .alterColumn("notification_id", (c) => c.setNotNull())
    .execute();
  await db.schema.dropTable("digests").execute();
}
