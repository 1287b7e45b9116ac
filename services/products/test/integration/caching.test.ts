/**
 * HTTP caching of the public reads at the service: a strong ETag and Cache-Control on
 * `getProduct` and `listProducts`, 304 for a matching `If-None-Match`, a new ETag after a change.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { PUBLIC_READ_CACHE_CONTROL } from "../../src/handlers/caching.js";
import { request } from "../support/http.js";
import { type RunningProducts, startProducts } from "../support/service.js";

let service: RunningProducts;
let adminToken: string;
let productId: string;

const STRONG_ETAG = /^"[A-Za-z0-9_-]{22}"$/;
const call = (method: string, path: string, options?: Parameters<typeof request>[3]) =>
  request(service.baseUrl, method, path, options);

beforeAll(async () => {
  service = await startProducts();
  adminToken = await service.auth.tokenFor({ role: "admin" });
  const created = await call("POST", "/products", {
    token: adminToken,
    json: { name: "Cached cup", price: { amount: 900, currency: "EUR" }, stock: 1 },
  });
  productId = created.body.id;
});

afterAll(async () => {
  await service?.stop();
});

describe("getProduct caching", () => {
  it("answers with a strong ETag and Cache-Control, the same for the same product", async () => {
    const first = await call("GET", `/products/${productId}`);
    const second = await call("GET", `/products/${productId}`);

    expect(first.status).toBe(200);
    expect(first.headers.get("etag")).toMatch(STRONG_ETAG);
    expect(first.headers.get("cache-control")).toBe(PUBLIC_READ_CACHE_CONTROL);
    expect(second.headers.get("etag")).toBe(first.headers.get("etag"));
  });

  it("answers 304 without a body to a matching If-None-Match, also in a list or as *", async () => {
    const etag = (await call("GET", `/products/${productId}`)).headers.get("etag") ?? "";
    for (const ifNoneMatch of [etag, `"other", ${etag}`, `W/${etag}`, "*"]) {
      const res = await call("GET", `/products/${productId}`, {
        headers: { "if-none-match": ifNoneMatch },
      });
      expect({ ifNoneMatch, status: res.status }).toEqual({ ifNoneMatch, status: 304 });
      expect(res.body).toBeUndefined();
      expect(res.headers.get("etag")).toBe(etag);
      expect(res.headers.get("cache-control")).toBe(PUBLIC_READ_CACHE_CONTROL);
    }
  });

  it("answers 200 to a stale or malformed If-None-Match", async () => {
    for (const ifNoneMatch of ['"stale"', "not-a-tag", ""]) {
      const res = await call("GET", `/products/${productId}`, {
        headers: { "if-none-match": ifNoneMatch },
      });
      expect({ ifNoneMatch, status: res.status }).toEqual({ ifNoneMatch, status: 200 });
      expect(res.body.id).toBe(productId);
    }
  });

  it("changes the ETag when the product changes, so the old one no longer matches", async () => {
    const before = (await call("GET", `/products/${productId}`)).headers.get("etag") ?? "";
    const restocked = await call("PUT", `/products/${productId}/stock`, {
      token: adminToken,
      json: { quantity: 7 },
    });
    expect(restocked.status).toBe(200);

    const after = await call("GET", `/products/${productId}`, {
      headers: { "if-none-match": before },
    });
    expect(after.status).toBe(200);
    expect(after.body.stock).toBe(7);
    expect(after.headers.get("etag")).toMatch(STRONG_ETAG);
    expect(after.headers.get("etag")).not.toBe(before);
  });

  it("marks no 404 cacheable", async () => {
    const res = await call("GET", "/products/0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10");
    expect(res.status).toBe(404);
    expect(res.headers.get("cache-control")).toBeNull();
  });
});

describe("listProducts caching", () => {
  it("tags each page; 304 while it is unchanged, a new tag once a product changes", async () => {
    const page = await call("GET", "/products?q=Cached");
    const etag = page.headers.get("etag") ?? "";
    expect(page.status).toBe(200);
    expect(etag).toMatch(STRONG_ETAG);
    expect(page.headers.get("cache-control")).toBe(PUBLIC_READ_CACHE_CONTROL);

    const unchanged = await call("GET", "/products?q=Cached", {
      headers: { "if-none-match": etag },
    });
    expect(unchanged.status).toBe(304);

    await call("PATCH", `/products/${productId}`, {
      token: adminToken,
      json: { name: "Cached cup, renamed" },
    });
    const changed = await call("GET", "/products?q=Cached", {
      headers: { "if-none-match": etag },
    });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
  });
});
