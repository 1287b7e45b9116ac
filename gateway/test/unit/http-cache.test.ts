import { describe, expect, it } from "@jest/globals";
import { createLogger } from "@portico/kit";
import { requiresOriginValidation, storable } from "../../src/events/http-cache.js";
import { invalidateFor } from "../../src/events/invalidation.js";
import { ResponseCache, resourceOf } from "../../src/events/response-cache.js";

const log = createLogger("http-cache-unit", "silent");
const P = "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10";
const Q = "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b11";

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe("invalidation by declared events", () => {
  const rules = new Map([
    ["products.product.updated", [{ operationId: "getThing", key: ["subject"] }]],
    ["products.review.scored", [{ operationId: "listThings", key: ["data", "productId"] }]],
  ]);

  it("drops the resource whose key the event carries where the declaration says", () => {
    const cache = new ResponseCache();
    cache.enable();
    const entry = { headers: {}, body: Buffer.from("{}"), etag: undefined };
    for (const id of [P, Q]) {
      cache.store(cache.begin(resourceOf("getThing", id), `g${id}`), entry);
      cache.store(cache.begin(resourceOf("listThings", id), `l${id}`), entry);
    }
    invalidateFor(
      cache,
      rules,
      { subject: "products.product.updated", data: encode({ subject: P }) },
      log,
    );
    expect(cache.get(`g${P}`)).toBeUndefined();
    expect(cache.get(`l${P}`)).toBeDefined();
    invalidateFor(
      cache,
      rules,
      { subject: "products.review.scored", data: encode({ subject: "r", data: { productId: Q } }) },
      log,
    );
    expect(cache.get(`l${Q}`)).toBeUndefined();
    expect(cache.get(`g${Q}`)).toBeDefined();
    // A subject no cache declared changes nothing.
    invalidateFor(cache, rules, { subject: "users.user.registered", data: encode({}) }, log);
    expect(cache.size).toBe(2);
  });

  it("flushes everything when a declared event is unreadable or lacks its key", () => {
    const cache = new ResponseCache();
    cache.enable();
    const entry = { headers: {}, body: Buffer.from("{}"), etag: undefined };
    cache.store(cache.begin("a", "a"), entry);
    invalidateFor(cache, rules, { subject: "products.product.updated", data: encode({}) }, log);
    expect(cache.size).toBe(0);
    cache.store(cache.begin("a", "a"), entry);
    invalidateFor(
      cache,
      rules,
      { subject: "products.product.updated", data: new TextEncoder().encode("not json") },
      log,
    );
    expect(cache.size).toBe(0);
  });
});

describe("what the cache may store and serve", () => {
  it("stores identity-encoded responses not marked no-store or private", () => {
    expect(storable({ "cache-control": "public, max-age=0, must-revalidate" })).toBe(true);
    expect(storable({})).toBe(true);
    expect(storable({ "cache-control": "no-store" })).toBe(false);
    expect(storable({ "cache-control": "private, max-age=60" })).toBe(false);
    expect(storable({ "content-encoding": "gzip" })).toBe(false);
  });

  it("forwards requests asking for validation at the origin", () => {
    for (const value of ["no-cache", "max-age=0", "no-store, no-cache", 'max-age="0"']) {
      expect({ value, forwarded: requiresOriginValidation(value) }).toEqual({
        value,
        forwarded: true,
      });
    }
    for (const value of [undefined, "", "max-age=60", "no-transform"]) {
      expect({ value, forwarded: requiresOriginValidation(value) }).toEqual({
        value,
        forwarded: false,
      });
    }
  });
});
