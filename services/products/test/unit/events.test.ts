import { describe, expect, it } from "@jest/globals";
import { validateEvent } from "@portico/contracts";
import { v7 as uuidv7 } from "uuid";
import { stockTransition } from "../../src/domain/stock.js";
import {
  PRODUCTS_SOURCE,
  productCreated,
  productDeleted,
  productUpdated,
  stockEvents,
} from "../../src/events.js";
import type { ProductRow } from "../../src/store/schema.js";

const row: ProductRow = {
  id: "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10",
  name: "Espresso cup",
  description: "",
  price_amount: "1299",
  price_currency: "EUR",
  stock: 5,
  created_at: new Date("2026-11-21T09:30:00.000Z"),
  updated_at: new Date("2026-11-21T09:30:00.000Z"),
  review_count: 0,
  average_sentiment: null,
};
const snapshot = {
  id: row.id,
  name: "Espresso cup",
  description: "",
  price: { amount: 1299, currency: "EUR" },
  stock: 5,
};

describe("product events", () => {
  it("carries the product snapshot in created and updated, the id in deleted", () => {
    expect(productCreated(row)).toEqual({
      subject: "products.product.created",
      aggregateId: row.id,
      data: { product: snapshot },
    });
    expect(productUpdated(row)).toEqual({
      subject: "products.product.updated",
      aggregateId: row.id,
      data: { product: snapshot },
    });
    expect(productDeleted(row.id)).toEqual({
      subject: "products.product.deleted",
      aggregateId: row.id,
      data: { productId: row.id },
    });
  });

  it("describes 0 → 5 as stock.changed then back_in_stock with the name", () => {
    expect(stockEvents(row, stockTransition(0, 5))).toEqual([
      {
        subject: "products.stock.changed",
        aggregateId: row.id,
        data: { productId: row.id, previous: 0, current: 5 },
      },
      {
        subject: "products.product.back_in_stock",
        aggregateId: row.id,
        data: { productId: row.id, name: "Espresso cup", stock: 5 },
      },
    ]);
  });

  it("describes an unchanged level as no events", () => {
    expect(stockEvents(row, stockTransition(5, 5))).toEqual([]);
  });
});

describe("the events' contracts", () => {
  it("accept every event this service builds, in the envelope the outbox writes", () => {
    const events = [
      productCreated(row),
      productUpdated(row),
      productDeleted(row.id),
      ...stockEvents(row, stockTransition(0, 5)),
    ];
    for (const event of events) {
      const envelope = {
        id: uuidv7(),
        type: event.subject,
        occurredAt: new Date().toISOString(),
        source: PRODUCTS_SOURCE,
        subject: event.aggregateId,
        data: event.data,
      };
      expect(validateEvent(event.subject, envelope)).toEqual({ valid: true });
    }
  });
});
