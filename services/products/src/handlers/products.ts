/**
 * The catalogue operations of contracts/products.yaml: listProducts, createProduct, getProduct,
 * updateProduct, deleteProduct. Requests arrive validated against the contract (and admin-only
 * operations authorised) by the kit. The two reads are cacheable (`ETag`, 304; see caching.ts).
 */
import type { ProductsApi } from "@portico/contracts";
import { type Handlers, keysetCursorAfter, notFound, toPage } from "@portico/kit";
import type { Kysely } from "kysely";
import { type ProductEvents, productCreated, productDeleted, productUpdated } from "../events.js";
import { toProduct } from "../representation.js";
import * as store from "../store/products.js";
import type { Database } from "../store/schema.js";
import { conditional } from "./caching.js";

/** What the catalogue handlers need. */
export interface ProductHandlerDeps {
  db: Kysely<Database>;
  /** Each change writes its event in its own transaction (the outbox). */
  events: ProductEvents;
}

type CatalogueOperations = Pick<
  ProductsApi.operations,
  "listProducts" | "createProduct" | "getProduct" | "updateProduct" | "deleteProduct"
>;

/**
 * A contract default the validator fills in (`limit`, `stock`); missing only if validation was
 * bypassed, which is a bug rather than a bad request.
 * @throws Error when `value` is undefined.
 */
function defaulted<T>(value: T | undefined, name: string): T {
  if (value === undefined) {
    throw new Error(`${name} is missing: the contract default was not applied`);
  }
  return value;
}

/** The catalogue handlers, keyed by operationId. */
export function createProductHandlers({
  db,
  events,
}: ProductHandlerDeps): Handlers<CatalogueOperations> {
  return {
    async listProducts({ query, headers }) {
      const limit = defaulted(query.limit, "limit");
      const rows = await store.listProducts(db, {
        fetch: limit + 1,
        ...(query.cursor !== undefined ? { after: keysetCursorAfter(query.cursor) } : {}),
        ...(query.q !== undefined ? { text: query.q } : {}),
        ...(query.inStock !== undefined ? { inStock: query.inStock } : {}),
      });
      const page = toPage(
        rows.map((row) => ({ row, createdAt: row.created_at, id: row.id })),
        limit,
        ({ row }) => toProduct(row),
      );
      return conditional(headers, page);
    },

    async createProduct({ body }) {
      const stock = defaulted(body.stock, "stock");
      const row = await db.transaction().execute(async (trx) => {
        const inserted = await store.insertProduct(trx, {
          name: body.name,
          ...(body.description !== undefined ? { description: body.description } : {}),
          price: body.price,
          stock,
        });
        await events.enqueue(trx, [productCreated(inserted)]);
        return inserted;
      });
      events.committed();
      return { status: 201, body: toProduct(row), headers: { Location: `/products/${row.id}` } };
    },

    async getProduct({ path, headers }) {
      const row = await store.findProduct(db, path.productId);
      if (!row) throw notFound("No product has this id.");
      return conditional(headers, toProduct(row));
    },

    async updateProduct({ path, body }) {
      const row = await db.transaction().execute(async (trx) => {
        const updated = await store.updateProduct(trx, path.productId, body);
        if (updated) {
          await events.enqueue(trx, [productUpdated(updated)]);
        }
        return updated;
      });
      if (!row) throw notFound("No product has this id.");
      events.committed();
      return { status: 200, body: toProduct(row) };
    },

    async deleteProduct({ path }) {
      const deleted = await db.transaction().execute(async (trx) => {
        if (!(await store.deleteProduct(trx, path.productId))) return false;
        await events.enqueue(trx, [productDeleted(path.productId)]);
        return true;
      });
      if (!deleted) throw notFound("No product has this id.");
      events.committed();
      return { status: 204 };
    },
  };
}
