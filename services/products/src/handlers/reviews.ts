/**
 * The review operations of contracts/products.yaml: createProductReview (any signed-in user; the
 * caller is the author) and listProductReviews (public). A new review is written with its
 * `products.review.created` event (outbox) and the product's review count, in one transaction
 * holding the product row; its sentiment arrives later from the ML service (consumers.ts).
 */
import type { ProductsApi } from "@portico/contracts";
import { type Handlers, keysetCursorAfter, notFound, toPage } from "@portico/kit";
import type { Kysely } from "kysely";
import type { ProductEvents } from "../events.js";
import { reviewCreated } from "../events.js";
import { toReview } from "../representation.js";
import { findProduct, lockProduct } from "../store/products.js";
import { countReview, insertReview, listReviews } from "../store/reviews.js";
import type { Database } from "../store/schema.js";

/** What the review handlers need. */
export interface ReviewHandlerDeps {
  db: Kysely<Database>;
  events: ProductEvents;
}

type ReviewOperations = Pick<ProductsApi.operations, "createProductReview" | "listProductReviews">;

/** The page size when the request gives none (the contract's default, applied by the validator). */
const DEFAULT_LIMIT = 20;

/** The review handlers, keyed by operationId. */
export function createReviewHandlers({
  db,
  events,
}: ReviewHandlerDeps): Handlers<ReviewOperations> {
  return {
    async createProductReview({ path, body, principal }) {
      if (!principal)
        throw new Error("createProductReview requires a principal (contract security)");
      const review = await db.transaction().execute(async (trx) => {
        // Locked: concurrent reviews of one product count one after the other.
        if (!(await lockProduct(trx, path.productId))) return undefined;
        const inserted = await insertReview(trx, {
          productId: path.productId,
          authorId: principal.userId,
          text: body.text,
          rating: body.rating,
        });
        await countReview(trx, path.productId);
        await events.enqueue(trx, [reviewCreated(inserted)]);
        return inserted;
      });
      if (!review) throw notFound("No product has this id.");
      events.committed();
      return { status: 201, body: toReview(review) };
    },

    async listProductReviews({ path, query }) {
      const limit = query.limit ?? DEFAULT_LIMIT;
      const after = keysetCursorAfter(query.cursor);
      if (!(await findProduct(db, path.productId))) throw notFound("No product has this id.");
      const rows = await listReviews(db, path.productId, {
        fetch: limit + 1,
        ...(after ? { after } : {}),
      });
      const page = toPage(
        rows.map((row) => ({ row, createdAt: row.created_at, id: row.id })),
        limit,
        ({ row }) => toReview(row),
      );
      return { status: 200, body: page };
    },
  };
}
