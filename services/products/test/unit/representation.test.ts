import { describe, expect, it } from "@jest/globals";
import { toMoney, toProduct, toQueryReply, toSnapshot } from "../../src/representation.js";
import type { ProductRow } from "../../src/store/schema.js";

const row: ProductRow = {
  id: "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10",
  name: "Espresso cup",
  description: "Porcelain, 80 ml",
  price_amount: "99999999999",
  price_currency: "EUR",
  stock: 12,
  created_at: new Date("2026-11-21T09:30:00.123Z"),
  updated_at: new Date("2026-11-21T10:00:00.000Z"),
  review_count: 3,
  average_sentiment: 0.4404,
};

describe("representation", () => {
  it("turns pg's bigint string into an integer amount of minor units", () => {
    expect(toMoney(row)).toEqual({ amount: 99_999_999_999, currency: "EUR" });
  });

  it("maps a row to the contract's Product with RFC 3339 UTC timestamps", () => {
    expect(toProduct(row)).toEqual({
      id: row.id,
      name: "Espresso cup",
      description: "Porcelain, 80 ml",
      price: { amount: 99_999_999_999, currency: "EUR" },
      stock: 12,
      createdAt: "2026-11-21T09:30:00.123Z",
      updatedAt: "2026-11-21T10:00:00.000Z",
      reviewCount: 3,
      averageSentiment: 0.4404,
    });
  });

  it("maps a row to the event snapshot, without timestamps", () => {
    expect(toSnapshot(row)).toEqual({
      id: row.id,
      name: "Espresso cup",
      description: "Porcelain, 80 ml",
      price: { amount: 99_999_999_999, currency: "EUR" },
      stock: 12,
    });
  });

  it("answers the getProduct query with id, name and stock, or null", () => {
    expect(toQueryReply(row)).toEqual({ id: row.id, name: "Espresso cup", stock: 12 });
    expect(toQueryReply(undefined)).toBeNull();
  });
});
