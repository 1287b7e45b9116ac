import { describe, expect, it } from "@jest/globals";
import { ResponseCache } from "../../src/events/response-cache.js";

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
  it("stores a fill and serves it until its resource is invalidated", () => {
    const cache = activeCache();
    expect(cache.store(cache.begin("a", "a"), response("one"))).toBe(true);
    expect(cache.get("a")?.body.toString()).toBe("one");
    cache.invalidate("a");
    expect(cache.get("a")).toBeUndefined();
  });

  it("drops every entry of a resource (one per query string) at once, and only those", () => {
    const cache = activeCache();
    cache.store(cache.begin("r", "r"), response("page"));
    cache.store(cache.begin("r", "r?limit=1"), response("first"));
    cache.store(cache.begin("s", "s?limit=1"), response("other"));
    cache.invalidate("r");
    expect(cache.get("r")).toBeUndefined();
    expect(cache.get("r?limit=1")).toBeUndefined();
    expect(cache.get("s?limit=1")?.body.toString()).toBe("other");
  });

  it("never stores a fill that an invalidation or a flush overtook", () => {
    const cache = activeCache();
    const overtaken = cache.begin("a", "a");
    const other = cache.begin("b", "b");
    cache.invalidate("a");
    expect(cache.store(overtaken, response("old"))).toBe(false);
    expect(cache.get("a")).toBeUndefined();
    expect(cache.store(other, response("b"))).toBe(true);

    const beforeFlush = cache.begin("c", "c");
    cache.flush();
    expect(cache.store(beforeFlush, response("old"))).toBe(false);
    expect(cache.size).toBe(0);
    // A fill that began after the invalidation is current.
    expect(cache.store(cache.begin("a", "a"), response("new"))).toBe(true);
    expect(cache.get("a")?.body.toString()).toBe("new");
  });

  it("serves and stores nothing while disabled, and starts empty when enabled again", () => {
    const cache = new ResponseCache();
    expect(cache.active).toBe(false);
    expect(cache.store(cache.begin("a", "a"), response("x"))).toBe(false);
    cache.enable();
    cache.store(cache.begin("a", "a"), response("x"));
    const during = cache.begin("b", "b");
    cache.disable();
    expect(cache.get("a")).toBeUndefined();
    cache.enable();
    expect(cache.store(during, response("y"))).toBe(false);
    expect(cache.size).toBe(0);
  });

  it("keeps at most maxEntries entries, dropping (and reporting) the least recently used", () => {
    let evictions = 0;
    const cache = new ResponseCache({ maxEntries: 2, onEvict: () => evictions++ });
    cache.enable();
    cache.store(cache.begin("a", "a"), response("a"));
    cache.store(cache.begin("b", "b"), response("b"));
    cache.get("a");
    cache.store(cache.begin("c", "c"), response("c"));
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBeDefined();
    expect(cache.get("c")).toBeDefined();
    expect(evictions).toBe(1);
    // An evicted entry is forgotten by its resource too: invalidating it later is harmless.
    cache.invalidate("b");
    expect(cache.size).toBe(2);
  });

  it("keeps at most maxBytes of bodies, and never a body larger than that", () => {
    const cache = activeCache({ maxBytes: 10 });
    expect(cache.store(cache.begin("big", "big"), response("x".repeat(11)))).toBe(false);
    cache.store(cache.begin("a", "a"), response("123456"));
    cache.store(cache.begin("b", "b"), response("123456"));
    expect(cache.get("a")).toBeUndefined();
    expect(cache.get("b")).toBeDefined();
  });
});
