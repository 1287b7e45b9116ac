/**
 * Pure mappings from a `products` row to what leaves the service: the API resource (contract
 * schema `Product`), the snapshot carried by events, and the reply of the NATS query; and from a
 * `reviews` row to the contract's `Review`.
 */
import type { ProductSnapshot, ProductsApi, QueryReply } from "@portico/contracts";
import type { ProductRow, ReviewRow } from "./store/schema.js";

/** The contract's `Product` resource. */
export type Product = ProductsApi.components["schemas"]["Product"];

/**
 * A row's price as contract `Money`: integer minor units (pg returns `bigint` as a decimal
 * string; amounts are capped by the contract at 10^11, well inside the safe-integer range) and
 * the ISO 4217 code.
 */
export function toMoney(row: Pick<ProductRow, "price_amount" | "price_currency">): {
  amount: number;
  currency: string;
} {
  return { amount: Number(row.price_amount), currency: row.price_currency };
}

/** A row as the API's `Product`, timestamps as RFC 3339 UTC strings. */
export function toProduct(row: ProductRow): Product {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    price: toMoney(row),
    stock: row.stock,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    reviewCount: row.review_count,
    averageSentiment: row.average_sentiment,
  };
}

/** A row as the `ProductSnapshot` of `products.product.created|updated` events. */
export function toSnapshot(row: ProductRow): ProductSnapshot {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    price: toMoney(row),
    stock: row.stock,
  };
}

/** A row (or its absence) as the reply of the `products.query.getProduct` query. */
export function toQueryReply(row: ProductRow | undefined): QueryReply<"products.query.getProduct"> {
  return row ? { id: row.id, name: row.name, stock: row.stock } : null;
}

/** The contract's `Review` resource. */
export type Review = ProductsApi.components["schemas"]["Review"];

/** The contract's sentiment label (`positive`, `neutral`, `negative`). */
type SentimentLabel = ProductsApi.components["schemas"]["SentimentLabel"];

/** A review row as the API's `Review`: `sentiment` null until the ML service scored it. */
export function toReview(row: ReviewRow): Review {
  const {
    sentiment_compound: compound,
    sentiment_label: label,
    sentiment_model_name: modelName,
    sentiment_model_version: modelVersion,
    scored_at: scoredAt,
  } = row;
  const scored =
    compound !== null &&
    label !== null &&
    modelName !== null &&
    modelVersion !== null &&
    scoredAt !== null;
  return {
    id: row.id,
    productId: row.product_id,
    text: row.text,
    rating: row.rating,
    author: { userId: row.author_id },
    sentiment: scored
      ? {
          compound,
          // Stored from a validated `ml.review.scored` event, whose label is a SentimentLabel.
          label: label as SentimentLabel,
          model: { name: modelName, version: modelVersion },
          scoredAt: scoredAt.toISOString(),
        }
      : null,
    createdAt: row.created_at.toISOString(),
  };
}
