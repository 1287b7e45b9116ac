/**
 * Prometheus metrics of a service (prom-client), served at `GET /metrics` in the Prometheus text
 * exposition format, outside the contract like `/healthz`: request latency per operationId, the
 * outbox backlog, consumed events, plus Node.js process metrics. One registry per process, made on
 * first use; the request middleware and the route are mounted by `createApp`, the outbox relay and
 * the consumers report here themselves.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import express from "express";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { EXACT_ROUTER_OPTIONS } from "./routing.js";

/** Latency buckets of HTTP requests, in seconds (5 ms … 10 s). */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Paths that are probed or scraped, not served to clients: not measured. */
const UNMEASURED_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/** The metrics of a service process. */
export interface ServiceMetrics {
  registry: Registry;
  /**
   * `portico_http_request_duration_seconds{operation_id, method, status}`: one observation per
   * request, `operation_id` being the contract's operationId (`unmatched` when no operation
   * matched); its `_count` is the request count.
   */
  httpRequestDuration: Histogram<"operation_id" | "method" | "status">;
  /**
   * `portico_http_fast_lane_requests_total{lane}`: requests the contract dispatcher took
   * (`fast`) or handed to the Express app (`reference`).
   */
  fastLaneRequests: Counter<"lane">;
  /** `portico_outbox_pending_events`: committed events not yet published (read at scrape). */
  outboxPending: Gauge;
  /** `portico_outbox_oldest_pending_seconds`: age of the oldest of them (read at scrape). */
  outboxOldestPending: Gauge;
  /** `portico_consumer_events_processed_total{consumer, subject}`: events handled and acked. */
  consumerProcessed: Counter<"consumer" | "subject">;
  /**
   * `portico_consumer_events_failed_total{consumer, subject, outcome}`: failed deliveries,
   * `outcome` = `retried` (nak'ed, redelivered after the back-off) or `dead_lettered`.
   */
  consumerFailed: Counter<"consumer" | "subject" | "outcome">;
}

/** What an outbox reports at scrape time. */
export type OutboxBacklogSource = () => Promise<{ pending: number; oldestAgeMs: number }>;

const outboxSources = new Set<OutboxBacklogSource>();
let metrics: ServiceMetrics | undefined;

/** The process's service metrics (created, with the default Node.js metrics, on first call). */
export function serviceMetrics(): ServiceMetrics {
  if (metrics) return metrics;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  /** Sums the backlog of every running relay of this process (one per service normally). */
  const backlog = async () => {
    const all = await Promise.all(
      [...outboxSources].map((source) => source().catch(() => undefined)),
    );
    const known = all.filter((b) => b !== undefined);
    return {
      known: known.length > 0,
      pending: known.reduce((sum, b) => sum + b.pending, 0),
      oldestAgeMs: Math.max(0, ...known.map((b) => b.oldestAgeMs)),
    };
  };
  metrics = {
    registry,
    httpRequestDuration: new Histogram({
      name: "portico_http_request_duration_seconds",
      help: "Duration of HTTP requests, by the contract's operationId, method and status code.",
      labelNames: ["operation_id", "method", "status"] as const,
      buckets: HTTP_DURATION_BUCKETS,
      registers: [registry],
    }),
    fastLaneRequests: new Counter({
      name: "portico_http_fast_lane_requests_total",
      help: "Requests the contract dispatcher took (fast) or handed to the Express app (reference).",
      labelNames: ["lane"] as const,
      registers: [registry],
    }),
    outboxPending: new Gauge({
      name: "portico_outbox_pending_events",
      help: "Events committed to the outbox and not yet published to NATS JetStream.",
      registers: [registry],
      async collect() {
        const { known, pending } = await backlog();
        if (known) this.set(pending);
        else this.reset();
      },
    }),
    outboxOldestPending: new Gauge({
      name: "portico_outbox_oldest_pending_seconds",
      help: "Age of the oldest event waiting in the outbox, in seconds (0 when none waits).",
      registers: [registry],
      async collect() {
        const { known, oldestAgeMs } = await backlog();
        if (known) this.set(oldestAgeMs / 1_000);
        else this.reset();
      },
    }),
    consumerProcessed: new Counter({
      name: "portico_consumer_events_processed_total",
      help: "Events a durable consumer handled and acknowledged.",
      labelNames: ["consumer", "subject"] as const,
      registers: [registry],
    }),
    consumerFailed: new Counter({
      name: "portico_consumer_events_failed_total",
      help: "Event deliveries that failed: retried later, or dead-lettered.",
      labelNames: ["consumer", "subject", "outcome"] as const,
      registers: [registry],
    }),
  };
  return metrics;
}

/**
 * Reports an outbox's backlog on `/metrics` until the returned function is called (the relay
 * does it when it starts and stops).
 */
export function trackOutboxBacklog(source: OutboxBacklogSource): () => void {
  outboxSources.add(source);
  return () => {
    outboxSources.delete(source);
  };
}

/** What express-openapi-validator records on a matched request. */
interface MatchedRequest extends IncomingMessage {
  originalUrl?: string;
  openapi?: { schema?: { operationId?: string } };
}

/**
 * Middleware (Express, or a bare `node:http` pair with `next` omitted): observes each request's
 * duration in `portico_http_request_duration_seconds`, when the response closes, labelled with
 * the operationId the contract matched (read then, so it may run before the match).
 */
export function recordRequestMetrics(): (
  req: IncomingMessage,
  res: ServerResponse,
  next?: () => void,
) => void {
  const histogram = serviceMetrics().httpRequestDuration;
  return (req, res, next) => {
    const url = (req as MatchedRequest).originalUrl ?? req.url ?? "/";
    const query = url.indexOf("?");
    if (UNMEASURED_PATHS.has(query === -1 ? url : url.slice(0, query))) {
      next?.();
      return;
    }
    const started = process.hrtime.bigint();
    const method = req.method; // before HEAD continues as GET (routing.ts)
    res.once("close", () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      histogram.observe(
        {
          operation_id: (req as MatchedRequest).openapi?.schema?.operationId ?? "unmatched",
          method: method as string,
          status: String(res.headersSent ? res.statusCode : 0),
        },
        seconds,
      );
    });
    next?.();
  };
}

/**
 * Router with `GET /metrics`: the registry in the Prometheus text exposition format (version
 * 0.0.4). Mounted before contract validation, like `/healthz`.
 */
export function metricsRoutes(registry: Registry = serviceMetrics().registry): express.Router {
  const router = express.Router(EXACT_ROUTER_OPTIONS);
  router.get("/metrics", async (_req, res, next) => {
    try {
      const body = await registry.metrics();
      res.setHeader("Content-Type", registry.contentType);
      res.setHeader("Cache-Control", "no-store");
      res.send(body);
    } catch (err) {
      next(err);
    }
  });
  return router;
}
