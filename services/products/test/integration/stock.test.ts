import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { query } from "@portico/kit";
import { v7 as uuidv7 } from "uuid";
import { eventsAbout, streamPosition } from "../support/events.js";
import { request } from "../support/http.js";
import { type RunningProducts, startProducts } from "../support/service.js";

let service: RunningProducts;
let adminToken: string;

const setStock = (productId: string, quantity: unknown, token = adminToken) =>
  request(service.baseUrl, "PUT", `/products/${productId}/stock`, {
    token,
    json: { quantity },
    headers: { "x-request-id": `stock-${productId}-${String(quantity)}` },
  });

async function createProduct(stock: number): Promise<{ id: string; updatedAt: string }> {
  const res = await request(service.baseUrl, "POST", "/products", {
    token: adminToken,
    json: { name: "Moka pot", price: { amount: 3490, currency: "EUR" }, stock },
  });
  expect(res.status).toBe(201);
  return res.body;
}

beforeAll(async () => {
  service = await startProducts();
  adminToken = await service.auth.tokenFor({ role: "admin" });
});

afterAll(async () => {
  await service?.stop();
});

describe("setProductStock", () => {
  it("0 → 5 publishes stock.changed then back_in_stock; 5 → 7 only stock.changed; 7 → 7 nothing", async () => {
    const product = await createProduct(0);

    let since = await streamPosition(service);
    const toFive = await setStock(product.id, 5);
    expect(toFive.status).toBe(200);
    expect(toFive.body.stock).toBe(5);
    let events = await eventsAbout(service, since, product.id);
    expect(events.map((e) => e.envelope.type)).toEqual([
      "products.stock.changed",
      "products.product.back_in_stock",
    ]);
    expect(events.map((e) => e.envelope.data)).toEqual([
      { productId: product.id, previous: 0, current: 5 },
      { productId: product.id, name: "Moka pot", stock: 5 },
    ]);
    expect(events.every((e) => e.requestId === `stock-${product.id}-5`)).toBe(true);

    since = await streamPosition(service);
    const toSeven = await setStock(product.id, 7);
    expect(toSeven.body.stock).toBe(7);
    events = await eventsAbout(service, since, product.id);
    expect(events.map((e) => [e.envelope.type, e.envelope.data])).toEqual([
      ["products.stock.changed", { productId: product.id, previous: 5, current: 7 }],
    ]);

    since = await streamPosition(service);
    const same = await setStock(product.id, 7);
    expect(same.status).toBe(200);
    expect(same.body).toEqual(toSeven.body);
    expect(await eventsAbout(service, since, product.id)).toEqual([]);
  });

  it("going out of stock announces only the change", async () => {
    const product = await createProduct(2);
    const since = await streamPosition(service);
    expect((await setStock(product.id, 0)).body.stock).toBe(0);
    const events = await eventsAbout(service, since, product.id);
    expect(events.map((e) => e.envelope.type)).toEqual(["products.stock.changed"]);
  });

  it("keeps the level consistent under concurrent updates", async () => {
    const product = await createProduct(0);
    const since = await streamPosition(service);
    const quantities = [1, 2, 3, 4, 5, 6];
    const results = await Promise.all(quantities.map((q) => setStock(product.id, q)));
    expect(results.every((res) => res.status === 200)).toBe(true);

    // Row locking serialises the updates: each change starts where the previous one ended,
    // and exactly one of them brought the product back in stock.
    const events = await eventsAbout(service, since, product.id);
    const changes = events
      .filter((e) => e.envelope.type === "products.stock.changed")
      .map((e) => e.envelope.data as { previous: number; current: number });
    expect(changes).toHaveLength(quantities.length);
    expect(new Set(changes.map((c) => c.previous)).size).toBe(quantities.length);
    const byPrevious = new Map(changes.map((c) => [c.previous, c.current]));
    let level = 0;
    for (let i = 0; i < quantities.length; i += 1) {
      const next = byPrevious.get(level);
      expect(next).toBeDefined();
      level = next as number;
    }
    expect(events.filter((e) => e.envelope.type === "products.product.back_in_stock")).toHaveLength(
      1,
    );
    const final = await request(service.baseUrl, "GET", `/products/${product.id}`);
    expect(final.body.stock).toBe(level);
  });

  it("rejects a negative or fractional quantity with 400 naming quantity, changing nothing", async () => {
    const product = await createProduct(3);
    for (const quantity of [-1, 2.5, "4"]) {
      const res = await setStock(product.id, quantity);
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain("quantity");
    }
    expect((await request(service.baseUrl, "GET", `/products/${product.id}`)).body.stock).toBe(3);
  });

  it("answers 404 for an unknown product, 403 for a user and 401 without a token", async () => {
    expect((await setStock(uuidv7(), 1)).status).toBe(404);
    const product = await createProduct(0);
    expect(
      (await setStock(product.id, 1, await service.auth.tokenFor({ role: "user" }))).status,
    ).toBe(403);
    const anonymous = await request(service.baseUrl, "PUT", `/products/${product.id}/stock`, {
      json: { quantity: 1 },
    });
    expect(anonymous.status).toBe(401);
    expect((await request(service.baseUrl, "GET", `/products/${product.id}`)).body.stock).toBe(0);
  });
});

describe("products.query.getProduct", () => {
  it("answers id, name and stock for a product, null for an unknown or malformed id", async () => {
    const product = await createProduct(9);
    await service.serveQueriesBriefly(async () => {
      await expect(
        query(service.nc, "products.query.getProduct", { productId: product.id }),
      ).resolves.toEqual({ id: product.id, name: "Moka pot", stock: 9 });
      await expect(
        query(service.nc, "products.query.getProduct", { productId: uuidv7() }),
      ).resolves.toBeNull();
      await expect(
        query(service.nc, "products.query.getProduct", { productId: "not-a-uuid" }),
      ).resolves.toBeNull();
    });
  });
});
