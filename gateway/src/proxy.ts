/**
 * Forwarding to upstream services with http-proxy-middleware: one proxy (and one keep-alive agent)
 * per upstream, the original body bytes written upstream, and upstream failures turned into
 * Problem Details (502 when the upstream cannot be reached, 504 when it does not answer in time).
 */
import http, { type ClientRequest, type IncomingMessage, ServerResponse } from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import { HttpProblem, type Logger, problemErrorHandler } from "@portico/kit";
import type { Request, RequestHandler, Response } from "express";
import { createProxyMiddleware } from "http-proxy-middleware";
import type { RawBodyRequest } from "./body.js";
import type { RouteTable } from "./routes.js";

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

/**
 * The Problem for a failed upstream exchange: 504 after {@link UpstreamTimeoutError}, else 502
 * (connection refused or reset, DNS failure, malformed response). Internals are not disclosed.
 */
export function upstreamProblem(err: unknown, service: string): HttpProblem {
  if (err instanceof UpstreamTimeoutError) {
    return new HttpProblem(504, `The ${service} service did not answer in time.`);
  }
  return new HttpProblem(502, `The ${service} service is unavailable.`);
}

/** A proxy to one upstream service and the agent holding its keep-alive connections. */
export interface UpstreamProxy {
  handler: RequestHandler;
  /** Destroy on shutdown to close pooled sockets. */
  agent: http.Agent;
}

/**
 * Creates the proxy of one upstream.
 * @param options.target the service's base URL (the request's path and query are appended).
 * @param options.timeoutMs socket inactivity allowed while waiting on the upstream, in ms.
 */
export function createUpstreamProxy(options: {
  service: string;
  target: URL;
  timeoutMs: number;
  logger: Logger;
}): UpstreamProxy {
  const { service, timeoutMs } = options;
  const agent =
    options.target.protocol === "https:"
      ? new https.Agent({ keepAlive: true })
      : new http.Agent({ keepAlive: true });
  const renderProblem = problemErrorHandler(options.logger);

  const handler = createProxyMiddleware<IncomingMessage, ServerResponse>({
    target: options.target.href,
    agent,
    changeOrigin: true,
    // X-Forwarded-For (appended), -Proto, -Port and -Host (kept when already set).
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
      error: (err: Error, req: IncomingMessage, res: ServerResponse | Socket) => {
        if (!(res instanceof ServerResponse)) {
          res.destroy();
          return;
        }
        (req as ProxiedRequest).log?.warn({ err, service }, "upstream request failed");
        renderProblem(upstreamProblem(err, service), req as Request, res as Response, () => {});
      },
    },
  });
  return { handler: handler as unknown as RequestHandler, agent };
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
