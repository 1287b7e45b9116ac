/**
 * `?access_token=` for the event stream only. Browsers' `EventSource` cannot set headers, so
 * `GET /events` also takes the bearer token in the query (RFC 6750 section 2.3 allows it, and
 * discourages it). The trade-off: a URL is more likely than a header to be kept — browser
 * history, proxy and server logs, `Referer`. So the parameter is accepted on that one operation,
 * ignored when an `Authorization` header is present, and removed from the URL before anything
 * logs or validates the request: it becomes the `Authorization` header and is checked as one.
 * Clients that can set headers (`@portico/client`'s `subscribe()`) should not use it.
 */
import type { RequestHandler } from "express";
import type { OperationTable } from "../operations/table.js";

/** The query parameter (RFC 6750 section 2.3). */
export const ACCESS_TOKEN_PARAMETER = "access_token";

/**
 * Middleware: for `GET <path>`, moves `access_token` from the query into `Authorization: Bearer`
 * (unless that header is set) and strips it from `req.url` and `req.originalUrl`. Place it
 * before the access log. Other requests pass untouched (their `access_token` stays an unknown
 * query parameter, which the contract validator refuses).
 * @param path the event stream's path, e.g. `/events`.
 */
export function queryTokenFor(path: string): RequestHandler {
  return (req, _res, next) => {
    if (req.method !== "GET" || !req.url.includes(ACCESS_TOKEN_PARAMETER)) {
      next();
      return;
    }
    const url = new URL(req.url, "http://gateway.invalid");
    const token = url.searchParams.get(ACCESS_TOKEN_PARAMETER);
    if (url.pathname !== path || token === null) {
      next();
      return;
    }
    url.searchParams.delete(ACCESS_TOKEN_PARAMETER);
    const stripped = `${url.pathname}${url.search}`;
    req.url = stripped;
    req.originalUrl = stripped;
    if (req.headers.authorization === undefined && token !== "") {
      req.headers.authorization = `Bearer ${token}`;
    }
    next();
  };
}

/**
 * {@link queryTokenFor} the path of operation `operationId` of `routes` (a pass-through when the
 * contract does not declare it).
 */
export function queryTokenForOperation(
  routes: OperationTable,
  operationId: string,
): RequestHandler {
  const route = routes.byId(operationId);
  return route ? queryTokenFor(route.template) : (_req, _res, next) => next();
}
