/**
 * processOnce / wasProcessed against real PostgreSQL (a fresh database on DATABASE_URL): the
 * processed-event record lives and dies with the transaction of the effect.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createDatabase as createTestDatabase } from "@portico/scripts/testing/provision";
import { type Kysely, sql } from "kysely";
import { v7 as uuidv7 } from "uuid";
import { createDatabase } from "../../src/db.js";
import {
  createProcessedEventsTable,
  type ProcessedEventsDatabase,
  processOnce,
  wasProcessed,
} from "../../src/idempotency.js";

/** A service database: the processed-events table and an effect table. */
interface TestDatabase extends ProcessedEventsDatabase {
  effects: { id: string; event_id: string };
}

let db: Kysely<TestDatabase>;
const consumer = "kit-test-idempotency";

beforeAll(async () => {
  db = createDatabase<TestDatabase>(await createTestDatabase("kit_idempotency"), 4);
  await createProcessedEventsTable(db as Kysely<unknown>);
  await db.schema
    .createTable("effects")
    .addColumn("id", "uuid", (c) => c.primaryKey())
    .addColumn("event_id", "text", (c) => c.notNull())
    .execute();
});

afterAll(async () => {
  await db?.destroy();
});

/** Applies an event the way a consumer does: the record and the effect in one transaction. */
function apply(eventId: string, options: { failAfterEffect?: boolean } = {}) {
  return db.transaction().execute(async (trx) => {
    if (!(await processOnce(trx, { consumer, eventId }))) return false;
    await trx.insertInto("effects").values({ id: uuidv7(), event_id: eventId }).execute();
    if (options.failAfterEffect) throw new Error("crash after the effect");
    return true;
  });
}

async function effectsOf(eventId: string): Promise<number> {
  const rows = await db
    .selectFrom("effects")
    .select("id")
    .where("event_id", "=", eventId)
    .execute();
  return rows.length;
}

describe("processOnce", () => {
  it("applies an event the first time and reports a repeat afterwards", async () => {
    const eventId = uuidv7();
    expect(await apply(eventId)).toBe(true);
    expect(await apply(eventId)).toBe(false);
    expect(await effectsOf(eventId)).toBe(1);
    expect(await wasProcessed(db, { consumer, eventId })).toBe(true);
  });

  it("keeps consumers apart: another consumer may apply the same event", async () => {
    const eventId = uuidv7();
    expect(await apply(eventId)).toBe(true);
    const other = await db
      .transaction()
      .execute((trx) => processOnce(trx, { consumer: "kit-test-other", eventId }));
    expect(other).toBe(true);
    expect(await wasProcessed(db, { consumer: "kit-test-unknown", eventId })).toBe(false);
  });

  it("records nothing when the effect's transaction rolls back, so a retry applies it", async () => {
    const eventId = uuidv7();
    await expect(apply(eventId, { failAfterEffect: true })).rejects.toThrow("crash after");
    expect(await wasProcessed(db, { consumer, eventId })).toBe(false);
    expect(await effectsOf(eventId)).toBe(0);
    expect(await apply(eventId)).toBe(true);
    expect(await effectsOf(eventId)).toBe(1);
  });

  it("lets exactly one of concurrent deliveries of the same event apply it", async () => {
    const eventId = uuidv7();
    const outcomes = await Promise.all([apply(eventId), apply(eventId), apply(eventId)]);
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    expect(await effectsOf(eventId)).toBe(1);
  });

  it("stores the key with the time it was applied", async () => {
    const eventId = uuidv7();
    await apply(eventId);
    const row = await db
      .selectFrom("processed_events")
      .selectAll()
      .where("event_id", "=", eventId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ consumer, event_id: eventId, processed_at: expect.any(Date) });
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from information_schema.table_constraints
      where table_name = 'processed_events' and constraint_type = 'PRIMARY KEY'`.execute(db);
    expect(rows[0]?.n).toBe(1);
  });
});
