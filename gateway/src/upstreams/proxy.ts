/**
 * Forwarding to upstream services: one keep-alive agent per upstream instance, plain `node:http`
 * requests on it (no proxy library: the benchmark's profile showed http-proxy-middleware costing
 * about half of a bare proxy hop again, see docs/benchmarks.md), round-robin across the instances the pool deems up, the original body
 * bytes written upstream, and upstream failures turned into Problem Details. A refused or reset
 * connection takes the instance out at once. Each exchange runs through the service's retry and
 * circuit-breaker policies (resilience.ts): a request whose connection was never established is
 * retried on another instance whatever its method (it cannot have had an effect); idempotent ones
 * also after a 502/503/504 or a broken connection; an open breaker answers 503 at once.
 */
import http, { type ClientRequest, type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import { HttpProblem, type Logger } from "@portico/kit/core";
import type { Request, RequestHandler } from "express";
import type { OperationTable } from "../operations/table.js";
import type { RawBodyRequest } from "../pipeline/body.js";
import { endToEndHeaders, writeProxiedHead } from "../pipeline/lane-response.js";
import { HOP_BY_HOP_HEADERS } from "./hop-by-hop.js";
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
import { startAttemptSpan } from "./tracing.js";
import type { UpstreamInstance, UpstreamPool } from "./upstream-pool.js";

/** What earlier steps set on the request: the request id, the body read, a request logger. */
type ProxiedRequest = RawBodyRequest & { id?: unknown; log?: Logger };

/**
 * Forwards one request: `next(problem)` when it cannot be answered from an instance. Takes bare
 * `node:http` objects (an Express request and response are such).
 */
export type ProxyHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void;

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
  handler: ProxyHandler;
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
  /** Where failed upstream requests are logged when the request has no logger of its own. */
  logger?: Logger;
}

/** One request's way through the pool, possibly over several attempts. */
interface Exchange {
  /** The instance of the first attempt (the set of those tried is only made for a retry). */
  first?: UpstreamInstance;
  /** Every instance tried, once a second attempt is made. */
  tried?: Set<UpstreamInstance>;
  next: (err?: unknown) => void;
  attempts: number;
  /** The attempt in flight, until its response arrives or it fails. */
  attempt?: Attempt | undefined;
  /** How the previous attempt failed: answered when no further attempt can be made. */
  previous?: unknown;
  /** The upstream response being forwarded, once chosen. */
  response?: IncomingMessage;
}

/** One attempt of an exchange: one upstream request, settled by its response or its error. */
class Attempt {
  /** The client left: the request was destroyed, its "socket hang up" says nothing. */
  abandoned = false;
  /** An error settled it (a request may report more than one). */
  errored = false;
  constructor(
    readonly exchange: Exchange,
    readonly instance: UpstreamInstance,
    readonly req: ProxiedRequest,
    /** The upstream timeout of this request, in ms. */
    readonly limitMs: number,
    readonly request: ClientRequest,
    readonly resolve: (response: IncomingMessage) => void,
    readonly reject: (err: unknown) => void,
  ) {}

  /** Settles the attempt as failed, remembered as how the exchange's last attempt ended. */
  fail(err: unknown): void {
    this.exchange.previous = err;
    this.reject(err);
  }

  /** Abandons it: the client left (not counted against the instance). */
  abandon(): void {
    this.exchange.attempt = undefined;
    this.abandoned = true;
    this.request.destroy();
    this.fail(new ClientGoneError());
  }
}

const ATTEMPT = Symbol("portico.attempt");

/** An upstream request and the attempt it serves. */
type AttemptRequest = ClientRequest & { [ATTEMPT]: Attempt };

/** The response's exchange, when its caller tells the proxy of its `close` (see {@link watchesClose}). */
const EXCHANGE = Symbol("portico.exchange");

type WatchedResponse = ServerResponse & { [EXCHANGE]?: Exchange | null };

/**
 * Marks `res` as a response whose `close` the caller observes and tells the proxy of with
 * {@link exchangeClosed} (one listener for several concerns, the fast lane's), so the proxy adds
 * no listener of its own.
 */
export function watchesClose(res: ServerResponse): void {
  (res as WatchedResponse)[EXCHANGE] = null;
}

/** Tells the proxy that `res` (marked with {@link watchesClose}) closed. */
export function exchangeClosed(res: ServerResponse): void {
  const exchange = (res as WatchedResponse)[EXCHANGE];
  if (exchange) closeExchange(exchange);
}

/**
 * The response to the client closed: an attempt still in flight is abandoned without being
 * counted (the client left); a response mid-body is no longer read.
 */
