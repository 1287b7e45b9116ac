/**
 * Kysely queries on `reviews` and the review figures of `products`. Every function takes the
 * database or a transaction, so the handlers decide the transaction boundaries.
 */
import type { CursorKey } from "@portico/kit";
import { type Kysely, sql } from "kysely";
import { v7 as uuidv7 } from "uuid";
import type { Database, ProductRow, ReviewRow } from "./schema.js";

/** The fields of a new review. */
export interface NewReview {
  productId: string;
  authorId: string;
  text: string;
  /** Stars, 1 to 5. */
  rating: number;
}

/** A review's sentiment, as the ML service scored it. */
export interface ReviewScore {
  reviewId: string;
  /** VADER compound score, -1 to 1. */
  compound: number;
  label: string;
  modelName: string;
  modelVersion: string;
}

/** Inserts a review with a new UUID v7 id; resolves to the stored row. */
export async function insertReview(db: Kysely<Database>, review: NewReview): Promise<ReviewRow> {
  return db
    .insertInto("reviews")
    .values({
      id: uuidv7(),
      product_id: review.productId,
      author_id: review.authorId,
      text: review.text,
      rating: review.rating,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Adds one to the product's review count; resolves to the product after the change. */
export async function countReview(
  db: Kysely<Database>,
  productId: string,
): Promise<ProductRow | undefined> {
  return db
    .updateTable("products")
    .set((eb) => ({ review_count: eb("review_count", "+", 1) }))
    .where("id", "=", productId)
    .returningAll()
    .executeTakeFirst();
}

/** A product's reviews newest first (created_at desc, id desc), after `after`, at most `fetch`. */
export async function listReviews(
  db: Kysely<Database>,
  productId: string,
  page: { fetch: number; after?: CursorKey },
): Promise<ReviewRow[]> {
  let query = db.selectFrom("reviews").selectAll().where("product_id", "=", productId);
  const { after } = page;
  if (after) {
    query = query.where(({ eb, refTuple, tuple }) =>
      eb(refTuple("created_at", "id"), "<", tuple(after.createdAt, after.id)),
    );
  }
  return query.orderBy("created_at", "desc").orderBy("id", "desc").limit(page.fetch).execute();
}

/**
 * Stores a review's sentiment when it has none yet (a score is never overwritten: the same text
 * always gets the same score).
 * @returns the review after the change, or undefined when it does not exist (its product was
 *   deleted) or was already scored.
 */
export async function storeScore(
  db: Kysely<Database>,
  score: ReviewScore,
): Promise<ReviewRow | undefined> {
  return db
    .updateTable("reviews")
    .set({
      sentiment_compound: score.compound,
      sentiment_label: score.label,
      sentiment_model_name: score.modelName,
      sentiment_model_version: score.modelVersion,
      scored_at: sql<Date>`now()`,
    })
    .where("id", "=", score.reviewId)
    .where("sentiment_compound", "is", null)
    .returningAll()
    .executeTakeFirst();
}

/**
 * Recomputes the product's average sentiment over its scored reviews (exact: no running sum that
 * could drift), rounded to 4 decimals like the scores; resolves to the product after the change.
 * Lock the product row first when reviews may be scored concurrently.
 */
export async function updateAverageSentiment(
  db: Kysely<Database>,
  productId: string,
): Promise<ProductRow | undefined> {
  return db
    .updateTable("products")
    .set({
      average_sentiment: sql<number | null>`(
        select round(avg(sentiment_compound)::numeric, 4)::double precision
        from reviews where product_id = ${productId} and sentiment_compound is not null
      )`,
    })
    .where("id", "=", productId)
    .returningAll()
    .executeTakeFirst();
}
