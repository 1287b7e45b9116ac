/**
 * The gateway's Prometheus metrics (prom-client), served at `GET /metrics` (text exposition
 * format, outside the contract like `/healthz`). One registry per process; every gateway built
 * in the process reports into it.
 *
 * Other gateway modules import the metrics they feed from here: the rate limiter increments
 * {@link rateLimitRejections}, the Server-Sent Events endpoint moves {@link sseConnections}.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { HTTP_DURATION_BUCKETS, metricsRoutes } from "@portico/kit/core";
import type express from "express";
import {
  Counter,
  type CounterConfiguration,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type LabelValues,
  Registry,
} from "prom-client";
import type { OperationTable } from "../operations/table.js";
import { BREAKER_STATE_VALUE, type BreakerState } from "../upstreams/resilience.js";

/** The gateway's registry. */
export const gatewayRegistry = new Registry();

/** One child of a {@link DeferredCounter}: its labels and what it counted since the last read. */
interface PendingCount<T extends string> {
  labels: LabelValues<T>;
  count: number;
}

/**
 * A prom-client `Counter` whose `labels(...)` children count in a plain number, added to the
 * counter whenever it is read (its `collect`, which every scrape and every `get()` runs first).
 * prom-client's own children hash their label set and check it on every `inc()` — a new string
 * per request and counter, a measurable share of the fast lane's CPU profile and allocations
 * (issue 14) — so the counters counted on every request use these; what a scrape shows is the
 * same. Label names are checked when a child is made (prom-client checks them on `inc`).
 */
class DeferredCounter<T extends string> extends Counter<T> {
  // Not a `#` field: prom-client's constructor calls `reset()` before this class's fields exist.
  private readonly children = new Map<string, PendingCount<T>>();

  constructor(configuration: Omit<CounterConfiguration<T>, "collect">) {
    super({
      ...configuration,
      collect(this: Counter<T>) {
        (this as DeferredCounter<T>).flush();
      },
    });
  }

  /** A child counting `labels` (an object, or the values in label-name order). */
  override labels(...values: string[]): { inc(value?: number): void };
  override labels(labels: LabelValues<T>): { inc(value?: number): void };
  override labels(...args: unknown[]): { inc(value?: number): void } {
    const names = (this as unknown as { labelNames: readonly string[] }).labelNames;
    const first = args[0];
    let labels: LabelValues<T>;
    if (args.length === 1 && typeof first === "object" && first !== null) {
      labels = first as LabelValues<T>;
      for (const name in labels) {
        if (!names.includes(name)) {
          throw new Error(`Added label "${name}" is not included in initial labelset: ${names}`);
        }
      }
    } else {
      if (args.length !== names.length) throw new Error("Invalid number of arguments");
      labels = Object.fromEntries(names.map((name, i) => [name, args[i]])) as LabelValues<T>;
    }
    // One child per label set, as prom-client keeps one series: a caller asking per request
    // must not grow this list.
    const key = JSON.stringify(names.map((name) => labels[name as T] ?? null));
    let pending = this.children.get(key);
    if (!pending) {
      pending = { labels, count: 0 };
      this.children.set(key, pending);
    }
    const child = pending;
    return {
      inc: (value = 1) => {
        if (!(Number.isFinite(value) && value >= 0)) {
          throw new TypeError(`A counter only grows by a finite amount: ${value}`);
        }
        child.count += value;
      },
    };
  }

  /** Adds what the children counted since the last read to the counter. */
  flush(): void {
    for (const pending of this.children.values()) {
      if (pending.count > 0) {
        this.inc(pending.labels, pending.count);
        pending.count = 0;
      }
    }
  }

  /** Resets the counter, and what its children counted and did not add yet. */
  override reset(): void {
    for (const pending of this.children?.values() ?? []) pending.count = 0;
    super.reset();
  }
}

/**
 * `portico_gateway_requests_total{operation_id, upstream, method, status}`: requests answered,
 * by the contract's operationId (`unmatched` when none matched), the service that owns it
 * (`none` when none does) and the status code sent (0: the client left before any).
 */
export const gatewayRequests = new DeferredCounter({
  name: "portico_gateway_requests_total",
  help: "Requests answered by the gateway, by operationId, upstream service, method and status.",
  labelNames: ["operation_id", "upstream", "method", "status"] as const,
  registers: [gatewayRegistry],
});

/**
 * `portico_gateway_request_duration_seconds{operation_id, upstream, method}`: latency (not
 * recorded for Server-Sent Events streams, whose duration is the client's session).
 */
