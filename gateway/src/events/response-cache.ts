/**
 * A bounded in-memory cache of upstream responses (least recently used entries go first), kept
 * correct by events rather than by time. Each entry belongs to a *resource* (the operation and
 * the value of its cache key, e.g. `getProduct` of one product id); one resource may hold several
 * entries (one per query string). An entry lives until {@link ResponseCache.invalidate} drops
 * its resource (an event about it arrived, or a write through the gateway) or
 * {@link ResponseCache.flush} drops them all.
 *
 * A response read from the upstream before an invalidation but stored after it would bring the
 * old state back. So a fill is registered when the upstream request starts ({@link begin}); an
 * invalidation of its resource, or a flush, marks it stale, and a stale fill is never stored.
 * While disabled (no event feed: nothing could invalidate it) the cache is empty and stores
 * nothing.
 */
import { LRUCache } from "lru-cache";

/** A stored response: always a 200, with the headers worth replaying. */
export interface CachedResponse {
  headers: Readonly<Record<string, string>>;
  body: Buffer;
  /** The `ETag` response header, if any (answers `If-None-Match` with 304). */
  etag: string | undefined;
  /** When it was stored (`Date.now()`), for the `Age` header. */
  storedAt: number;
}

/** A response being read from the upstream, to be stored unless it went stale meanwhile. */
export interface Fill {
  /** The resource the response belongs to. */
  readonly resource: string;
  /** The entry's own key (the resource and the request's query string). */
  readonly key: string;
  /** Set when the resource was invalidated (or the cache flushed) after the fill began. */
  stale: boolean;
}

/** Default of {@link ResponseCacheOptions.maxEntries}. */
export const DEFAULT_CACHE_MAX_ENTRIES = 10_000;
/** Default of {@link ResponseCacheOptions.maxBytes}: 64 MiB. */
export const DEFAULT_CACHE_MAX_BYTES = 64 * 1024 * 1024;

/** Options of {@link ResponseCache}. */
export interface ResponseCacheOptions {
  /** Most entries kept (default {@link DEFAULT_CACHE_MAX_ENTRIES}). */
  maxEntries?: number | undefined;
  /**
   * Most body bytes kept over all entries (default {@link DEFAULT_CACHE_MAX_BYTES}); a larger
   * body is not stored.
   */
  maxBytes?: number | undefined;
  /** Told of each entry pushed out by the bounds (an eviction, not an invalidation). */
  onEvict?: () => void;
}

/** The identity of one resource: its operation and the value of its cache key. */
export function resourceOf(operationId: string, key: string): string {
  return `${operationId}\u0000${key}`;
}

interface Entry extends CachedResponse {
  resource: string;
}

/** The response cache (see the module comment). */
export class ResponseCache {
  private readonly entries: LRUCache<string, Entry>;
  /** The entry keys of each resource. */
  private readonly byResource = new Map<string, Set<string>>();
  private readonly fills = new Map<string, Set<Fill>>();
  private enabled = false;

  constructor(options: ResponseCacheOptions = {}) {
    const onEvict = options.onEvict;
    this.entries = new LRUCache<string, Entry>({
      max: Math.max(1, options.maxEntries ?? DEFAULT_CACHE_MAX_ENTRIES),
      maxSize: Math.max(1, options.maxBytes ?? DEFAULT_CACHE_MAX_BYTES),
      sizeCalculation: (entry) => Math.max(1, entry.body.length),
      dispose: (entry, key, reason) => {
        const keys = this.byResource.get(entry.resource);
        keys?.delete(key);
        if (keys?.size === 0) this.byResource.delete(entry.resource);
        if (reason === "evict") onEvict?.();
      },
    });
  }

  /** Whether entries are served and stored. */
  get active(): boolean {
    return this.enabled;
  }

  /** Entries held. */
  get size(): number {
    return this.entries.size;
  }

  /** Serve and store again (the event feed runs), starting empty. */
  enable(): void {
    this.flush();
    this.enabled = true;
  }

  /** Stop serving and storing (the event feed is down), dropping every entry. */
  disable(): void {
    this.enabled = false;
    this.flush();
  }

  /** The entry for `key`, when the cache is active and holds one. */
  get(key: string): CachedResponse | undefined {
    return this.enabled ? this.entries.get(key) : undefined;
  }

  /**
   * Registers a fill of the entry `key` of `resource` starting now (end it with {@link store}
   * or {@link abandon}).
   */
  begin(resource: string, key: string): Fill {
    const fill: Fill = { resource, key, stale: !this.enabled };
    const pending = this.fills.get(resource) ?? new Set();
    pending.add(fill);
    this.fills.set(resource, pending);
    return fill;
  }

  /**
   * Stores the response of `fill` unless it went stale (or the cache is disabled, or the body
   * exceeds the bounds).
   * @returns whether it was stored.
   */
  store(fill: Fill, response: Omit<CachedResponse, "storedAt">): boolean {
    this.abandon(fill);
    if (fill.stale || !this.enabled) return false;
    this.entries.set(fill.key, { ...response, resource: fill.resource, storedAt: Date.now() });
    if (!this.entries.has(fill.key)) return false;
    const keys = this.byResource.get(fill.resource) ?? new Set();
    keys.add(fill.key);
    this.byResource.set(fill.resource, keys);
    return true;
  }

  /** Ends `fill` without storing anything (an error, a 304, a body too large). */
  abandon(fill: Fill): void {
    const pending = this.fills.get(fill.resource);
    pending?.delete(fill);
    if (pending?.size === 0) this.fills.delete(fill.resource);
  }

  /** Drops every entry of `resource` and marks its fills in progress stale. */
  invalidate(resource: string): void {
    for (const key of [...(this.byResource.get(resource) ?? [])]) this.entries.delete(key);
    for (const fill of this.fills.get(resource) ?? []) fill.stale = true;
  }

  /** Drops every entry and marks every fill in progress stale. */
  flush(): void {
    this.entries.clear();
    this.byResource.clear();
    for (const pending of this.fills.values()) for (const fill of pending) fill.stale = true;
  }
}
