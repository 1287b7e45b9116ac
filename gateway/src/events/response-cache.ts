/**
 * A bounded in-memory cache of upstream responses (least recently used entries go first), kept
 * correct by events rather than by time: an entry lives until {@link ResponseCache.invalidate}
 * drops it (an event about its resource arrived) or {@link ResponseCache.flush} drops them all.
 *
 * A response read from the upstream before an invalidation but stored after it would bring the
 * old state back. So a fill is registered when the upstream request starts ({@link begin}); an
 * invalidation of its key, or a flush, marks it stale, and a stale fill is never stored.
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
  readonly key: string;
  /** Set when the key was invalidated (or the cache flushed) after the fill began. */
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
}

/** Counters, for logs and metrics. */
export interface CacheStats {
  hits: number;
  misses: number;
  stored: number;
  invalidations: number;
  flushes: number;
}

/** The response cache (see the module comment). */
export class ResponseCache {
  private readonly entries: LRUCache<string, CachedResponse>;
  private readonly fills = new Map<string, Set<Fill>>();
  private enabled = false;
  readonly stats: CacheStats = { hits: 0, misses: 0, stored: 0, invalidations: 0, flushes: 0 };

  constructor(options: ResponseCacheOptions = {}) {
    this.entries = new LRUCache<string, CachedResponse>({
      max: Math.max(1, options.maxEntries ?? DEFAULT_CACHE_MAX_ENTRIES),
      maxSize: Math.max(1, options.maxBytes ?? DEFAULT_CACHE_MAX_BYTES),
      sizeCalculation: (entry) => Math.max(1, entry.body.length),
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
    const entry = this.enabled ? this.entries.get(key) : undefined;
    if (entry) this.stats.hits += 1;
    else this.stats.misses += 1;
    return entry;
  }

  /** Registers a fill of `key` starting now (end it with {@link store} or {@link abandon}). */
  begin(key: string): Fill {
    const fill: Fill = { key, stale: !this.enabled };
    const pending = this.fills.get(key) ?? new Set();
    pending.add(fill);
    this.fills.set(key, pending);
    return fill;
  }

  /**
   * Stores the response of `fill` unless it went stale (or the cache is disabled).
   * @returns whether it was stored.
   */
  store(fill: Fill, response: Omit<CachedResponse, "storedAt">): boolean {
    this.abandon(fill);
    if (fill.stale || !this.enabled) return false;
    this.entries.set(fill.key, { ...response, storedAt: Date.now() });
    const stored = this.entries.has(fill.key);
    if (stored) this.stats.stored += 1;
    return stored;
  }

  /** Ends `fill` without storing anything (an error, a 304, a body too large). */
  abandon(fill: Fill): void {
    const pending = this.fills.get(fill.key);
    pending?.delete(fill);
    if (pending?.size === 0) this.fills.delete(fill.key);
  }

  /** Drops the entry of `key` and marks its fills in progress stale. */
  invalidate(key: string): void {
    this.stats.invalidations += 1;
    this.entries.delete(key);
    for (const fill of this.fills.get(key) ?? []) fill.stale = true;
  }

  /** Drops every entry and marks every fill in progress stale. */
  flush(): void {
    this.stats.flushes += 1;
    this.entries.clear();
    for (const pending of this.fills.values()) for (const fill of pending) fill.stale = true;
  }
}
