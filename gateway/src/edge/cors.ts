/**
 * CORS (the `cors` package) from `CORS_ORIGINS`: requests from a listed origin get
 * `Access-Control-Allow-Origin` (and `Vary: Origin`) and may read the rate-limit, request-id and
 * caching headers; preflights (`OPTIONS` with `Access-Control-Request-Method`) are answered here,
 * 204, before rate limiting and contract validation (the contract declares no `OPTIONS`). No
 * cookies are involved (credentials are bearer tokens and API keys), so credentials mode is off.
 */
import cors from "cors";
import type { RequestHandler } from "express";

/** Response headers a cross-origin caller may read, besides the CORS-safelisted ones. */
export const EXPOSED_HEADERS = [
  "Location",
  "ETag",
  "Retry-After",
  "RateLimit",
  "RateLimit-Policy",
  "X-Request-Id",
  "WWW-Authenticate",
];

/** Request headers a cross-origin caller may send, besides the CORS-safelisted ones. */
export const ALLOWED_HEADERS = [
  "Authorization",
  "Content-Type",
  "X-API-Key",
  "X-Request-Id",
  "If-None-Match",
  "Last-Event-ID",
  "traceparent",
  "tracestate",
];

/** How long a browser may cache a preflight's answer, in seconds. */
export const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * The CORS middleware for `origins` (`*` allows any origin); undefined when none are allowed,
 * so same-origin callers and non-browser clients see no CORS headers at all. Requests without an
 * `Origin` header are not CORS requests and pass untouched (an `OPTIONS` among them meets the
 * contract's 405).
 */
export function corsMiddleware(origins: readonly string[]): RequestHandler | undefined {
  if (origins.length === 0) return undefined;
  const handler = cors({
    origin: origins.includes("*") ? "*" : [...origins],
    methods: ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"],
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
    optionsSuccessStatus: 204,
  });
  return (req, res, next) => {
    if (req.headers.origin === undefined) {
      next();
      return;
    }
    handler(req, res, next);
  };
}
