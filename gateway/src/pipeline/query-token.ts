/**
 * `?access_token=` for the event stream only. Browsers' `EventSource` cannot set headers, so
 * `GET /events` also takes the bearer token in the query (RFC 6750 section 2.3 allows it, and
 * discourages it). The trade-off: a URL is more likely than a header to be kept — browser
 * history, proxy and server logs, `Referer`. So the parameter is accepted on that one operation,
 * ignored when an `Authorization` header is present, and removed from the URL before anything
 * logs or validates the request: when valid, it becomes the `Authorization` header and is
 * checked as one. Clients that can set headers (`@portico/client`'s `subscribe()`) should not
 * use it.
 *
 * Removed from the URL, the parameter is out of the contract validator's sight, so its own schema
 * (from the contract, compiled once) is checked here first: a value that breaks it is never used
 * as a credential, and the request is refused with the validator's 400 naming
 * `query.access_token` once the validator has passed the rest (security first, as it orders it).
 */
import type { IncomingMessage } from "node:http";
import { compileParameterCheck, type ParameterCheck } from "@portico/kit/core";
import type { RequestHandler } from "express";
import * as OpenApiValidator from "express-openapi-validator";
import type { OperationTable } from "../operations/table.js";

/** The query parameter (RFC 6750 section 2.3). */
export const ACCESS_TOKEN_PARAMETER = "access_token";

/** The two steps of the query token, placed apart in the pipeline. */
export interface QueryToken {
  /**
   * Before the access log: for `GET <path>`, removes `access_token` from `req.url` and
   * `req.originalUrl` and, when it is valid and no `Authorization` header is set, moves it into
   * `Authorization: Bearer`. Other requests pass untouched (their `access_token` stays an
   * unknown query parameter, which the contract validator refuses).
   */
  take: RequestHandler;
  /**
   * After the contract validator: fails a request whose `access_token` broke its schema with
   * express-openapi-validator's `BadRequest` (rendered as every invalid parameter is: a 400
   * Problem whose `errors[]` names `query.access_token`).
   */
  refuse: RequestHandler;
}

const passThrough: RequestHandler = (_req, _res, next) => next();

/**
 * The {@link QueryToken} steps of the event stream at `path`.
 * @param path the event stream's path, e.g. `/events`.
 * @param check the parameter's schema check (see {@link compileParameterCheck}).
 */
export function queryTokenFor(path: string, check: ParameterCheck): QueryToken {
  /** The reasons a request's `access_token` is invalid (set by `take` only when it is). */
  const invalid = new WeakMap<IncomingMessage, string[]>();
  const take: RequestHandler = (req, _res, next) => {
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
    const reasons = check(token);
    if (reasons.length > 0) invalid.set(req, reasons);
    else if (req.headers.authorization === undefined) {
      req.headers.authorization = `Bearer ${token}`;
    }
    next();
  };
  const refuse: RequestHandler = (req, _res, next) => {
    const reasons = invalid.get(req);
    if (!reasons) {
      next();
      return;
    }
    const errorPath = `/query/${ACCESS_TOKEN_PARAMETER}`;
    next(
      new OpenApiValidator.error.BadRequest({
        path: errorPath,
        message: `request${errorPath} ${reasons.join(", ")}`,
        errors: reasons.map((message) => ({ path: errorPath, message })),
      }),
    );
  };
  return { take, refuse };
}

/**
 * {@link queryTokenFor} the path of operation `operationId` of `table`, its `access_token`
 * checked against that operation's own parameter schema in `contract` (pass-throughs when the
 * contract does not declare the operation or the parameter).
 */
export function queryTokenForOperation(
  table: OperationTable,
  contract: Record<string, unknown>,
  operationId: string,
): QueryToken {
  const operation = table.byId(operationId);
  const check =
    operation && compileParameterCheck(contract, operation, "query", ACCESS_TOKEN_PARAMETER);
  return operation && check
    ? queryTokenFor(operation.template, check)
    : { take: passThrough, refuse: passThrough };
}
