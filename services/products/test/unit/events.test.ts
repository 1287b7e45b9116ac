import { describe, expect, it } from "@jest/globals";
import type { EventPublisher, Logger } from "@portico/kit";
import { stockTransition } from "../../src/domain/stock.js";
import {
  createProductEvents,
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

describe("createProductEvents", () => {
  it("logs a failed publish as an error, keeps going and passes the request id", async () => {
    const published: { subject: string; requestId: string | undefined }[] = [];
    const publisher: EventPublisher = {
      async publish(subject, aggregateId, data, context) {
        if (subject === "products.stock.changed") throw new Error("no JetStream ack");
        published.push({ subject, requestId: context?.requestId });
        return {
          id: "e",
          type: subject,
          occurredAt: "",
          source: "products",
          subject: aggregateId,
          data,
        };
      },
    };
    const errors: unknown[][] = [];
    const log = { error: (...args: unknown[]) => errors.push(args) } as unknown as Logger;

    await createProductEvents(publisher).publish(stockEvents(row, stockTransition(0, 5)), {
      requestId: "req-1",
      log,
    });

    expect(published).toEqual([{ subject: "products.product.back_in_stock", requestId: "req-1" }]);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.[0]).toMatchObject({ event: "products.stock.changed", productId: row.id });
  });
});
