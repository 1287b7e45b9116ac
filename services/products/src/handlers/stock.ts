/**
 * The stock operation of contracts/products.yaml: setProductStock (admin only). The row is
 * locked while the transition is decided, so concurrent updates serialise and each sees the
 * level the previous one left; its events are written to the outbox in the same transaction.
 */
import type { ProductsApi } from "@portico/contracts";
import { type Handlers, notFound } from "@portico/kit";
import type { Kysely } from "kysely";
import { stockTransition } from "../domain/stock.js";
import { type ProductEvents, stockEvents } from "../events.js";
import { toProduct } from "../representation.js";
import * as store from "../store/products.js";
import type { Database } from "../store/schema.js";

/** What the stock handler needs. */
export interface StockHandlerDeps {
  db: Kysely<Database>;
  events: ProductEvents;
}

/** The stock handler, keyed by operationId. */
export function createStockHandlers({
  db,
  events,
}: StockHandlerDeps): Handlers<Pick<ProductsApi.operations, "setProductStock">> {
  return {
    async setProductStock({ path, body }) {
      const outcome = await db.transaction().execute(async (trx) => {
        const before = await store.lockProduct(trx, path.productId);
        if (!before) return undefined;
        const transition = stockTransition(before.stock, body.quantity);
        const after = transition.changed
          ? await store.updateStock(trx, before.id, transition.current)
          : before;
        // The row is locked, so it cannot have vanished between the two statements.
        if (!after) return undefined;
        await events.enqueue(trx, stockEvents(after, transition));
        return { row: after, transition };
      });
      if (!outcome) throw notFound("No product has this id.");
      if (outcome.transition.changed) events.committed();
      return { status: 200, body: toProduct(outcome.row) };
    },
  };
}
