/**
 * The reference service's `getProduct` and `createProduct` (contracts/products.yaml), on the
 * products service's own tables with plain pg: the same row → `Product` mapping, the same
 * `Cache-Control` (the `ETag` and the 304 come from @fastify/etag, SHA-256 of the serialised
 * body, as the kit's), and for the create the same transaction as the products service's — insert
 * the row, take the aggregate's advisory lock, write the `products.product.created` envelope
 * (validated against contracts/events.yaml, as the kit's outbox does) into `outbox` — so its rows
 * are relayed like the service's own. Requests arrive validated by glue's Ajv; glue answers the
 * operations not implemented here with 500.
 */
import { assertValidEvent, type ProductsApi } from "@portico/contracts";
import type { FastifyReply, FastifyRequest } from "fastify";
import type pg from "pg";
import { v7 as uuidv7 } from "uuid";
import { problem } from "./problem.js";

type Product = ProductsApi.components["schemas"]["Product"];
type CreateProductRequest = ProductsApi.components["schemas"]["CreateProductRequest"];

/** A `products` row as pg returns it (`bigint` as a string). */
interface ProductRow {
  id: string;
  name: string;
  description: string;
  price_amount: string;
  price_currency: string;
  stock: number;
  created_at: Date;
  updated_at: Date;
  review_count: number;
  average_sentiment: number | null;
}

/** The products service's `Cache-Control` of public reads. */
const PUBLIC_READ_CACHE_CONTROL = "public, max-age=0, must-revalidate";

/** The kit's advisory-lock class of outbox aggregates ("OB"). */
const OUTBOX_LOCK_CLASS = 0x4f42;

function toProduct(row: ProductRow): Product {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    price: { amount: Number(row.price_amount), currency: row.price_currency },
    stock: row.stock,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    reviewCount: row.review_count,
    averageSentiment: row.average_sentiment,
  };
}

/** glue's service handlers of the two operations, over the products database `pool`. */
export function productHandlers(pool: pg.Pool) {
  return {
    async getProduct(
      request: FastifyRequest<{ Params: { productId: string } }>,
      reply: FastifyReply,
    ) {
      const { rows } = await pool.query<ProductRow>("select * from products where id = $1", [
        request.params.productId,
      ]);
      const row = rows[0];
      if (!row) return problem(reply, 404, "Not Found", "No product has this id.");
      reply.header("cache-control", PUBLIC_READ_CACHE_CONTROL);
      return toProduct(row);
    },

    async createProduct(
      request: FastifyRequest<{ Body: CreateProductRequest }>,
      reply: FastifyReply,
    ) {
      const body = request.body;
      const client = await pool.connect();
      let row: ProductRow;
      try {
        await client.query("begin");
        const inserted = await client.query<ProductRow>(
          `insert into products (id, name, description, price_amount, price_currency, stock)
           values ($1, $2, coalesce($3, ''), $4, $5, $6) returning *`,
          [
            uuidv7(),
            body.name,
            body.description ?? null,
            body.price.amount,
            body.price.currency,
            body.stock ?? 0,
          ],
        );
        row = inserted.rows[0] as ProductRow;
        const envelope = {
          id: uuidv7(),
          type: "products.product.created" as const,
          occurredAt: new Date().toISOString(),
          source: "products",
          subject: row.id,
          data: {
            product: {
              id: row.id,
              name: row.name,
              description: row.description,
              price: { amount: Number(row.price_amount), currency: row.price_currency },
              stock: row.stock,
            },
          },
        };
        assertValidEvent("products.product.created", envelope);
        await client.query("select pg_advisory_xact_lock($1, hashtext($2))", [
          OUTBOX_LOCK_CLASS,
          row.id,
        ]);
        await client.query(
          `insert into outbox (id, aggregate_id, subject, envelope, headers)
           values ($1, $2, $3, $4::jsonb, $5::jsonb)`,
          [
            envelope.id,
            row.id,
            envelope.type,
            JSON.stringify(envelope),
            JSON.stringify({ "X-Request-Id": request.id }),
          ],
        );
        await client.query("commit");
      } catch (error) {
        await client.query("rollback").catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
      reply.code(201).header("location", `/products/${row.id}`);
      return toProduct(row);
    },
  };
}
