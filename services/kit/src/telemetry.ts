/**
 * Distributed tracing with OpenTelemetry. One trace follows a request from the client through the
 * gateway and the service that handles it, across NATS (the outbox stores the W3C `traceparent`
 * with each event, the relay publishes it as a message header) into the consumers, and down to
 * their database writes.
 *
 * Spans are recorded only in a process that called {@link startTelemetry} with an exporter to
 * send them to: `OTEL_EXPORTER_OTLP_ENDPOINT` (OTLP/HTTP, e.g. an OpenTelemetry Collector or
 * Jaeger) or span processors given by a test. Otherwise nothing is loaded and every helper here
 * returns at its first line; `X-Request-Id` and `traceparent` are then passed through unchanged.
 *
 * Instrumentation is manual (server spans from an Express middleware, client spans in the
 * gateway's proxy, producer/consumer spans around NATS, spans for SQL statements) rather than the
 * auto-instrumentations, which patch CommonJS `require` and so miss ES modules unless a loader
 * hook is installed in every process.
 */
import type { IncomingMessage } from "node:http";
import {
  type Attributes,
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { SpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { RequestHandler } from "express";

export { SpanKind } from "@opentelemetry/api";

/** Name of the tracer of Portico's own spans (the instrumentation scope). */
export const TRACER_NAME = "@portico/kit";

/** W3C Trace Context header (https://www.w3.org/TR/trace-context/ section 3.2). */
export const TRACEPARENT_HEADER = "traceparent";

/** Paths that are probed or scraped every few seconds: never traced. */
const UNTRACED_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/** Options of {@link startTelemetry}. */
export interface TelemetryOptions {
  /** `service.name` of the spans (overridden by `OTEL_SERVICE_NAME` when set). */
  serviceName: string;
  /** Environment to read the `OTEL_*` variables from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /**
   * Span processors to use instead of the OTLP exporter (tests: a `SimpleSpanProcessor` over an
   * `InMemorySpanExporter`). Given, tracing is on whatever the environment says.
   */
  spanProcessors?: SpanProcessor[];
}

/** Tracing as started by {@link startTelemetry}. */
export interface Telemetry {
  /** Whether spans are recorded and exported. */
  readonly enabled: boolean;
  /** Exports the spans still buffered. */
  flush(): Promise<void>;
  /** Flushes, then stops recording (the process's tracing is off again). Idempotent. */
  shutdown(): Promise<void>;
}

let enabled = false;

/** Whether this process records spans (see {@link startTelemetry}). */
export function tracingEnabled(): boolean {
  return enabled;
}

/**
 * The OTLP/HTTP URL spans are sent to, from `env`: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as is, else
 * `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces` (OTLP exporter specification); undefined when
 * neither is set.
 */
export function otlpTracesUrl(env: NodeJS.ProcessEnv): string | undefined {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? `${base.replace(/\/+$/, "")}/v1/traces` : undefined;
}

const DISABLED: Telemetry = {
  enabled: false,
  flush: async () => {},
  shutdown: async () => {},
};

/**
 * Starts tracing for this process when there is somewhere to send spans: `spanProcessors`, or an
 * OTLP/HTTP endpoint in `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
 * (batched; `OTEL_BSP_*` and `OTEL_EXPORTER_OTLP_HEADERS` apply). `OTEL_SDK_DISABLED=true` turns it
 * off. Registers the W3C Trace Context propagator and an AsyncLocalStorage context manager. Call it
 * first in `main.ts`, and `shutdown()` last on the way out so buffered spans are sent.
 * @throws Error when tracing is already started in this process.
 */
export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const env = options.env ?? process.env;
  const url = otlpTracesUrl(env);
  if (env.OTEL_SDK_DISABLED === "true") return DISABLED;
  if (!options.spanProcessors && !url) return DISABLED;
  if (enabled) throw new Error("tracing is already started in this process");

  // Loaded only when tracing is on: a process without an exporter pays nothing for the SDK.
  const [{ NodeTracerProvider, BatchSpanProcessor }, { W3CTraceContextPropagator }, resources] =
    await Promise.all([
      import("@opentelemetry/sdk-trace-node"),
      import("@opentelemetry/core"),
      import("@opentelemetry/resources"),
    ]);
  let processors = options.spanProcessors;
  if (!processors) {
    const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
    processors = [new BatchSpanProcessor(new OTLPTraceExporter({ url }))];
  }
  const provider = new NodeTracerProvider({
    resource: resources.resourceFromAttributes({
      "service.name": env.OTEL_SERVICE_NAME?.trim() || options.serviceName,
    }),
    spanProcessors: processors,
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  enabled = true;

  let stopping: Promise<void> | undefined;
  return {
    enabled: true,
    flush: () => provider.forceFlush(),
    shutdown: () => {
      stopping ??= (async () => {
        enabled = false;
        try {
          await provider.shutdown();
        } finally {
          trace.disable();
          context.disable();
          propagation.disable();
        }
      })();
      return stopping;
    },
  };
}

/** The tracer of Portico's spans (a no-op tracer while tracing is off). */
export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/** The W3C trace context carried by `headers` (a parent for the spans of their receiver). */
export function extractTraceContext(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Context {
  if (!enabled) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, headers);
}

/**
 * The W3C trace context headers (`traceparent`) naming `ctx`'s span as the parent, for an outgoing
 * HTTP request or NATS message. Empty when tracing is off or `ctx` holds no span.
 */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  if (enabled) propagation.inject(ctx, carrier);
  return carrier;
}

/**
 * The `traceparent` naming the active span, when tracing is on and a span is active (e.g. inside a
 * traced request's handler); else undefined. The outbox stores it with each event.
 */
export function activeTraceparent(): string | undefined {
  return enabled ? traceHeaders()[TRACEPARENT_HEADER] : undefined;
}

/** Each traced request's context (its server span), for spans started on its behalf. */
const requestContexts = new WeakMap<IncomingMessage, Context>();

/**
 * The trace context of a request traced by {@link traceRequests}: its server span. Falls back to
 * the active context (a request the middleware did not trace).
 */
export function requestContext(req: IncomingMessage): Context {
  return requestContexts.get(req) ?? context.active();
}

/**
 * Runs `fn` in the trace context of `req` (see {@link requestContext}); just runs it while tracing
 * is off.
 */
export function inRequestContext<T>(req: IncomingMessage, fn: () => T): T {
  return enabled ? context.with(requestContext(req), fn) : fn();
}

/**
 * Runs `fn` outside any trace (background work kicked from within a request, e.g. an outbox
 * batch that serves many requests); just runs it while tracing is off.
 */
export function detached<T>(fn: () => T): T {
  return enabled ? context.with(ROOT_CONTEXT, fn) : fn();
}

/** What express-openapi-validator records on a matched request. */
interface MatchedRequest {
  openapi?: { openApiRoute?: string; schema?: { operationId?: string } };
  id?: unknown;
}

/**
 * Middleware: one SERVER span per request (not for `/healthz`, `/readyz`, `/metrics`), child of
 * the caller's `traceparent` when it sent one. Named `<METHOD> <route template>` once the route is
 * known, with the operationId (`portico.operation_id`), status code and request id as attributes;
 * status error for 5xx. The rest of the request (body parsing, validation, handler) runs in its
 * context. Does nothing while tracing is off.
 */
export function traceRequests(): RequestHandler {
  return (req, res, next) => {
    if (!enabled || UNTRACED_PATHS.has(req.path)) {
      next();
      return;
    }
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer().startSpan(
      req.method,
      {
        kind: SpanKind.SERVER,
        attributes: { "http.request.method": req.method, "url.path": req.path },
      },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    requestContexts.set(req, ctx);
    // Listeners added later (body parsers, the proxy) run in the request's context too.
    context.bind(ctx, req);
    context.bind(ctx, res);
    res.once("close", () => {
      const matched = req as unknown as MatchedRequest;
      const route = matched.openapi?.openApiRoute;
      const operationId = matched.openapi?.schema?.operationId;
      const status = res.headersSent ? res.statusCode : 0;
      if (route) {
        span.updateName(`${req.method} ${route}`);
        span.setAttribute("http.route", route);
      }
      if (operationId) span.setAttribute("portico.operation_id", operationId);
      if (typeof matched.id === "string") span.setAttribute("portico.request_id", matched.id);
      if (status > 0) span.setAttribute("http.response.status_code", status);
      if (status >= 500 || status === 0) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(ctx, next);
  };
}

/** Options of {@link withSpan}. */
export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent; default the active context. */
  parent?: Context;
}

/**
 * Runs `fn` inside a new span (ended when `fn` settles; status error and the exception recorded
 * when it throws). While tracing is off, just runs `fn` (with a non-recording span).
 * @returns what `fn` returns.
 */
export async function withSpan<T>(
  name: string,
  options: SpanOptions,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  if (!enabled) return fn(trace.wrapSpanContext(INVALID_SPAN_CONTEXT));
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes ?? {} },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(err) });
    throw err;
  } finally {
    span.end();
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `INSERT notifications`, `SELECT outbox`, `BEGIN`: a span name from SQL (no values). */
export function sqlSpanName(sqlText: string): string {
  const text = sqlText.trim().replace(/\s+/g, " ");
  const match =
    /^(select)\b.*?\bfrom "?([\w.]+)"?/i.exec(text) ??
    /^(insert into|update|delete from)\s+"?([\w.]+)"?/i.exec(text) ??
    /^(\w+)/.exec(text);
  if (!match) return "SQL";
  const verb = (match[1] ?? "").split(" ")[0]?.toUpperCase() ?? "SQL";
  return match[2] ? `${verb} ${match[2]}` : verb;
}

/**
 * Records one executed SQL statement as a CLIENT span (`db.system.name` postgresql, the
 * parameterised `db.query.text`, never its values), timed from its measured duration. Only
 * inside another span: the relay's and the schedulers' polling would otherwise fill the trace
 * store with root spans of their own.
 * @param durationMs how long the statement took, in ms.
 */
export function recordSqlSpan(sqlText: string, durationMs: number, error?: unknown): void {
  if (!enabled) return;
  const parent = context.active();
  if (!trace.getSpan(parent)?.isRecording()) return;
  const end = Date.now();
  const span = tracer().startSpan(
    sqlSpanName(sqlText),
    {
      kind: SpanKind.CLIENT,
      startTime: end - durationMs,
      attributes: { "db.system.name": "postgresql", "db.query.text": sqlText.slice(0, 2_000) },
    },
    parent,
  );
  if (error !== undefined) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(error) });
  }
  span.end(end);
}
