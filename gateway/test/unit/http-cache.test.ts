import { describe, expect, it } from "@jest/globals";
import { createLogger } from "@portico/kit";
import { ResponseCache } from "../../src/cache.js";
import { requiresOriginValidation, storable } from "../../src/product-cache.js";
import { invalidateFor, productIdsOf } from "../../src/product-invalidation.js";

const log = createLogger("product-cache-unit", "silent");
const P = "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10";
const Q = "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b11";

describe("which product an event is about", () => {
  it("takes the envelope subject and the data's productId or product.id", () => {
    expect(productIdsOf({ subject: P, data: { productId: P, previous: 0, current: 2 } })).toEqual([
      P,
    ]);
    expect(productIdsOf({ subject: P, data: { product: { id: Q } } })).toEqual([P, Q]);
    expect(productIdsOf({ subject: P, data: {} })).toEqual([P]);
    expect(productIdsOf("nonsense")).toEqual([]);
    expect(productIdsOf(null)).toEqual([]);
  });

  it("drops that product's entry, or every entry when the event is unreadable", () => {
    const cache = new ResponseCache();
    cache.enable();
    const entry = { headers: {}, body: Buffer.from("{}"), etag: undefined };
    cache.store(cache.begin(P), entry);
    cache.store(cache.begin(Q), entry);
    invalidateFor(cache, { data: new TextEncoder().encode(JSON.stringify({ subject: P })) }, log);
    expect(cache.get(P)).toBeUndefined();
    expect(cache.get(Q)).toBeDefined();
    invalidateFor(cache, { data: new TextEncoder().encode("not json") }, log);
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
