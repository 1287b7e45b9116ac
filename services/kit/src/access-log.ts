/**
 * The access log: one line per request when its response finishes (or the connection closes
 * first), `{ reqId, method, path, status, durationMs, operationId }`, 5xx and aborted requests as
 * error, 4xx as warn, the rest info. It replaces pino-http, which serialised the whole request
 * and response on every line and made a child logger for every request (~9-17 % of a request's
 * CPU, issue 14): nothing is built when the level is off, and a request's child logger only when
 * something logs for it ({@link requestLog}).
 * The path is logged without its query, which may carry credentials.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "./logger.js";

declare module "http" {
  interface IncomingMessage {
    /** The request id (`requestId()` in app.ts sets it). */
    id?: string;
    /** A logger bound to this request's id (made on first use by `requestLog`). */
    log?: Logger;
  }
}

/** What express-openapi-validator records on a matched request. */
interface MatchedRequest extends IncomingMessage {
  originalUrl?: string;
  openapi?: { schema?: { operationId?: string } };
}

/**
 * The logger of `req`: `req.log` when set, else a child of `logger` bound to `reqId: req.id`, kept
 * as `req.log` (made on first use: most requests log nothing of their own).
 */
export function requestLog(req: IncomingMessage, logger: Logger): Logger {
  req.log ??= logger.child({ reqId: req.id });
  return req.log;
}

/** Paths never logged: probes poll every few seconds and would drown the requests that matter. */
export const UNLOGGED_PATHS: ReadonlySet<string> = new Set(["/healthz", "/readyz", "/metrics"]);

/** The log level of a finished request's line: 5xx and 0 (aborted) error, 4xx warn, else info. */
export function accessLevel(status: number): "error" | "warn" | "info" {
  return status >= 500 || status === 0 ? "error" : status >= 400 ? "warn" : "info";
}

/**
 * Middleware (Express, or a bare `node:http` pair with `next` omitted): logs the request's access
 * line with `logger` when it ends. Reads `req.id` and the matched operation when the response
 * ends, so it may run before they are set; install it before anything rewrites the method (HEAD
 * continues as GET).
 */
export function accessLogger(
  logger: Logger,
): (req: IncomingMessage, res: ServerResponse, next?: () => void) => void {
  return (req, res, next) => {
    const url = (req as MatchedRequest).originalUrl ?? req.url ?? "/";
    const query = url.indexOf("?");
    const path = query === -1 ? url : url.slice(0, query);
    if (!UNLOGGED_PATHS.has(path)) {
      const method = req.method;
      const started = performance.now();
      res.once("close", () =>
        logAccessLine(logger, req, res, method, path, performance.now() - started),
      );
    }
    next?.();
  };
}

/**
 * Logs one request's access line now, its response having closed: the line {@link accessLogger}
 * logs, for a caller that observes the close itself (the gateway's fast lane: one `close`
 * listener per response for its access line, metrics and deadline instead of one each).
 * @param method the method as received (before HEAD continues as GET).
 * @param path the request path without its query.
 * @param durationMs the time since the request arrived, in ms.
 */
export function logAccessLine(
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  method: string | undefined,
  path: string,
  durationMs: number,
): void {
  const status = res.writableFinished ? res.statusCode : 0;
  const level = accessLevel(status);
  if (!logger.isLevelEnabled(level)) return;
  const operationId = (req as MatchedRequest).openapi?.schema?.operationId;
  logger[level](
    {
      reqId: req.id,
      method,
      path,
      status,
      durationMs: Math.round(durationMs * 10) / 10,
      ...(operationId ? { operationId } : {}),
    },
    status === 0 ? "request aborted" : "request completed",
  );
}
