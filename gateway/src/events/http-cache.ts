/**
 * Event-driven caching of the public product reads at the gateway, like incremental static
 * regeneration but invalidated by events instead of a timer: `getProduct` answers are kept (a
 * bounded LRU, {@link ResponseCache}) until a `products.*` event about that product arrives
 * (product-invalidation.ts), so a reader never sees a product older than the event stream. The
 * reads are public (no security requirement), so an entry is served to every caller, signed in or
 * not. Only 200s are stored: never an error, a 304, or a response marked `no-store`/`private`.
 * A cached entry answers `If-None-Match` with 304 itself. A request that asks for validation at
 * the origin (`Cache-Control: no-cache` or `max-age=0`: a reload, or `fetch` with a hand-set
 * `If-None-Match`) is forwarded instead (RFC 9111 section 5.2.1), and its 200 refreshes the entry.
 *
 * A change made through this gateway (any other method on a path with `{productId}`) also drops
 * the product's entry when its response completes, so the writer reads its own write even before
 * the event arrives; other gateway instances learn of it from the event.
 *
 * Every answer of a cacheable read carries `Cache-Status` (RFC 9211): `hit`, `fwd=miss` (read
 * from the upstream, and kept when storable), `fwd=request` (the request asked for validation
 * at the origin) or `fwd=bypass` (the cache is off: no event feed).
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import fresh from "fresh";
import type { CachedResponse, Fill, ResponseCache } from "./cache.js";

/** The operation whose answers are cached. */
export const CACHED_OPERATION = "getProduct";

/** This cache's name in `Cache-Status` (RFC 9211 section 2). */
export const CACHE_NAME = "portico-gateway";

/** Response headers stored with an entry and replayed (never per-request or hop-by-hop ones). */
const REPLAYED_HEADERS = [
  "content-type",
  "etag",
  "cache-control",
  "last-modified",
  "content-language",
];

/** Options of {@link cacheProductReads}. */
export interface ProductCacheOptions {
  /** Largest body stored, in bytes (default 256 KiB). */
  maxBodyBytes?: number;
}

type ContractRequest = IncomingMessage & {
  openapi?: { schema?: { operationId?: string }; pathParams?: Record<string, string> };
};

/** Whether `headers` allow a shared cache to store the response (RFC 9111 section 3). */
export function storable(headers: OutgoingHttpHeaders): boolean {
  const cacheControl = String(headers["cache-control"] ?? "").toLowerCase();
  if (/(^|[\s,])(no-store|private)([\s,=]|$)/.test(cacheControl)) return false;
  const encoding = String(headers["content-encoding"] ?? "identity").toLowerCase();
  return encoding === "identity";
}

/** The headers of `headers` worth replaying, as strings. */
function replayedHeaders(headers: OutgoingHttpHeaders): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = headers[name];
    if (value !== undefined) kept[name] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return kept;
}

/**
 * Whether the request's `Cache-Control` forbids answering from the cache without validating at
 * the origin (`no-cache`, `max-age=0`; RFC 9111 sections 5.2.1.1 and 5.2.1.4).
 */
export function requiresOriginValidation(cacheControl: string | undefined): boolean {
  return /(^|[\s,])(no-cache|max-age\s*=\s*"?0"?)([\s,]|$)/i.test(cacheControl ?? "");
}

/** Answers from `entry`: 304 when `If-None-Match` matches its ETag, else the stored 200. */
function serveHit(req: IncomingMessage, res: ServerResponse, entry: CachedResponse): void {
  res.setHeader("Cache-Status", `${CACHE_NAME}; hit`);
  res.setHeader("Age", String(Math.max(0, Math.floor((Date.now() - entry.storedAt) / 1000))));
  for (const [name, value] of Object.entries(entry.headers)) res.setHeader(name, value);
  const ifNoneMatch = req.headers["if-none-match"];
  if (entry.etag && ifNoneMatch && fresh({ "if-none-match": ifNoneMatch }, { etag: entry.etag })) {
    res.removeHeader("content-type");
    res.statusCode = 304;
    res.end();
    return;
  }
  res.statusCode = 200;
  res.setHeader("Content-Length", entry.body.length);
  res.end(entry.body);
}

/**
 * Records the body the proxy writes to `res` and, once the response completed as a storable 200,
 * stores it for `fill`; abandons the fill otherwise.
 */
function recordInto(
  cache: ResponseCache,
  fill: Fill,
  res: ServerResponse,
  maxBodyBytes: number,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let overflow = false;
  const collect = (chunk: unknown, encoding: unknown) => {
    if (overflow || chunk === undefined || chunk === null || typeof chunk === "function") return;
    const buffer = Buffer.isBuffer(chunk)
      ? chunk
      : typeof chunk === "string"
        ? Buffer.from(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8")
        : Buffer.from(chunk as Uint8Array);
    size += buffer.length;
    if (size > maxBodyBytes) {
      overflow = true;
      chunks.length = 0;
    } else chunks.push(buffer);
  };
  const write = res.write;
  const end = res.end;
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    collect(chunk, rest[0]);
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as ServerResponse["write"];
  res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
    collect(chunk, rest[0]);
    return (end as (...args: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as ServerResponse["end"];

  res.once("finish", () => {
    const headers = res.getHeaders();
    if (res.statusCode !== 200 || overflow || !storable(headers)) {
      cache.abandon(fill);
      return;
    }
    const kept = replayedHeaders(headers);
    cache.store(fill, { headers: kept, body: Buffer.concat(chunks), etag: kept.etag });
  });
  res.once("close", () => {
    if (!res.writableFinished) cache.abandon(fill);
  });
}

/**
 * Middleware placed after the contract validator and before the proxy: serves `getProduct` from
 * `cache` or records the upstream's answer into it, and drops a product's entry after a write
 * to it through this gateway. Takes bare `node:http` objects (the fast lane's and Express's).
 */
export function cacheProductReads(
  cache: ResponseCache,
  options: ProductCacheOptions = {},
): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
  const maxBodyBytes = options.maxBodyBytes ?? 256 * 1024;
  return (req, res, next) => {
    const { openapi } = req as ContractRequest;
    const productId = openapi?.pathParams?.productId;
    if (productId === undefined) {
      next();
      return;
    }
    if (req.method !== "GET") {
      res.once("finish", () => cache.invalidate(productId));
      next();
      return;
    }
    if (openapi?.schema?.operationId !== CACHED_OPERATION) {
      next();
      return;
    }
    if (!cache.active) {
      res.setHeader("Cache-Status", `${CACHE_NAME}; fwd=bypass`);
      next();
      return;
    }
    const revalidate = requiresOriginValidation(req.headers["cache-control"]);
    const entry = revalidate ? undefined : cache.get(productId);
    if (entry) {
      serveHit(req, res, entry);
      return;
    }
    res.setHeader("Cache-Status", `${CACHE_NAME}; fwd=${revalidate ? "request" : "miss"}`);
    recordInto(cache, cache.begin(productId), res, maxBodyBytes);
    next();
  };
}
