/**
 * Forwarding to upstream services with http-proxy-middleware: one proxy (and one keep-alive agent)
 * per upstream instance, round-robin across the instances the pool deems up, the original body
 * bytes written upstream, and upstream failures turned into Problem Details. A refused or reset
 * connection takes the instance out at once. Each exchange runs through the service's retry and
 * circuit-breaker policies (resilience.ts): a request whose connection was never established is
 * retried on another instance whatever its method (it cannot have had an effect); idempotent ones
 * also after a 502/503/504 or a broken connection; an open breaker answers 503 at once.
 */
import http, { type ClientRequest, type IncomingMessage, ServerResponse } from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import { HttpProblem, type Logger } from "@portico/kit";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { createProxyMiddleware } from "http-proxy-middleware";
import type { RawBodyRequest } from "./body.js";
import {
  breakerOpenProblem,
  ClientGoneError,
  createUpstreamResilience,
  isBreakerOpen,
  NoInstanceError,
  RETRYABLE_STATUSES,
  type UpstreamResilience,
  UpstreamStatusError,
} from "./resilience.js";
import type { RouteTable } from "./routes.js";
import { traceUpstreamAttempt } from "./tracing.js";
import type { UpstreamInstance, UpstreamPool } from "./upstream-pool.js";

/** What earlier middleware set on the request: the request id and pino-http's child logger. */
type ProxiedRequest = RawBodyRequest & { id?: unknown; log?: Logger };

/** Raised on the upstream request when it stays silent longer than the configured timeout. */
export class UpstreamTimeoutError extends Error {
  readonly code = "UPSTREAM_TIMEOUT";
  /** @param timeoutMs the elapsed silence, in ms. */
  constructor(
    readonly service: string,
    readonly timeoutMs: number,
  ) {
    super(`upstream ${service} did not answer within ${timeoutMs} ms`);
  }
}

/** Connection errors proving the request never reached the instance: it may be retried. */
const NOT_CONNECTED = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND"]);
/** Connection errors after which the instance is taken out of the balancing at once. */
const INSTANCE_DOWN = new Set([...NOT_CONNECTED, "ECONNRESET", "EPIPE"]);

/** The `code` of a Node.js system error, if any. */
function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** Whether `err` proves the connection to the upstream was never established. */
export function neverConnected(err: unknown): boolean {
  return NOT_CONNECTED.has(errorCode(err) ?? "");
}

/** Whether `err` means the instance is down (refused, unreachable, reset). */
export function instanceDown(err: unknown): boolean {
  return INSTANCE_DOWN.has(errorCode(err) ?? "");
}

/**
 * The Problem for a failed upstream exchange: 504 after {@link UpstreamTimeoutError}, else 502
 * (connection reset, malformed response). Internals are not disclosed.
 */
export function upstreamProblem(err: unknown, service: string): HttpProblem {
  if (err instanceof UpstreamTimeoutError) {
    return new HttpProblem(504, `The ${service} service did not answer in time.`);
  }
  return new HttpProblem(502, `The ${service} service is unavailable.`);
}

/** The Problem when no instance of `service` can take the request: 503 with `Retry-After`. */
export function noInstanceProblem(service: string, retryAfterSeconds: number): HttpProblem {
  return new HttpProblem(503, `No instance of the ${service} service is available.`, {
    headers: { "Retry-After": String(retryAfterSeconds) },
  });
}

/** A balancing proxy to the instances of one upstream service. */
export interface UpstreamProxy {
  handler: RequestHandler;
  /** Destroys the keep-alive agents (call on shutdown to close pooled sockets). */
  close(): void;
}

/** Options of {@link createUpstreamProxy}. */
export interface UpstreamProxyOptions {
  /** The service's instances and their health (marked down here on a failed connection). */
  pool: UpstreamPool;
  /** Socket inactivity allowed while waiting on an instance, in ms (then 504). */
  timeoutMs: number;
  /** `Retry-After` of the 503 answered when no instance is available, in seconds. */
  retryAfterSeconds: number;
  /** Retries and circuit breaker of the service; default {@link createUpstreamResilience}'s. */
  resilience?: UpstreamResilience;
  /**
   * The timeout of one request, in ms, when its operation has its own (`x-portico-timeout-ms`);
   * undefined for `timeoutMs`.
   */
  timeoutFor?: (req: IncomingMessage) => number | undefined;
  /** Told each time an attempt is sent again (for metrics). */
  onRetry?: () => void;
  /** Told each time the open breaker answers instead of the service (for metrics). */
  onBreakerRejection?: () => void;
}

/** The X-Forwarded-* headers http-proxy appends to; restored before a retry so it appends once. */
const FORWARDED = ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "x-forwarded-host"];

/** The attempt in flight: settled by the `proxyRes` and `error` handlers. */
interface PendingAttempt {
  instance: UpstreamInstance;
  resolve(response: IncomingMessage): void;
  reject(err: unknown): void;
}

