import { describe, expect, it } from "@jest/globals";
import { ResponseCache } from "../../src/cache.js";

const response = (text: string) => ({
  headers: { "content-type": "application/json" },
  body: Buffer.from(text),
  etag: `"${text}"`,
});

function activeCache(options: { maxEntries?: number; maxBytes?: number } = {}): ResponseCache {
  const cache = new ResponseCache(options);
  cache.enable();
  return cache;
}

describe("ResponseCache", () => {
  it("stores a fill and serves it until its key is invalidated", () => {
    const cache = activeCache();
    expect(cache.store(cache.begin("a"), response("one"))).toBe(true);
    expect(cache.get("a")?.body.toString()).toBe("one");
    cache.invalidate("a");
    expect(cache.get("a")).toBeUndefined();
    expect(cache.stats).toMatchObject({ hits: 1, misses: 1, stored: 1, invalidations: 1 });
  });

  it("never stores a fill that an invalidation or a flush overtook", () => {
    const cache = activeCache();
    const overtaken = cache.begin("a");
    const other = cache.begin("b");
    cache.invalidate("a");
    expect(cache.store(overtaken, response("old"))).toBe(false);
    expect(cache.get("a")).toBeUndefined();
    expect(cache.store(other, response("b"))).toBe(true);

    const beforeFlush = cache.begin("c");
    cache.flush();
    expect(cache.store(beforeFlush, response("old"))).toBe(false);
    expect(cache.size).toBe(0);
    // A fill that began after the invalidation is current.
    expect(cache.store(cache.begin("a"), response("new"))).toBe(true);
    expect(cache.get("a")?.body.toString()).toBe("new");
  });

  it("serves and stores nothing while disabled, and starts empty when enabled again", () => {
    const cache = new ResponseCache();
    expect(cache.active).toBe(false);
    expect(cache.store(cache.begin("a"), response("x"))).toBe(false);
    cache.enable();
    cache.store(cache.begin("a"), response("x"));
    const during = cache.begin("b");
    cache.disable();
    expect(cache.get("a")).toBeUndefined();
    cache.enable();
    expect(cache.store(during, response("y"))).toBe(false);
    expect(cache.size).toBe(0);
  });

  it("keeps at most maxEntries entries, dropping the least recently used", () => {
    const cache = activeCache({ maxEntries: 2 });
    cache.store(cache.begin("a"), response("a"));
    cache.store(cache.begin("b"), response("b"));
    cache.get("a");
    cache.store(cache.begin("c"), response("c"));
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBeDefined();
    expect(cache.get("c")).toBeDefined();
  });

  it("keeps at most maxBytes of bodies, and never a body larger than that", () => {
    const cache = activeCache({ maxBytes: 10 });
    expect(cache.store(cache.begin("big"), response("x".repeat(11)))).toBe(false);
    cache.store(cache.begin("a"), response("123456"));
    cache.store(cache.begin("b"), response("123456"));
    expect(cache.get("a")).toBeUndefined();
    expect(cache.get("b")).toBeDefined();
  });
});
