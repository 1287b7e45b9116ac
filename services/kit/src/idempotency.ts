/**
 * Idempotent event handling: a consumer records the id of each event it applied in
 * `processed_events`, in the SAME database transaction as the event's effect. A redelivery, a
 * duplicate publish or a replay then finds the id and changes nothing; a rolled-back effect
 * leaves no record, so the event is applied when it comes again. Each consuming service creates
 * the table in one of its own migrations with {@link createProcessedEventsTable}.
 */
import { type ColumnType, type Kysely, sql, type Transaction } from "kysely";

/** The table that records applied events; add it to the service's database interface. */
export interface ProcessedEventsTable {
  /** Durable consumer name, e.g. `notifications-back-in-stock`. */
  consumer: string;
  /** The event envelope's `id`. */
  event_id: string;
  /** When it was applied; filled by the database. */
  processed_at: ColumnType<Date, Date | undefined, never>;
}

/** The part of a service's database this module reads and writes. */
export interface ProcessedEventsDatabase {
  processed_events: ProcessedEventsTable;
}

/** Which consumer applied which event. */
export interface ProcessedEventKey {
  consumer: string;
  eventId: string;
}

/**
 * Creates `processed_events (consumer, event_id, processed_at)` with primary key
 * (consumer, event_id). Call it from a migration's `up`.
 */
export async function createProcessedEventsTable(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("processed_events")
    .addColumn("consumer", "text", (c) => c.notNull())
    .addColumn("event_id", "text", (c) => c.notNull())
    .addColumn("processed_at", "timestamptz(3)", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("processed_events_pkey", ["consumer", "event_id"])
    .execute();
}

/** Drops the table (a migration's `down`). */
export async function dropProcessedEventsTable(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("processed_events").execute();
}

/**
 * Records that `consumer` applies `eventId`, inside the caller's transaction `trx`: apply the
 * effect in that same transaction only when this returns true. A concurrent transaction recording
 * the same key waits for this one and then gets false (or true if this one rolls back).
 * @returns true the first time, false when the event was already applied (nothing to do).
 */
export async function processOnce<DB extends ProcessedEventsDatabase>(
  trx: Transaction<DB>,
  key: ProcessedEventKey,
): Promise<boolean> {
  const db = trx as unknown as Kysely<ProcessedEventsDatabase>;
  const inserted = await db
    .insertInto("processed_events")
    .values({ consumer: key.consumer, event_id: key.eventId })
    .onConflict((oc) => oc.columns(["consumer", "event_id"]).doNothing())
    .returning("event_id")
    .executeTakeFirst();
  return inserted !== undefined;
}

/**
 * True when `consumer` has already applied `eventId` (committed). A cheap pre-check that lets a
 * handler skip lookups for a redelivered event; the decision still belongs to {@link processOnce}.
 */
export async function wasProcessed<DB extends ProcessedEventsDatabase>(
  db: Kysely<DB>,
  key: ProcessedEventKey,
): Promise<boolean> {
  const kdb = db as unknown as Kysely<ProcessedEventsDatabase>;
  const row = await kdb
    .selectFrom("processed_events")
    .select("event_id")
    .where("consumer", "=", key.consumer)
    .where("event_id", "=", key.eventId)
    .executeTakeFirst();
  return row !== undefined;
}