/** One request's way through the pool, possibly over several attempts. */
interface Exchange {
  tried: Set<UpstreamInstance>;
  forwarded: Record<string, string | string[] | undefined>;
  next: NextFunction;
  attempts: number;
  pending?: PendingAttempt | undefined;
  /** How the previous attempt failed: answered when no further attempt can be made. */
  previous?: unknown;
  /** Set once a response is being forwarded to the client. */
  forwarding: boolean;
}

/** Discards a response that will not be forwarded, so its connection can be reused. */
function discard(failure: unknown): void {
  if (failure instanceof UpstreamStatusError) failure.response.resume();
}

/**
 * Creates the balancing proxy of one upstream service. Each request goes to the pool's next
 * instance, through the service's breaker and retry policies (see resilience.ts): an attempt is
 * settled when the response headers arrive, so a 502/503/504 of an idempotent request can still
 * be retried, on another instance when there is one; the response chosen is then streamed to the
 * client. Answers 503 with `Retry-After` when no instance is available or the breaker is open.
 */
export function createUpstreamProxy(options: UpstreamProxyOptions): UpstreamProxy {
  const { pool, timeoutMs, retryAfterSeconds } = options;
  const service = pool.service;
  const resilience = options.resilience ?? createUpstreamResilience(service);
  const exchanges = new WeakMap<IncomingMessage, Exchange>();
  const proxies = new Map<UpstreamInstance, RequestHandler>();
  const agents: http.Agent[] = [];

  /** One attempt: the next instance, the request sent, settled by the response headers. */
  const attemptOnce = (req: Request, res: Response, exchange: Exchange) => {
    // Untried instances first; when every one was tried, any that is up again.
    const instance =
      pool.pick(exchange.tried) ?? (exchange.tried.size > 0 ? pool.pick() : undefined);
    const proxy = instance ? proxies.get(instance) : undefined;
    if (!instance || !proxy) throw new NoInstanceError(service);
    if (exchange.attempts > 0) {
      options.onRetry?.();
      for (const name of FORWARDED) {
        const value = exchange.forwarded[name];
        if (value === undefined) delete req.headers[name];
        else req.headers[name] = value;
      }
    }
    discard(exchange.previous);
    exchange.previous = undefined;
    exchange.attempts += 1;
    exchange.tried.add(instance);
    return new Promise<IncomingMessage>((resolve, reject) => {
      exchange.pending = { instance, resolve, reject };
      void proxy(req, res, exchange.next);
    }).catch((err: unknown) => {
      exchange.previous = err;
      throw err;
    });
  };

  /** Streams the chosen upstream response to the client (status, headers, body). */
  const forward = (req: Request, res: Response, exchange: Exchange, upstream: IncomingMessage) => {
    if (res.headersSent || res.destroyed) {
      // Answered meanwhile (e.g. the whole-request deadline's 504): drop this one.
      upstream.resume();
      return;
    }
    exchange.forwarding = true;
    res.statusCode = upstream.statusCode ?? 502;
    if (upstream.statusMessage) res.statusMessage = upstream.statusMessage;
    for (const [name, value] of Object.entries(upstream.headers)) {
      if (value !== undefined) res.setHeader(name, value);
    }
    // As http-proxy does: HTTP/1.0 clients get no chunked encoding; keep-alive by default.
    if (req.httpVersion === "1.0") {
      res.removeHeader("transfer-encoding");
      res.setHeader("connection", req.headers.connection ?? "close");
    } else if (!upstream.headers.connection) {
      res.setHeader("connection", req.headers.connection ?? "keep-alive");
    }
    // Either side going away mid-body ends the other: no half-sent response left hanging.
    res.once("close", () => {
      if (!upstream.complete) upstream.destroy();
    });
    upstream.once("close", () => {
      if (!upstream.complete) res.destroy();
    });
    upstream.pipe(res);
  };

  /** Answers for an exchange that produced no response to forward. */
  const fail = (req: Request, res: Response, exchange: Exchange, err: unknown) => {
    if (err instanceof ClientGoneError || res.headersSent || res.destroyed) {
      discard(exchange.previous);
      return;
    }
    // No further attempt could be made: answer with how the last one that was made ended.
    const last =
      (err instanceof NoInstanceError || isBreakerOpen(err)) && exchange.previous !== undefined
        ? exchange.previous
        : err;
    if (last instanceof UpstreamStatusError) {
      forward(req, res, exchange, last.response);
      return;
    }
    if (isBreakerOpen(last)) {
      options.onBreakerRejection?.();
      exchange.next(breakerOpenProblem(service, resilience.retryAfterSeconds()));
      return;
    }
    exchange.next(
      last instanceof NoInstanceError || neverConnected(last)
        ? noInstanceProblem(service, retryAfterSeconds)
        : upstreamProblem(last, service),
    );
  };

  const failed =
    (instance: UpstreamInstance) => (err: Error, req: IncomingMessage, res: unknown) => {
      if (!(res instanceof ServerResponse)) {
        (res as Socket).destroy();
        return;
      }
      const log = (req as ProxiedRequest).log;
      if (instanceDown(err)) {
        pool.markDown(instance, `connection failed (${errorCode(err)})`);
      }
      log?.warn({ err, service, instance: instance.ordinal }, "upstream request failed");
      const exchange = exchanges.get(req);
      if (!exchange) return;
      const pending = exchange.pending;
      if (pending?.instance === instance) {
        exchange.pending = undefined;
        pending.reject(err);
        return;
      }
      // The response was being forwarded: it can only be cut short (or, before its first byte,
      // replaced by a Problem). An error of an attempt already given up on changes nothing.
      if (exchange.forwarding) exchange.next(upstreamProblem(err, service));
    };

  for (const instance of pool.instances) {
    const agent =
      instance.url.protocol === "https:"
        ? new https.Agent({ keepAlive: true })
        : new http.Agent({ keepAlive: true });
    agents.push(agent);
    const proxy = createProxyMiddleware<IncomingMessage, ServerResponse>({
      target: instance.url.href,
      agent,
      changeOrigin: true,
      // X-Forwarded-For (appended), -Proto and -Port, and -Host (kept when already set).
      xfwd: true,
      // The response is forwarded by `forward` once the exchange settled (it may be retried).
      selfHandleResponse: true,
      on: {
        proxyReq: (proxyReq: ClientRequest, req: IncomingMessage) => {
          const id = (req as ProxiedRequest).id;
          if (typeof id === "string") proxyReq.setHeader("X-Request-Id", id);
          const exchange = exchanges.get(req);
          traceUpstreamAttempt(req, proxyReq, instance, exchange?.attempts ?? 1);
          const limitMs = options.timeoutFor?.(req) ?? timeoutMs;
          proxyReq.setTimeout(limitMs, () => {
            proxyReq.destroy(new UpstreamTimeoutError(service, limitMs));
          });
          writeRawBody(proxyReq, req as ProxiedRequest);
        },
        proxyRes: (proxyRes: IncomingMessage, req: IncomingMessage) => {
          const exchange = exchanges.get(req);
          const pending = exchange?.pending;
          if (!exchange || pending?.instance !== instance) {
            proxyRes.resume();
            return;
          }
          exchange.pending = undefined;
          if (RETRYABLE_STATUSES.has(proxyRes.statusCode ?? 0)) {
            pending.reject(new UpstreamStatusError(service, proxyRes));
          } else pending.resolve(proxyRes);
        },
        error: failed(instance),
      },
    });
    proxies.set(instance, proxy as unknown as RequestHandler);
  }

  return {
    handler: (req, res, next) => {
      const forwarded = Object.fromEntries(FORWARDED.map((name) => [name, req.headers[name]]));
      const exchange: Exchange = {
        tried: new Set(),
        forwarded,
        next,
        attempts: 0,
        forwarding: false,
      };
      exchanges.set(req, exchange);
      res.once("close", () => {
        // The client left while an attempt was in flight: settle it without counting it.
        const pending = exchange.pending;
        exchange.pending = undefined;
        pending?.reject(new ClientGoneError());
      });
      resilience
        .execute(req.method, () => attemptOnce(req, res, exchange))
        .then(
          (upstream) => forward(req, res, exchange, upstream),
          (err: unknown) => fail(req, res, exchange, err),
        )
        .catch(next);
    },
    close: () => {
      for (const agent of agents) agent.destroy();
    },
  };
}