function closeExchange(exchange: Exchange): void {
  exchange.attempt?.abandon();
  if (exchange.response && !exchange.response.complete) exchange.response.destroy();
}

const CLIENT_RESPONSE = Symbol("portico.clientResponse");

/** An upstream response being forwarded, and the client's response it is forwarded to. */
type ForwardedResponse = IncomingMessage & { [CLIENT_RESPONSE]: ServerResponse };

/** The upstream response closed: one that did not complete ends the client's response too. */
function upstreamClosed(this: ForwardedResponse): void {
  if (!this.complete) this[CLIENT_RESPONSE].destroy();
}

/** A chunk of the upstream body: written to the client, pausing while the client is behind. */
function upstreamData(this: ForwardedResponse, chunk: Buffer): void {
  if (!this[CLIENT_RESPONSE].write(chunk)) {
    this.pause();
    this[CLIENT_RESPONSE].once("drain", () => this.resume());
  }
}

/** The upstream body ended: so does the client's response. */
function upstreamEnded(this: ForwardedResponse): void {
  this[CLIENT_RESPONSE].end();
}

/** No instance tried yet. */
const NONE_TRIED: ReadonlySet<UpstreamInstance> = new Set();

/** Discards a response that will not be forwarded, so its connection can be reused. */
function discard(failure: unknown): void {
  if (failure instanceof UpstreamStatusError) failure.response.resume();
}

/**
 * Request headers not forwarded: the hop-by-hop ones (they describe the client's connection to
 * the gateway; so do the ones `Connection` names), `host` (replaced by the instance's own) and
 * `content-length` (set from the body actually sent).
 */
const NOT_FORWARDED = new Set([...HOP_BY_HOP_HEADERS, "host", "content-length"]);

/** How to reach one instance: its agent (pooled keep-alive sockets) and where requests go. */
interface Target {
  instance: UpstreamInstance;
  request: typeof http.request;
  agent: http.Agent;
  hostname: string;
  port: number;
  /** `Host` header sent to the instance. */
  host: string;
  /** The instance's base path without a trailing slash (the request URL is appended). */
  basePath: string;
}

/**
 * The headers of the request forwarded to `target`, as the flat `[name, value, name, value, ...]`
 * list `http.request` writes as is (no per-header bookkeeping): the client's end-to-end headers,
 * the instance's `Host`, `X-Forwarded-For`/`-Proto`/`-Port` appended to and `X-Forwarded-Host`
 * kept when present (the de-facto convention; RFC 7239 `Forwarded` is not produced), the request
 * id, the length of the body read earlier (`0` for an empty body of a method that may carry one,
 * as Node sets it), and `traceparent` when the attempt is traced (instead of the caller's).
 */
export function forwardedHeaders(
  req: IncomingMessage & { id?: unknown; rawBody?: Buffer },
  host: string,
  traceparent?: string,
): string[] {
  const headers: string[] = [];
  const dropped = connectionOptions(req.headers.connection);
  const incoming = req.headers;
  for (const name in incoming) {
    if (NOT_FORWARDED.has(name) || dropped?.has(name) || APPENDED.has(name)) continue;
    if (name === "x-request-id" && typeof req.id === "string") continue;
    if (traceparent !== undefined && name === "traceparent") continue;
    const value = incoming[name];
    if (typeof value === "string") headers.push(name, value);
    else if (value !== undefined) for (const line of value) headers.push(name, line);
  }
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  const port = portOf(incoming.host) ?? (encrypted ? "443" : "80");
  headers.push(
    "host",
    host,
    "x-forwarded-for",
    appended(incoming["x-forwarded-for"], req.socket.remoteAddress ?? ""),
    "x-forwarded-port",
    appended(incoming["x-forwarded-port"], port),
    "x-forwarded-proto",
    appended(incoming["x-forwarded-proto"], encrypted ? "https" : "http"),
    "x-forwarded-host",
    String(incoming["x-forwarded-host"] ?? incoming.host ?? ""),
  );
  if (typeof req.id === "string") headers.push("x-request-id", req.id);
  const length = req.rawBody?.length ?? 0;
  if (length > 0 || !WITHOUT_BODY.has(req.method ?? "GET")) {
    headers.push("content-length", String(length));
  }
  if (traceparent !== undefined) headers.push("traceparent", traceparent);
  return headers;
}

/** Headers {@link forwardedHeaders} writes itself (appended to, kept, or replaced). */
const APPENDED = new Set([
  "x-forwarded-for",
  "x-forwarded-port",
  "x-forwarded-proto",
  "x-forwarded-host",
]);

