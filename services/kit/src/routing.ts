/**
 * How a request is matched to a contract's operation, the same in every service and the gateway
 * (issue 9, findings 3-5):
 * - paths match exactly as the contract writes them: letter case counts and a trailing slash is
 *   another path (anything else is a 404 Problem);
 * - the query string is parsed flat (node:querystring): a parameter's name stays what the client
 *   sent, so `?__proto__[admin]=true` or `?a[b]=1` is an unknown parameter the validator refuses
 *   (400) instead of a nested object a parser builds and the validator never sees;
 * - HEAD on a GET operation is answered as GET without a body (RFC 9110 section 9.3.2).
 */
import type { Express, RequestHandler, RouterOptions } from "express";

/** Options for every `express.Router()` in front of the contract: exact paths (see above). */
export const EXACT_ROUTER_OPTIONS: RouterOptions = { caseSensitive: true, strict: true };

/**
 * Applies the matching rules to `app`: case-sensitive and strict routing (which
 * express-openapi-validator also reads for its own matching) and the flat query parser. Routers
 * mounted on the app need {@link EXACT_ROUTER_OPTIONS} themselves.
 */
export function matchContractPathsExactly(app: Express): void {
  app.set("case sensitive routing", true);
  app.set("strict routing", true);
  app.set("query parser", "simple");
}

/**
 * Middleware: a HEAD request continues as GET, so the contract's GET operation (validation,
 * security, handler) answers it. Node.js's response to a HEAD request sends the status and
 * headers (Content-Length included) and drops the body, so nothing else changes. Install it after
 * anything that records the request's method (access log, metrics).
 */
export function headAsGet(): RequestHandler {
  return (req, _res, next) => {
    if (req.method === "HEAD") req.method = "GET";
    next();
  };
}