/**
 * Writes the body read earlier by the gateway, byte for byte: the incoming stream was consumed,
 * so http-proxy's own pipe would send nothing. Its pipe still ends the request on the next tick.
 */
function writeRawBody(proxyReq: ClientRequest, req: RawBodyRequest): void {
  const raw = req.rawBody;
  if (!raw) return;
  proxyReq.removeHeader("Transfer-Encoding");
  proxyReq.setHeader("Content-Length", raw.length);
  if (raw.length > 0) proxyReq.write(raw);
}

/**
 * The last middleware: hands each validated request to the proxy of the service that owns its
 * operation (resolved by method and the path template express-openapi-validator matched).
 * @param proxies the proxy handler of each service in `routes`.
 */
export function forwardToOwner(
  routes: RouteTable,
  proxies: ReadonlyMap<string, RequestHandler>,
): RequestHandler {
  return (req, res, next) => {
    const template = (req as Request & { openapi?: { openApiRoute?: string } }).openapi
      ?.openApiRoute;
    const route = template ? routes.lookup(req.method, template) : undefined;
    const proxy = route ? proxies.get(route.service) : undefined;
    if (!proxy) {
      next(new HttpProblem(404, "No operation matches this request."));
      return;
    }
    return proxy(req, res, next);
  };
}