export const gatewayRequestDuration = new Histogram({
  name: "portico_gateway_request_duration_seconds",
  help: "Time from request to response end at the gateway, by operationId, upstream and method.",
  labelNames: ["operation_id", "upstream", "method"] as const,
  buckets: HTTP_DURATION_BUCKETS,
  registers: [gatewayRegistry],
});

/**
 * `portico_gateway_fast_lane_requests_total{lane}`: requests by the way they took (fast-lane.ts):
 * `fast` (the compiled fast lane) or `full` (the Express pipeline: every request the fast lane
 * did not take, errors included).
 */
export const fastLaneRequests = new DeferredCounter({
  name: "portico_gateway_fast_lane_requests_total",
  help: "Requests by the way they took: the compiled fast lane (fast) or the full pipeline (full).",
  labelNames: ["lane"] as const,
  registers: [gatewayRegistry],
});

/** `portico_gateway_upstream_retries_total{upstream}`: attempts sent again to an upstream. */
export const upstreamRetries = new Counter({
  name: "portico_gateway_upstream_retries_total",
  help: "Requests sent to an upstream again after a failed attempt.",
  labelNames: ["upstream"] as const,
  registers: [gatewayRegistry],
});

/** `portico_gateway_breaker_rejections_total{upstream}`: 503s answered by an open breaker. */
export const breakerRejections = new Counter({
  name: "portico_gateway_breaker_rejections_total",
  help: "Requests answered 503 by an open circuit breaker without calling the upstream.",
  labelNames: ["upstream"] as const,
  registers: [gatewayRegistry],
});

/**
 * `portico_gateway_rate_limit_rejections_total{principal}`: requests answered 429. The rate
 * limiter increments it; `principal` says what was limited: `user`, `api_key` or `ip`.
 */
export const rateLimitRejections = new Counter({
  name: "portico_gateway_rate_limit_rejections_total",
  help: "Requests rejected with 429 by the rate limiter, by kind of principal (user, api_key, ip).",
  labelNames: ["principal"] as const,
  registers: [gatewayRegistry],
});

/** `portico_gateway_sse_connections`: open Server-Sent Events streams (`inc` on open, `dec` on close). */
export const sseConnections = new Gauge({
  name: "portico_gateway_sse_connections",
  help: "Server-Sent Events streams currently open.",
  registers: [gatewayRegistry],
});

/** `portico_gateway_cache_hits_total{operation_id}`: answers served from a declared cache. */
export const cacheHits = new Counter({
  name: "portico_gateway_cache_hits_total",
  help: "Answers served from the gateway's event-invalidated cache, by operationId.",
  labelNames: ["operation_id"] as const,
  registers: [gatewayRegistry],
});

/** `portico_gateway_cache_misses_total{operation_id}`: cacheable reads forwarded upstream. */
export const cacheMisses = new Counter({
  name: "portico_gateway_cache_misses_total",
  help: "Reads of a cached operation forwarded to the upstream (miss or revalidation), by operationId.",
  labelNames: ["operation_id"] as const,
  registers: [gatewayRegistry],
});

/** `portico_gateway_cache_stores_total{operation_id}`: upstream answers kept. */
export const cacheStores = new Counter({
  name: "portico_gateway_cache_stores_total",
  help: "Upstream answers stored in the gateway's cache, by operationId.",
  labelNames: ["operation_id"] as const,
  registers: [gatewayRegistry],
});

/** `portico_gateway_cache_evictions_total`: entries pushed out by the cache's bounds. */
export const cacheEvictions = new Counter({
  name: "portico_gateway_cache_evictions_total",
  help: "Cache entries evicted to stay within CACHE_MAX_ENTRIES and CACHE_MAX_BYTES.",
  registers: [gatewayRegistry],
});

/** `portico_gateway_cache_invalidations_total`: events or writes that dropped entries. */
export const cacheInvalidations = new Counter({
  name: "portico_gateway_cache_invalidations_total",
  help: "Invalidations of the gateway's cache by an event or a write through the gateway.",
  registers: [gatewayRegistry],
});

/** The breaker state of each upstream, read at scrape time. */
const breakerStates = new Map<string, () => BreakerState>();

/** `portico_gateway_breaker_state{upstream}`: 0 closed, 1 half-open, 2 open. */
export const breakerState = new Gauge({
  name: "portico_gateway_breaker_state",
  help: "Circuit breaker state per upstream service: 0 closed, 1 half-open, 2 open.",
  labelNames: ["upstream"] as const,
  registers: [gatewayRegistry],
  collect() {
    this.reset();
    for (const [upstream, state] of breakerStates) {
      this.set({ upstream }, BREAKER_STATE_VALUE[state()]);
    }
  },
});

