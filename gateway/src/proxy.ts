/**
 * Forwarding to upstream services with http-proxy-middleware: one proxy (and one keep-alive agent)
 * per upstream instance, round-robin across the instances the pool deems up, the original body
 * bytes written upstream, and upstream failures turned into Problem Details. A refused or reset
 * connection takes the instance out at once; a request whose connection was never established is
 * retried once on another instance (it cannot have had an effect, whatever its method).
 */
import http, { type ClientRequest, type IncomingMessage, ServerResponse } from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import { HttpProblem, type Logger } from "@portico/kit";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { createProxyMiddleware } from "http-proxy-middleware";
import type { RawBodyRequest } from "./body.js";
import type { RouteTable } from "./routes.js";
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
}

/** The X-Forwarded-* headers http-proxy appends to; restored before a retry so it appends once. */
const FORWARDED = ["x-forwarded-for", "x-forwarded-port", "x-forwarded-proto", "x-forwarded-host"];

/** One request's way through the pool. */
interface Attempt {
  tried: Set<UpstreamInstance>;
  forwarded: Record<string, string | string[] | undefined>;
  next: NextFunction;
}

/**
 * Creates the balancing proxy of one upstream service: each request goes to the pool's next
 * instance; when none is available the answer is a 503 Problem with `Retry-After`.
 */
export function createUpstreamProxy(options: UpstreamProxyOptions): UpstreamProxy {
  const { pool, timeoutMs, retryAfterSeconds } = options;
  const service = pool.service;
  const attempts = new WeakMap<IncomingMessage, Attempt>();
  const proxies = new Map<UpstreamInstance, RequestHandler>();
  const agents: http.Agent[] = [];

  const dispatch = (req: Request, res: Response, attempt: Attempt): void => {
    const instance = pool.pick(attempt.tried);
    const proxy = instance ? proxies.get(instance) : undefined;
    if (!instance || !proxy) {
      attempt.next(noInstanceProblem(service, retryAfterSeconds));
      return;
    }
    attempt.tried.add(instance);
    void proxy(req, res, attempt.next);
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
      const attempt = attempts.get(req);
      if (!attempt) return;
      if (neverConnected(err) && !res.headersSent && attempt.tried.size < 2) {
        for (const name of FORWARDED) {
          const value = attempt.forwarded[name];
          if (value === undefined) delete req.headers[name];
          else req.headers[name] = value;
        }
        dispatch(req as Request, res as Response, attempt);
        return;
      }
      attempt.next(
        neverConnected(err)
          ? noInstanceProblem(service, retryAfterSeconds)
          : upstreamProblem(err, service),
      );
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
      on: {
        proxyReq: (proxyReq: ClientRequest, req: IncomingMessage) => {
          const id = (req as ProxiedRequest).id;
          if (typeof id === "string") proxyReq.setHeader("X-Request-Id", id);
          proxyReq.setTimeout(timeoutMs, () => {
            proxyReq.destroy(new UpstreamTimeoutError(service, timeoutMs));
          });
          writeRawBody(proxyReq, req as ProxiedRequest);
        },
        error: failed(instance),
      },
    });
    proxies.set(instance, proxy as unknown as RequestHandler);
  }

  return {
    handler: (req, res, next) => {
      const forwarded = Object.fromEntries(FORWARDED.map((name) => [name, req.headers[name]]));
      const attempt: Attempt = { tried: new Set(), forwarded, next };
      attempts.set(req, attempt);
      dispatch(req, res, attempt);
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
