/**
 * Reviews: one row per review, its sentiment filled in when the ML service has scored it; each
 * product keeps its review count and average sentiment on its row (updated, with the product row
 * locked, in the transaction that adds a review or stores a score). `processed_events` records
 * the `ml.review.scored` events applied, in the transaction of their effect (kit's processOnce).
 */
import { createProcessedEventsTable, dropProcessedEventsTable } from "@portico/kit";
import { type Kysely, sql } from "kysely";

/** Creates `reviews` (keyset index per product), the product columns and `processed_events`. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("reviews")
    .addColumn("id", "uuid", (col) => col.primaryKey())
    .addColumn("product_id", "uuid", (col) =>
      col.notNull().references("products.id").onDelete("cascade"),
    )
    .addColumn("author_id", "text", (col) => col.notNull())
    .addColumn("text", "text", (col) => col.notNull())
    .addColumn("rating", "smallint", (col) => col.notNull())
    .addColumn("created_at", sql`timestamptz(3)`, (col) => col.notNull().defaultTo(sql`now()`))
    // The sentiment: all null until scored, then all set.
    .addColumn("sentiment_compound", "double precision")
    .addColumn("sentiment_label", "text")
    .addColumn("sentiment_model_name", "text")
    .addColumn("sentiment_model_version", "text")
    .addColumn("scored_at", sql`timestamptz(3)`)
    .addCheckConstraint("reviews_rating_range", sql`rating between 1 and 5`)
    .addCheckConstraint(
      "reviews_sentiment_range",
      sql`sentiment_compound is null or sentiment_compound between -1 and 1`,
    )
    .execute();
  await db.schema
    .createIndex("reviews_product_created_at_id_idx")
    .on("reviews")
    .columns(["product_id", "created_at desc", "id desc"])
    .execute();
  await db.schema
    .alterTable("products")
    .addColumn("review_count", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("average_sentiment", "double precision")
    .execute();
  await createProcessedEventsTable(db);
}

/** Drops what `up` created. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await dropProcessedEventsTable(db);
  await db.schema.alterTable("products").dropColumn("review_count").execute();
  await db.schema.alterTable("products").dropColumn("average_sentiment").execute();
  await db.schema.dropTable("reviews").execute();
}
