/**
 * The NATS request/reply queries this service answers (declared in `@portico/contracts`):
 * `products.query.getProduct` ({ productId } → { id, name, stock } or null).
 */
import { loadContract } from "@portico/contracts";
import { type Logger, type NatsConnection, type QueryHandlers, serveQueries } from "@portico/kit";
import type { Kysely } from "kysely";
import { validate as isUuid } from "uuid";
import { toQueryReply } from "./representation.js";
import * as store from "./store/products.js";
import type { Database } from "./store/schema.js";

/** The query handlers, by subject. An id that is not a UUID names no product: `null`. */
export function createProductQueries(db: Kysely<Database>): QueryHandlers {
  return {
    "products.query.getProduct": async ({ productId }) =>
      typeof productId === "string" && isUuid(productId)
        ? toQueryReply(await store.findProduct(db, productId))
        : null,
  };
}

/**
 * Serves the queries as the NATS service `products` (version: the contract's), load-balanced
 * between instances.
 * @returns a stop function that removes the service from NATS.
 */
export async function serveProductQueries(
  nc: NatsConnection,
  db: Kysely<Database>,
  log: Logger,
): Promise<{ stop: () => Promise<void> }> {
  const version = (loadContract("products").info as { version: string }).version;
  return serveQueries(nc, { name: "products", version }, createProductQueries(db), log);
}