/** Methods Node sends without `Content-Length` when they carry no body (no chunked default). */
const WITHOUT_BODY = new Set(["GET", "HEAD", "DELETE", "OPTIONS", "TRACE", "CONNECT"]);

/** `value` appended to a comma-separated header's existing value, if any. */
function appended(existing: string | string[] | undefined, value: string): string {
  return typeof existing === "string" && existing !== "" ? `${existing},${value}` : value;
}

/** The last `Connection` value {@link connectionOptions} read, and the names it lists. */
let lastConnection: string | undefined;
let lastOptions: ReadonlySet<string> | undefined;

/**
 * The header names a `Connection` value lists (RFC 9110 section 7.6.1), lower-cased; undefined
 * when there is none. Clients send the same value on every request (`keep-alive`): the last one
 * is remembered.
 */
function connectionOptions(value: string | undefined): ReadonlySet<string> | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  if (value !== lastConnection) {
    lastOptions = new Set(
      value
        .toLowerCase()
        .split(",")
        .map((name) => name.trim()),
    );
    lastConnection = value;
  }
  return lastOptions;
}

/** The last `Host` value {@link portOf} read, and its port: clients send the same one. */
let lastHost: string | undefined;
let lastPort: string | undefined;

/** The port of a `Host` header value (`example.com:8080` → `8080`), if it names one. */
function portOf(host: string | undefined): string | undefined {
  if (host !== lastHost) {
    lastPort = /:(\d+)$/.exec(host ?? "")?.[1];
    lastHost = host;
  }
  return lastPort;
}

/**
 * Keep-alive with an idle limit: Node's agent keeps a free socket until the server closes it
 * unless the server announces its own limit (`Keep-Alive: timeout=N`, then N-1 s; Node.js
 * services send it). uvicorn announces none and closes idle sockets after its keep-alive
 * timeout (5 s by default): a request written to such a socket as it closes fails with
 * ECONNRESET, and a POST is not retried. 4 s stays under that default; an announced limit wins.
 */
const AGENT_OPTIONS: http.AgentOptions = { keepAlive: true, timeout: 4_000 };

/**
 * Creates the balancing proxy of one upstream service. Each request goes to the pool's next
 * instance, through the service's breaker and retry policies (see resilience.ts): an attempt is
 * settled when the response headers arrive, so a 502/503/504 of an idempotent request can still
 * be retried, on another instance when there is one; the response chosen is then streamed to the
 * client. Answers 503 with `Retry-After` when no instance is available or the breaker is open.
 * Each instance has one keep-alive agent; requests are plain `node:http` requests on it, with the
 * body read earlier by the gateway written as is.
 */
