/**
 * Idempotent consumers: `processed_events` records each event a consumer applied, in the
 * transaction of its effect (the kit's processOnce); `dead_letter_replays` records each dead
 * letter replayed successfully, so a second replay is refused (409).
 */
import { createProcessedEventsTable, dropProcessedEventsTable } from "@portico/kit";
import { type Kysely, sql } from "kysely";

/** Creates `processed_events` and `dead_letter_replays`. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await createProcessedEventsTable(db);
  await db.schema
    .createTable("dead_letter_replays")
    .addColumn("dead_letter_id", "bigint", (c) => c.primaryKey())
    .addColumn("consumer", "text", (c) => c.notNull())
    .addColumn("subject", "text", (c) => c.notNull())
    .addColumn("event_id", "text")
    .addColumn("outcome", "text", (c) =>
      c.notNull().check(sql`outcome in ('applied', 'already_applied')`),
    )
    .addColumn("replayed_at", "timestamptz(3)", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

/** Drops both tables. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("dead_letter_replays").execute();
  await dropProcessedEventsTable(db);
}
