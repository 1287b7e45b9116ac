/**
 * Kysely queries on `products`. Every function takes the database or a transaction, so the
 * handlers decide the transaction boundaries.
 */
import { type CursorKey, type ParameterOf, prepareQuery } from "@portico/kit";
import type { Kysely } from "kysely";
import { v7 as uuidv7 } from "uuid";
import type { Database, ProductRow } from "./schema.js";

/** The fields of a new product. Money in integer minor units plus ISO 4217 code. */
export interface NewProduct {
  name: string;
  description?: string;
  price: { amount: number; currency: string };
  stock: number;
}

/** The fields a partial update may change; absent fields are left alone. */
export interface ProductChanges {
  name?: string;
  description?: string;
  price?: { amount: number; currency: string };
}

/** A page request over the catalogue, newest first. */
export interface ProductFilter {
  /** Rows to fetch (callers pass the page size + 1 to learn whether a next page exists). */
  fetch: number;
  /** Start after this keyset position (from a cursor). */
  after?: CursorKey;
  /** Case-insensitive substring of the name or the description. */
  text?: string;
  /** true: only products with stock; false: only those without. */
  inStock?: boolean;
}

/**
 * An ILIKE pattern matching `text` anywhere: `%`, `_` and `\` in `text` are escaped with a
 * backslash (PostgreSQL's default LIKE escape character) so they match literally.
 */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Products matching `filter`, ordered by (created_at desc, id desc), at most `filter.fetch`. */
export async function listProducts(
  db: Kysely<Database>,
  filter: ProductFilter,
): Promise<ProductRow[]> {
  let query = db.selectFrom("products").selectAll();
  const { after, text, inStock } = filter;
  if (after) {
    query = query.where(({ eb, refTuple, tuple }) =>
      eb(refTuple("created_at", "id"), "<", tuple(after.createdAt, after.id)),
    );
  }
  if (text !== undefined) {
    const pattern = containsPattern(text);
    query = query.where(({ eb, or }) =>
      or([eb("name", "ilike", pattern), eb("description", "ilike", pattern)]),
    );
  }
  if (inStock !== undefined) query = query.where("stock", inStock ? ">" : "=", 0);
  return query.orderBy("created_at", "desc").orderBy("id", "desc").limit(filter.fetch).execute();
}

/** The insert of {@link insertProduct}, compiled once (it runs on every `createProduct`). */
const insertProductQuery = prepareQuery(
  (
    db: Kysely<Database>,
    param: ParameterOf<{
      id: string;
      name: string;
      description: string;
      priceAmount: number;
      priceCurrency: string;
      stock: number;
    }>,
  ) =>
    db
      .insertInto("products")
      .values({
        id: param("id"),
        name: param("name"),
        description: param("description"),
        price_amount: param("priceAmount"),
        price_currency: param("priceCurrency"),
        stock: param("stock"),
      })
      .returningAll(),
);

/**
 * Inserts a product with a new UUID v7 id (no description: the empty string, the column's
 * default); resolves to the stored row.
 */
export async function insertProduct(
  db: Kysely<Database>,
  product: NewProduct,
): Promise<ProductRow> {
  return insertProductQuery.executeTakeFirstOrThrow(db, {
    id: uuidv7(),
    name: product.name,
    description: product.description ?? "",
    priceAmount: product.price.amount,
    priceCurrency: product.price.currency,
    stock: product.stock,
  });
}

/** The select of {@link findProduct}, compiled once (it runs on every `getProduct`). */
const findProductQuery = prepareQuery((db: Kysely<Database>, param: ParameterOf<{ id: string }>) =>
  db.selectFrom("products").selectAll().where("id", "=", param("id")),
);

/** The product with `id`, if any. */
export async function findProduct(
  db: Kysely<Database>,
  id: string,
): Promise<ProductRow | undefined> {
  return findProductQuery.executeTakeFirst(db, { id });
}

/**
 * The product with `id`, locked (`SELECT … FOR UPDATE`) until the surrounding transaction ends.
 * Call it inside a transaction only.
 */
export async function lockProduct(
  trx: Kysely<Database>,
  id: string,
): Promise<ProductRow | undefined> {
  return trx.selectFrom("products").selectAll().where("id", "=", id).forUpdate().executeTakeFirst();
}

/** Applies `changes` and touches `updated_at`; resolves to the new row, or undefined if absent. */
export async function updateProduct(
  db: Kysely<Database>,
  id: string,
  changes: ProductChanges,
): Promise<ProductRow | undefined> {
  return db
    .updateTable("products")
    .set((eb) => ({
      updated_at: eb.fn("now"),
      ...(changes.name !== undefined ? { name: changes.name } : {}),
      ...(changes.description !== undefined ? { description: changes.description } : {}),
      ...(changes.price !== undefined
        ? { price_amount: changes.price.amount, price_currency: changes.price.currency }
        : {}),
    }))
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirst();
}

/** Sets the stock level and touches `updated_at`; resolves to the new row, or undefined. */
export async function updateStock(
  db: Kysely<Database>,
  id: string,
  stock: number,
): Promise<ProductRow | undefined> {
  return db
    .updateTable("products")
    .set((eb) => ({ stock, updated_at: eb.fn("now") }))
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirst();
}

/** Deletes the product; resolves to true when it existed. */
export async function deleteProduct(db: Kysely<Database>, id: string): Promise<boolean> {
  const result = await db.deleteFrom("products").where("id", "=", id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