export function createUpstreamProxy(options: UpstreamProxyOptions): UpstreamProxy {
  const { pool, timeoutMs, retryAfterSeconds } = options;
  const service = pool.service;
  const resilience = options.resilience ?? createUpstreamResilience(service);
  const targets = new Map<UpstreamInstance, Target>(
    pool.instances.map((instance) => {
      const https_ = instance.url.protocol === "https:";
      const target: Target = {
        instance,
        request: https_ ? https.request : http.request,
        agent: https_ ? new https.Agent(AGENT_OPTIONS) : new http.Agent(AGENT_OPTIONS),
        hostname: instance.url.hostname.replace(/^\[|\]$/g, ""),
        port: Number(instance.url.port || (https_ ? 443 : 80)),
        host: instance.url.host,
        basePath: instance.url.pathname.replace(/\/$/, ""),
      };
      return [instance, target];
    }),
  );

  /** One attempt: the next instance, the request sent, settled by the response headers. */
  const attemptOnce = (req: ProxiedRequest, exchange: Exchange) => {
    if (exchange.first !== undefined) exchange.tried ??= new Set([exchange.first]);
    const tried = exchange.tried ?? NONE_TRIED;
    // Untried instances first; when every one was tried, any that is up again.
    const instance = pool.pick(tried) ?? (tried.size > 0 ? pool.pick(NONE_TRIED) : undefined);
    const target = instance ? targets.get(instance) : undefined;
    if (!instance || !target) throw new NoInstanceError(service);
    if (exchange.attempts > 0) options.onRetry?.();
    discard(exchange.previous);
    exchange.previous = undefined;
    exchange.attempts += 1;
    if (exchange.tried) exchange.tried.add(instance);
    else exchange.first = instance;
    const span = startAttemptSpan(req, instance, exchange.attempts);
    return new Promise<IncomingMessage>((resolve, reject) => {
      const limitMs = options.timeoutFor?.(req) ?? timeoutMs;
      const proxyReq = target.request({
        hostname: target.hostname,
        port: target.port,
        method: req.method,
        path: target.basePath + (req.url ?? "/"),
        headers: forwardedHeaders(req, target.host, span?.traceparent),
        agent: target.agent,
        // The socket's inactivity timeout, armed by the agent when it hands the socket over
        // (`setTimeout()` on the request would add two listeners and a closure per request).
        timeout: limitMs,
      }) as AttemptRequest;
      const attempt = new Attempt(exchange, instance, req, limitMs, proxyReq, resolve, reject);
      proxyReq[ATTEMPT] = attempt;
      exchange.attempt = attempt;
      span?.watch(proxyReq);
      proxyReq.on("timeout", onTimeout);
      proxyReq.on("response", onResponse);
      proxyReq.on("error", onError);
      proxyReq.end(req.rawBody && req.rawBody.length > 0 ? req.rawBody : undefined);
    });
  };

  // The listeners of every upstream request of this service: shared, the attempt they serve is
  // the request's own (no closures per request).
  function onTimeout(this: AttemptRequest): void {
    this.destroy(new UpstreamTimeoutError(service, this[ATTEMPT].limitMs));
  }
  function onResponse(this: AttemptRequest, proxyRes: IncomingMessage): void {
    const attempt = this[ATTEMPT];
    attempt.exchange.attempt = undefined;
    if (RETRYABLE_STATUSES.has(proxyRes.statusCode ?? 0)) {
      attempt.fail(new UpstreamStatusError(service, proxyRes));
    } else attempt.resolve(proxyRes);
  }
  function onError(this: AttemptRequest, err: Error): void {
    const attempt = this[ATTEMPT];
    if (attempt.errored) return; // the first error settled the attempt
    attempt.errored = true;
    if (attempt.exchange.attempt === attempt) attempt.exchange.attempt = undefined;
    if (attempt.abandoned) return;
    const { instance } = attempt;
    if (instanceDown(err)) pool.markDown(instance, `connection failed (${errorCode(err)})`);
    (attempt.req.log ?? options.logger)?.warn(
      { err, service, instance: instance.ordinal },
      "upstream request failed",
    );
    attempt.fail(err);
  }

  /** Streams the chosen upstream response to the client (status, headers, body). */
  const forward = (res: ServerResponse, exchange: Exchange, upstream: IncomingMessage) => {
    if (res.headersSent || res.destroyed) {
      // Answered meanwhile (e.g. the whole-request deadline's 504): drop this one.
      upstream.resume();
      return;
    }
    // One head: the upstream's end-to-end headers over the gateway's (Node's own connection
    // handling answers the client: keep-alive, and HTTP/1.0 clients get no chunked encoding).
    writeProxiedHead(
      res,
      upstream.statusCode ?? 502,
      upstream.statusMessage,
      endToEndHeaders(upstream.rawHeaders),
    );
    // Either side going away mid-body ends the other: no half-sent response left hanging (the
    // client's side: the exchange's `close` listener).
    exchange.response = upstream;
    (upstream as ForwardedResponse)[CLIENT_RESPONSE] = res;
    upstream.on("close", upstreamClosed);
    // The body, chunk by chunk with back-pressure: what `pipe` does, without its half-dozen
    // listeners on each side per response (and no closures: the listeners are shared).
    upstream.on("data", upstreamData);
    upstream.on("end", upstreamEnded);
  };

  /** Answers for an exchange that produced no response to forward. */
  const fail = (res: ServerResponse, exchange: Exchange, err: unknown) => {
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
      forward(res, exchange, last.response);
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

  return {
    handler: (req: ProxiedRequest, res, next) => {
      const exchange: Exchange = { next, attempts: 0 };
      const watched = res as WatchedResponse;
      if (watched[EXCHANGE] === null) watched[EXCHANGE] = exchange;
      else res.on("close", () => closeExchange(exchange));
      // One settlement for both outcomes; an error thrown while answering goes to `next`.
      resilience
        .execute(req.method ?? "GET", () => attemptOnce(req, exchange))
        .then(
          (upstream) => {
            try {
              forward(res, exchange, upstream);
            } catch (err) {
              next(err);
            }
          },
          (failure: unknown) => {
            try {
              fail(res, exchange, failure);
            } catch (err) {
              next(err);
            }
          },
        );
    },
    close: () => {
      for (const target of targets.values()) target.agent.destroy();
    },
  };
}

/**
 * The last middleware: hands each validated request to the proxy of the service that owns its
 * operation (resolved by method and the path template express-openapi-validator matched).
 * @param proxies the proxy handler of each service in `routes`.
 */
export function forwardToOwner(
  routes: OperationTable,
  proxies: ReadonlyMap<string, ProxyHandler>,
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
