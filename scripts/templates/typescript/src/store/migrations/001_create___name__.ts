/** The `__name__` table. Once applied, a migration never changes: add a new one instead. */
import { type Kysely, sql } from "kysely";

/** Creates `__name__`. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("__name__")
    .addColumn("id", "uuid", (col) => col.primaryKey())
    .addColumn("name", "text", (col) => col.notNull())
    .addColumn("owner_id", "uuid", (col) => col.notNull())
    .addColumn("created_at", sql`timestamptz(3)`, (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex("__name___created_at_id_idx")
    .on("__name__")
    .columns(["created_at desc", "id desc"])
    .execute();
}

/** Drops `__name__`. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("__name__").execute();
}