/** Reports `service`'s breaker state on `/metrics` until the returned function is called. */
export function trackBreaker(service: string, state: () => BreakerState): () => void {
  breakerStates.set(service, state);
  return () => {
    if (breakerStates.get(service) === state) breakerStates.delete(service);
  };
}

/** Paths probed or scraped, not served to clients: not counted. */
const UNMEASURED_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/** What express-openapi-validator records on a matched request. */
interface MatchedRequest {
  openapi?: { openApiRoute?: string; schema?: { operationId?: string } };
}

/**
 * Counts and times one request whose response closed, by the operationId the contract matched
 * and the upstream service that owns it in `routes`.
 * @returns `(req, res, seconds)`: `seconds` since the request arrived.
 */
export function gatewayRequestObserver(
  routes: OperationTable,
): (req: IncomingMessage, res: ServerResponse, seconds: number) => void {
  return (req, res, seconds) => {
    const openapi = (req as unknown as MatchedRequest).openapi;
    const method = req.method ?? "GET";
    const route = openapi?.openApiRoute ? routes.lookup(method, openapi.openApiRoute) : undefined;
    const series = seriesOf(
      openapi?.schema?.operationId ?? route?.operationId ?? "unmatched",
      route?.service ?? "none",
      method,
    );
    series.requestsWith(res.headersSent ? res.statusCode : 0).inc();
    // An event stream's life is not a response time: it would swamp the latency histogram.
    // (`GET /events` is served by the reference pipeline, whose headers `getHeader` sees; the
    // fast lane's one-write head is not, and the lane serves no stream.)
    const type = res.getHeader("content-type");
    if (!(typeof type === "string" && type.startsWith("text/event-stream"))) {
      series.duration.observe(seconds);
    }
  };
}

/**
 * Middleware (mount it first): counts and times every request when its response closes (see
 * {@link gatewayRequestObserver}). Takes bare `node:http` objects.
 */
export function recordGatewayMetrics(
  routes: OperationTable,
): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
  const observe = gatewayRequestObserver(routes);
  return (req, res, next) => {
    const url = req.url ?? "/";
    const query = url.indexOf("?");
    if (UNMEASURED_PATHS.has(query < 0 ? url : url.slice(0, query))) {
      next();
      return;
    }
    const started = performance.now();
    res.once("close", () => observe(req, res, (performance.now() - started) / 1000));
    next();
  };
}

/** The request metrics' children of one operation, upstream and method. */
interface OperationSeries {
  duration: ReturnType<typeof gatewayRequestDuration.labels>;
  requestsWith(status: number): ReturnType<typeof gatewayRequests.labels>;
}

/** By operationId, then upstream, then method: a lookup builds no key string per request. */
const series = new Map<string, Map<string, Map<string, OperationSeries>>>();

/**
 * The metric children of one label set, looked up once and kept (prom-client otherwise hashes
 * the label object on every observation). Bounded by the contract: operations × methods ×
 * statuses, and `unmatched` for every unknown path.
 */
function seriesOf(operationId: string, upstream: string, method: string): OperationSeries {
  let byUpstream = series.get(operationId);
  if (!byUpstream) {
    byUpstream = new Map();
    series.set(operationId, byUpstream);
  }
  let byMethod = byUpstream.get(upstream);
  if (!byMethod) {
    byMethod = new Map();
    byUpstream.set(upstream, byMethod);
  }
  let found = byMethod.get(method);
  if (!found) {
    const labels = { operation_id: operationId, upstream, method };
    const byStatus = new Map<number, ReturnType<typeof gatewayRequests.labels>>();
    found = {
      duration: gatewayRequestDuration.labels(labels),
      requestsWith: (status) => {
        let counter = byStatus.get(status);
        if (!counter) {
          counter = gatewayRequests.labels({ ...labels, status: String(status) });
          byStatus.set(status, counter);
        }
        return counter;
      },
    };
    byMethod.set(method, found);
  }
  return found;
}

let defaultMetrics = false;

/**
 * Router with `GET /metrics` over {@link gatewayRegistry} (plus the Node.js process metrics,
 * collected from the first call on).
 */
export function gatewayMetricsRoutes(): express.Router {
  if (!defaultMetrics) {
    collectDefaultMetrics({ register: gatewayRegistry });
    defaultMetrics = true;
  }
  return metricsRoutes(gatewayRegistry);
}
