/**
 * The catalogue: one row per product, stock on the row (it is locked with the product when it
 * changes). Timestamps keep millisecond precision so cursors (JS Dates) compare exactly.
 */
import { type Kysely, sql } from "kysely";

/** Creates `products` and the keyset-pagination index (created_at desc, id desc). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("products")
    .addColumn("id", "uuid", (col) => col.primaryKey())
    .addColumn("name", "text", (col) => col.notNull())
    .addColumn("description", "text", (col) => col.notNull().defaultTo(""))
    .addColumn("price_amount", "bigint", (col) => col.notNull().check(sql`price_amount >= 0`))
    .addColumn("price_currency", "char(3)", (col) => col.notNull())
    .addColumn("stock", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("created_at", sql`timestamptz(3)`, (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", sql`timestamptz(3)`, (col) => col.notNull().defaultTo(sql`now()`))
    .addCheckConstraint("products_stock_non_negative", sql`stock >= 0`)
    .execute();
  await db.schema
    .createIndex("products_created_at_id_idx")
    .on("products")
    .columns(["created_at desc", "id desc"])
    .execute();
}

/** Drops `products` (and its index). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("products").execute();
}
