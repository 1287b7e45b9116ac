/**
 * Security headers on every answer (helmet), set for an API: a Content-Security-Policy that lets
 * a JSON answer load nothing and be framed nowhere (`default-src 'none'; frame-ancestors
 * 'none'`), `X-Frame-Options: DENY`, `nosniff`, `Referrer-Policy: no-referrer`, HSTS, and the
 * cross-origin isolation headers. The one HTML page, the API reference at `GET /docs`, runs the
 * Scalar bundle this gateway serves itself (docs/reference.ts), so its policy allows this origin
 * only. The reference is the only module setting these headers: the reference pipeline runs
 * {@link securityHeaders}, the fast lane the same API headers worked out once.
 */
import type { RequestHandler } from "express";
import helmet from "helmet";
import { DOCS_PATHS } from "../docs/reference.js";

/** The CSP directives of an API answer: it loads nothing and may not be framed. */
const API_CSP = { defaultSrc: ["'none'"], frameAncestors: ["'none'"] };

/**
 * The CSP directives of `/docs`: scripts, fonts, images and requests from this origin only (the
 * document and "try it"). Styles also `'unsafe-inline'`: Scalar's components set inline styles
 * at run time; a style cannot run code, and the page shows the public contract only.
 */
const DOCS_CSP = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  fontSrc: ["'self'", "data:"],
  imgSrc: ["'self'", "data:", "blob:"],
  connectSrc: ["'self'"],
  workerSrc: ["'self'", "blob:"],
  frameAncestors: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  objectSrc: ["'none'"],
};

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
  return (req, res, next) => (req.path === DOCS_PATHS.page ? docs : api)(req, res, next);
}

/**
 * The API answers' security headers as {@link securityHeaders} sets them, worked out once by
 * running helmet against a recording response (its headers depend on its options only), as a
 * flat `[name, value, ...]` list: for the fast lane, which writes them with the response's head
 * (pipeline/lane-response.ts) and pays for no per-request header logic.
 */
export function securityHeaderList(): string[] {
  const headers: string[] = [];
  const recorder = {
    setHeader: (name: string, value: unknown) => headers.push(name, String(value)),
    removeHeader: () => undefined,
  };
  apiHelmet()({} as never, recorder as never, () => undefined);
  return headers;
}
