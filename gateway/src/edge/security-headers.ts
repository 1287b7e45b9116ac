/**
 * Security headers on every answer (helmet), set for an API: a Content-Security-Policy that lets
 * a JSON answer load nothing and be framed nowhere (`default-src 'none'; frame-ancestors
 * 'none'`), `X-Frame-Options: DENY`, `nosniff`, `Referrer-Policy: no-referrer`, HSTS, and the
 * cross-origin isolation headers. `GET /docs` is an HTML page that runs the Scalar API reference
 * from its CDN, so it gets its own policy allowing that script, Scalar's inline start-up script
 * and styles, and fetching `/openapi.json` and the API itself.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestHandler } from "express";
import helmet from "helmet";

/** Where the API reference page (`/docs`) loads Scalar from (its default CDN). */
export const SCALAR_CDN = "https://cdn.jsdelivr.net";

/** The CSP directives of an API answer: it loads nothing and may not be framed. */
const API_CSP = { defaultSrc: ["'none'"], frameAncestors: ["'none'"] };

/**
 * The CSP directives of `/docs`: Scalar's script from {@link SCALAR_CDN}, its inline start-up
 * script and styles (`'unsafe-inline'`: the page shows the public contract only, and no cookie
 * authenticates the API, so an injected script would have nothing to steal), its fonts and
 * images, and requests to this origin (the document and "try it").
 */
const DOCS_CSP = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'", "'unsafe-inline'", SCALAR_CDN],
  styleSrc: ["'self'", "'unsafe-inline'", "https:"],
  fontSrc: ["'self'", "https:", "data:"],
  imgSrc: ["'self'", "https:", "data:"],
  connectSrc: ["'self'"],
  workerSrc: ["'self'", "blob:"],
  frameAncestors: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  objectSrc: ["'none'"],
};

/** Paths answered with an HTML page rather than an API answer. */
const DOCS_PATHS = new Set(["/docs", "/docs/"]);

const SHARED = {
  frameguard: { action: "deny" as const },
  referrerPolicy: { policy: "no-referrer" as const },
};

/** helmet for API answers. */
function apiHelmet() {
  return helmet({ ...SHARED, contentSecurityPolicy: { useDefaults: false, directives: API_CSP } });
}

/** Middleware setting the security headers: the `/docs` policy there, the API policy elsewhere. */
export function securityHeaders(): RequestHandler {
  const api = apiHelmet();
  const docs = helmet({
    ...SHARED,
    contentSecurityPolicy: { useDefaults: false, directives: DOCS_CSP },
  });
  return (req, res, next) => (DOCS_PATHS.has(req.path) ? docs : api)(req, res, next);
}

/**
 * The API answers' security headers as {@link securityHeaders} sets them, worked out once by
 * running helmet against a recording response (its headers depend on its options only), and a
 * step setting them: for the fast lane, which pays for no per-request header logic.
 */
export function precomputedSecurityHeaders(): (
  req: IncomingMessage,
  res: ServerResponse,
  next: () => void,
) => void {
  const headers: [string, string][] = [];
  const recorder = {
    setHeader: (name: string, value: unknown) => headers.push([name, String(value)]),
    removeHeader: () => undefined,
  };
  apiHelmet()({} as never, recorder as never, () => undefined);
  return (_req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    next();
  };
}
