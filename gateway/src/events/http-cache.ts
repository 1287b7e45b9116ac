/**
 * The declared caches (`x-portico-cache`, operations/extensions.ts) at work on requests: like
 * incremental static regeneration, but invalidated by events instead of a timer — an operation's
 * 200s are kept ({@link ResponseCache}) until an event about their resource arrives
 * (invalidation.ts), so a reader never sees data older than the event stream. Only public GETs
 * can declare a cache (operations/table.ts), so an entry is served to every caller. Only 200s
 * are stored: never an error, a 304, a response marked `no-store`/`private` or compressed. A
 * cached entry answers `If-None-Match` with 304 itself. A request that asks for validation at the
 * origin (`Cache-Control: no-cache` or `max-age=0`: a reload, or `fetch` with a hand-set
 * `If-None-Match`) is forwarded instead (RFC 9111 section 5.2.1), and its 200 refreshes the entry.
 * A `HEAD` is answered from an entry but never fills one.
 *
 * A write through this gateway (any other method on an operation with the cache key among its
 * path parameters, e.g. `PATCH /products/{productId}` for a cache keyed by `productId`) drops the
 * resource's entries when its response completes, so the writer reads its own write even before
 * the event arrives; other gateway instances learn of it from the event.
 *
 * Every answer of a cached operation carries `Cache-Status` (RFC 9211): `hit`, `fwd=miss` (read
 * from the upstream, and kept when storable), `fwd=request` (the request asked for validation at
 * the origin) or `fwd=bypass` (the cache is off: no event feed).
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import fresh from "fresh";
import {
  cacheHits,
  cacheInvalidations,
  cacheMisses,
  cacheStores,
} from "../observability/metrics.js";
import type { CachePolicy } from "../operations/extensions.js";
import type { OperationTable } from "../operations/table.js";
import { addResponseHeader, sentHeaders } from "../pipeline/lane-response.js";
import {
  type CachedResponse,
  type Fill,
  type ResponseCache,
  resourceOf,
} from "./response-cache.js";

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

/** The metric children of one cached operation. */
interface OperationCounters {
  hits: { inc(): void };
  misses: { inc(): void };
  stores: { inc(): void };
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
  res.end(entry.body); // Node sends no body in answer to a HEAD
}

/**
 * Records the body the proxy writes to `res` and, once the response completed as a storable 200,
 * stores it for `fill`; abandons the fill otherwise.
 * @returns nothing; `onStored` is called when the entry was kept.
 */
function recordInto(
  cache: ResponseCache,
  fill: Fill,
  res: ServerResponse,
  maxBodyBytes: number,
  onStored: () => void,
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
    const headers = sentHeaders(res);
    if (res.statusCode !== 200 || overflow || !storable(headers)) {
      cache.abandon(fill);
      return;
    }
    const kept = replayedHeaders(headers);
    if (cache.store(fill, { headers: kept, body: Buffer.concat(chunks), etag: kept.etag })) {
      onStored();
    }
  });
  res.once("close", () => {
    if (!res.writableFinished) cache.abandon(fill);
  });
}

/** The query string of a request URL, `?` included (empty when none). */
function queryOf(url: string | undefined): string {
  const mark = url?.indexOf("?") ?? -1;
  return mark < 0 ? "" : (url as string).slice(mark);
}

/**
 * Middleware placed after the contract validator and before the proxy: serves the operations
 * of `table` that declare a cache from `cache` or records the upstream's answer into it, and
 * drops a resource's entries after a write to it through this gateway. Takes bare `node:http`
 * objects (the fast lane's and Express's).
 */
export function declaredCaches(
  table: OperationTable,
  cache: ResponseCache,
): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
  const cached = new Map<string, CachePolicy>();
  /** Each cached operation's metric children, looked up once (not per request). */
  const counters = new Map<string, OperationCounters>();
  /** For each path parameter keying a cache: the operations whose cache it keys. */
  const writeKeys = new Map<string, string[]>();
  for (const operation of table.operations) {
    if (!operation.cache) continue;
    cached.set(operation.operationId, operation.cache);
    counters.set(operation.operationId, {
      hits: cacheHits.labels(operation.operationId),
      misses: cacheMisses.labels(operation.operationId),
      stores: cacheStores.labels(operation.operationId),
    });
    const ids = writeKeys.get(operation.cache.key) ?? [];
    ids.push(operation.operationId);
    writeKeys.set(operation.cache.key, ids);
  }
  const invalidateWrite = (pathParams: Record<string, string>) => {
    for (const [name, operationIds] of writeKeys) {
      const value = pathParams[name];
      if (value === undefined) continue;
      for (const operationId of operationIds) cache.invalidate(resourceOf(operationId, value));
      cacheInvalidations.inc();
    }
  };

  return (req, res, next) => {
    if (cached.size === 0) {
      next();
      return;
    }
    const { openapi } = req as ContractRequest;
    const operationId = openapi?.schema?.operationId;
    const pathParams = openapi?.pathParams ?? {};
    const policy = operationId === undefined ? undefined : cached.get(operationId);
    if (!policy) {
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.once("finish", () => invalidateWrite(pathParams));
      }
      next();
      return;
    }
    if (!cache.active) {
      addResponseHeader(res, "Cache-Status", `${CACHE_NAME}; fwd=bypass`);
      next();
      return;
    }
    const resource = resourceOf(operationId as string, pathParams[policy.key] ?? "");
    const key = `${resource}${queryOf(req.url)}`;
    const revalidate = requiresOriginValidation(req.headers["cache-control"]);
    const entry = revalidate ? undefined : cache.get(key);
    const counted = counters.get(operationId as string) as OperationCounters;
    if (entry) {
      counted.hits.inc();
      serveHit(req, res, entry);
      return;
    }
    counted.misses.inc();
    addResponseHeader(res, "Cache-Status", `${CACHE_NAME}; fwd=${revalidate ? "request" : "miss"}`);
    if (req.method === "GET") {
      recordInto(cache, cache.begin(resource, key), res, policy.maxBodyBytes, () =>
        counted.stores.inc(),
      );
    }
    next();
  };
}
