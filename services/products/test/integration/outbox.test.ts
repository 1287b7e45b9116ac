/**
 * Product events go through the transactional outbox: written with the change, with the
 * request's headers, published by the relay and marked; a rejected change writes none.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { v7 as uuidv7 } from "uuid";
import { eventsAbout, streamPosition } from "../support/events.js";
import { request } from "../support/http.js";
import { type RunningProducts, startProducts } from "../support/service.js";

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

let service: RunningProducts;
let adminToken: string;

beforeAll(async () => {
  service = await startProducts();
  adminToken = await service.auth.tokenFor({ role: "admin" });
});

afterAll(async () => {
  await service?.stop();
});

const outboxRows = () => service.db.selectFrom("outbox").selectAll().orderBy("seq").execute();

describe("the products outbox", () => {
  it("holds each event with the request's X-Request-Id and traceparent, published once", async () => {
    const since = await streamPosition(service);
    const created = await request(service.baseUrl, "POST", "/products", {
      token: adminToken,
      json: { name: "Grinder", price: { amount: 9900, currency: "EUR" }, stock: 0 },
      headers: { "x-request-id": "outbox-create", traceparent: TRACEPARENT },
    });
    expect(created.status).toBe(201);
    const restocked = await request(service.baseUrl, "PUT", `/products/${created.body.id}/stock`, {
      token: adminToken,
      json: { quantity: 4 },
      headers: { "x-request-id": "outbox-stock" },
    });
    expect(restocked.status).toBe(200);

    const events = await eventsAbout(service, since, created.body.id);
    expect(events.map((e) => [e.envelope.type, e.requestId])).toEqual([
      ["products.product.created", "outbox-create"],
      ["products.stock.changed", "outbox-stock"],
      ["products.product.back_in_stock", "outbox-stock"],
    ]);
    const rows = (await outboxRows()).filter((row) => row.aggregate_id === created.body.id);
    expect(rows.map((row) => row.envelope)).toEqual(events.map((e) => e.envelope));
    expect(rows[0]?.headers).toEqual({ "X-Request-Id": "outbox-create", traceparent: TRACEPARENT });
    expect(rows[1]?.headers).toEqual({ "X-Request-Id": "outbox-stock" });
    expect(rows.every((row) => row.published_at instanceof Date && row.attempts === 0)).toBe(true);
  });

  it("writes no event for a change that is rejected or finds nothing", async () => {
    await service.eventsPublished();
    const before = (await outboxRows()).length;
    const missing = uuidv7();
    const responses = await Promise.all([
      request(service.baseUrl, "PATCH", `/products/${missing}`, {
        token: adminToken,
        json: { name: "Nothing" },
      }),
      request(service.baseUrl, "DELETE", `/products/${missing}`, { token: adminToken }),
      request(service.baseUrl, "PUT", `/products/${missing}/stock`, {
        token: adminToken,
        json: { quantity: 1 },
      }),
      request(service.baseUrl, "POST", "/products", {
        token: adminToken,
        json: { name: "No price" },
      }),
    ]);
    expect(responses.map((res) => res.status)).toEqual([404, 404, 404, 400]);
    expect(await outboxRows()).toHaveLength(before);
  });
});
