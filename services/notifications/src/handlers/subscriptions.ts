/** Handlers of `/subscriptions`: subscribe to a product's return to stock, list, delete. */
import type { NotificationsApi } from "@portico/contracts";
import {
  conflict,
  type Handlers,
  isUniqueViolation,
  keysetCursorAfter,
  notFound,
  serviceUnavailable,
  toPage,
  unprocessable,
} from "@portico/kit";
import type { Kysely } from "kysely";
import type { Lookups } from "../queries.js";
import type { NotificationsDatabase, SubscriptionRow } from "../store/schema.js";
import {
  deleteSubscription,
  findSubscriptions,
  insertSubscription,
} from "../store/subscriptions.js";
import { callerId, DEFAULT_PAGE_SIZE } from "./common.js";

type Ops = NotificationsApi.operations;
type Subscription = NotificationsApi.components["schemas"]["Subscription"];

/** The subscription handlers, keyed by operationId. */
export type SubscriptionHandlers = Pick<
  Handlers<Ops>,
  "subscribeBackInStock" | "listSubscriptions" | "deleteSubscription"
>;

/** The contract's `Subscription` of a row. */
export function toSubscription(row: SubscriptionRow): Subscription {
  return { id: row.id, productId: row.product_id, createdAt: row.created_at.toISOString() };
}

/** Builds the subscription handlers over the database and the products lookup. */
export function subscriptionHandlers(deps: {
  db: Kysely<NotificationsDatabase>;
  lookups: Pick<Lookups, "getProduct">;
}): SubscriptionHandlers {
  const { db, lookups } = deps;
  return {
    async subscribeBackInStock({ body, principal, requestId, log }) {
      const userId = callerId(principal);
      let product: Awaited<ReturnType<Lookups["getProduct"]>>;
      try {
        product = await lookups.getProduct(body.productId, requestId);
      } catch (err) {
        log.warn({ err }, "products.query.getProduct failed");
        throw serviceUnavailable("The products service did not answer; try again later.");
      }
      if (!product) {
        throw unprocessable("No product has this id.", [
          { location: "body", field: "productId", message: "does not name an existing product" },
        ]);
      }
      try {
        const row = await insertSubscription(db, { userId, productId: body.productId });
        return { status: 201, body: toSubscription(row) };
      } catch (err) {
        if (isUniqueViolation(err)) {
          throw conflict("You are already subscribed to this product.");
        }
        throw err;
      }
    },

    async listSubscriptions({ query, principal }) {
      const userId = callerId(principal);
      const limit = query.limit ?? DEFAULT_PAGE_SIZE;
      const after = keysetCursorAfter(query.cursor);
      const rows = await findSubscriptions(db, userId, {
        limit: limit + 1,
        ...(after ? { after } : {}),
      });
      const page = toPage(
        rows.map((row) => ({ ...row, createdAt: row.created_at })),
        limit,
        toSubscription,
      );
      return { status: 200, body: page };
    },

    async deleteSubscription({ path, principal }) {
      const userId = callerId(principal);
      if (!(await deleteSubscription(db, userId, path.subscriptionId))) {
        throw notFound("You have no subscription with this id.");
      }
      return { status: 204 };
    },
  };
}
