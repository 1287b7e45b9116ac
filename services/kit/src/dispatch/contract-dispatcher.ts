/**
 * The kit's contract dispatcher: the way a valid request takes to its handler, on bare
 * `node:http` objects, ahead of the service's Express app. The benchmark's CPU profile
 * (docs/benchmarks.md, issue 14) showed Express's router and express-openapi-validator's
 * middleware chain costing more per request than the work the reference service does; this does
 * the same work with what was compiled from the contract at start:
 *
 *   request id, access log, metrics → operation matched (operation-matcher.ts; HEAD as GET) →
 *   JSON body read (bounded) → parameters and body checked, coerced, defaults filled in
 *   (request-checks.ts) → no U+0000 in any string → credentials verified (the kit's security
 *   handlers, as the validator runs them) → handler, in its event origin → response written
 *   (validated against the contract where the app validates responses: response-checks.ts).
 *
 * It only ever takes requests it is sure of. Anything else — no such operation, a parameter
 * style or body the checks were not built for, a check that fails, credentials that do not
 * satisfy the operation, a compressed or chunked body, tracing turned on — goes to the Express
 * app (the reference pipeline), which answers exactly as before (404/405, 400 naming each field,
 * 401/403, 413, 415). It hands over before any side effect but the request's observation (id,
 * access log, metrics: done once, here, whichever way the request then takes), passing on what
 * it read (the body, the credential checks' answers). Responses are written as the app's
 * `res.json` would write them (status, the handler's headers, `application/json` or
 * `application/problem+json` with `charset=utf-8`, `Content-Length`, a 304 when the handler's
 * ETag or Last-Modified is fresh for the request), errors by the app's own error renderer.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { documentOperations } from "@portico/contracts/operations";
import fresh from "fresh";
import { requestLog } from "../access-log.js";
import {
  type ApiKeyVerifier,
  satisfiesSecurity,
  securityHandlers,
  type TokenVerifier,
} from "../auth.js";
import { withRequestOrigin } from "../event-origin.js";
import type { HandlerInput } from "../handlers.js";
import type { Logger } from "../logger.js";
import { serviceMetrics } from "../metrics.js";
import { nulCharacterErrors } from "../nul-characters.js";
import { PROBLEM_CONTENT_TYPE } from "../problem.js";
import { tracingEnabled } from "../telemetry.js";
import { compileOperationMatcher } from "./operation-matcher.js";
import { readBody } from "./read-body.js";
import {
  type CheckedRequest,
  compileRequestChecks,
  type OperationChecks,
} from "./request-checks.js";
import { compileResponseChecks, type ResponseCheck } from "./response-checks.js";

/** A handler as the dispatcher calls it. */
type AnyHandler = (input: HandlerInput<unknown>) => Promise<unknown>;

/** What a handler returns. */
interface HandlerResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Options of {@link createContractDispatcher}. */
export interface ContractDispatcherOptions {
  /** Bundled OpenAPI 3.1 document; not mutated. */
  contract: Record<string, unknown>;
  /** The handler of each operationId. */
  handlers: Readonly<Record<string, AnyHandler>>;
  verifyToken: TokenVerifier;
  verifyApiKey?: ApiKeyVerifier | undefined;
  logger: Logger;
  /** Judge each response against the contract, as the app does when it validates responses. */
  validateResponses: boolean;
  /** Largest body taken, in bytes (a larger one goes to the app: 413 there). */
  bodyLimitBytes: number;
  /**
   * Observes a request whichever way it then takes (request id, access log, metrics), as the
   * app's first middlewares would; they skip a request {@link observedByDispatcher} says was.
   */
  observe: (req: IncomingMessage, res: ServerResponse) => void;
  /** Renders an error as the app's error middleware does (a Problem). */
  renderError: (err: unknown, req: IncomingMessage, res: ServerResponse) => void;
  /** Where every request the dispatcher does not take goes: the Express app. */
  fallback: (req: IncomingMessage, res: ServerResponse) => void;
}

/** What the dispatcher leaves on a request it read or took. */
interface DispatchedRequest extends IncomingMessage {
  [OBSERVED]?: true;
  [READ_BODY]?: Buffer;
  openapi?: {
    openApiRoute: string;
    expressRoute: string;
    schema: { operationId: string };
    pathParams: Record<string, unknown>;
  };
  principal?: HandlerInput<unknown>["principal"];
}

const OBSERVED = Symbol("portico.dispatcher.observed");
const READ_BODY = Symbol("portico.dispatcher.body");
const EMPTY = Buffer.alloc(0);

/** Whether the dispatcher observed `req` already (request id, access log, metrics). */
export function observedByDispatcher(req: IncomingMessage): boolean {
  return (req as DispatchedRequest)[OBSERVED] === true;
}

/** The body the dispatcher read before handing `req` over, if it read one. */
export function bodyReadByDispatcher(req: IncomingMessage): Buffer | undefined {
  return (req as DispatchedRequest)[READ_BODY];
}

/** Characters of a path the matcher and the validator read alike (RFC 3986 `pchar` and `/`). */
const PATH = /^\/[A-Za-z0-9\-._~%!$&'()*+,;=:@/]*$/;
/** The request media types Express's JSON parser reads as UTF-8 without a question. */
const JSON_REQUEST = /^application\/(?:[a-z0-9!#$&^_.-]+\+)?json(?:\s*;\s*charset="?utf-8"?)?$/i;
/** Templates whose parameters are whole segments with plain names, matched alike everywhere. */
const PLAIN_TEMPLATE = /^(?:\/(?:[^{}/]*|\{[A-Za-z_$][A-Za-z0-9_$]*\}))+$/;
/** Paths the app answers before the contract (health, metrics). */
const PLATFORM_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * Each operation of a bundled contract that has an operationId, in document order
 * ({@link documentOperations}): method (upper case), path template, operationId.
 */
export function contractOperations(
  contract: Record<string, unknown>,
): { method: string; template: string; operationId: string }[] {
  return documentOperations(contract).flatMap(({ method, template, operation }) =>
    typeof operation.operationId === "string"
      ? [{ method: method.toUpperCase(), template, operationId: operation.operationId }]
      : [],
  );
}

/** An operation the dispatcher takes requests for. */
interface Lane {
  template: string;
  operationId: string;
  handler: AnyHandler;
  checks: OperationChecks;
  /** Present when responses are validated. */
  checkResponse: ResponseCheck | undefined;
}

/**
 * Builds the dispatcher: a `node:http` request listener that takes what it can (see the module
 * comment) and hands everything else to `options.fallback`.
 */
export function createContractDispatcher(
  options: ContractDispatcherOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const operations = contractOperations(options.contract);
  const checks = compileRequestChecks(options.contract, operations);
  const responseChecks = options.validateResponses
    ? compileResponseChecks(options.contract, operations)
    : undefined;
  const lanes = new Map<string, Lane>();
  for (const { template, operationId } of operations) {
    const operationChecks = checks.get(operationId);
    const handler = options.handlers[operationId];
    const checkResponse = responseChecks?.get(operationId);
    if (!operationChecks || !handler || !PLAIN_TEMPLATE.test(template)) continue;
    if (responseChecks && !checkResponse) continue;
    lanes.set(operationId, {
      template,
      operationId,
      handler,
      checks: operationChecks,
      checkResponse,
    });
  }
  // Every operation, so a request is matched to the path the validator would choose.
  const match = compileOperationMatcher(operations);
  const schemes = securityHandlers({
    verifyToken: options.verifyToken,
    verifyApiKey: options.verifyApiKey,
  });
  const counter = serviceMetrics().fastLaneRequests;
  const taken = counter.labels("fast");
  const handedOver = counter.labels("reference");
  const { logger, bodyLimitBytes } = options;

  const fallback = (req: DispatchedRequest, res: ServerResponse, body?: Buffer) => {
    handedOver.inc();
    if (body && body.length > 0) req[READ_BODY] = body;
    options.fallback(req, res);
  };

  /** Writes the handler's result as the app's `res.json` would. */
  const respond = (
    req: DispatchedRequest,
    res: ServerResponse,
    lane: Lane,
    result: HandlerResult,
  ) => {
    const { status, body } = result;
    res.statusCode = status;
    for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
    if (body === undefined) {
      res.end();
      return;
    }
    const breach = lane.checkResponse?.(status, body);
    if (breach) {
      options.renderError(breach, req, res);
      return;
    }
    const json = JSON.stringify(body);
    const given = res.getHeader("content-type");
    res.setHeader(
      "Content-Type",
      status >= 400
        ? `${PROBLEM_CONTENT_TYPE}; charset=utf-8`
        : typeof given === "string"
          ? `${given.replace(/\s*;\s*charset=[^;]*/i, "")}; charset=utf-8`
          : "application/json; charset=utf-8",
    );
    const method = req.method;
    const cacheable = (status >= 200 && status < 300) || status === 304;
    if (
      (method === "GET" || method === "HEAD") &&
      cacheable &&
      fresh(req.headers, {
        etag: res.getHeader("etag") as string | undefined,
        "last-modified": res.getHeader("last-modified") as string | undefined,
      })
    ) {
      res.statusCode = 304;
    }
    if (res.statusCode === 204 || res.statusCode === 304) {
      res.removeHeader("Content-Type");
      res.removeHeader("Content-Length");
      res.removeHeader("Transfer-Encoding");
      res.end();
      return;
    }
    if (res.statusCode === 205) {
      res.setHeader("Content-Length", "0");
      res.removeHeader("Transfer-Encoding");
      res.end();
      return;
    }
    res.setHeader("Content-Length", Buffer.byteLength(json));
    res.end(json); // Node sends no body for HEAD
  };

  /** Calls the operation's handler as the app's `dispatch` does, then answers. */
  const take = (
    req: DispatchedRequest,
    res: ServerResponse,
    lane: Lane,
    checked: CheckedRequest,
  ) => {
    taken.inc();
    req.openapi = {
      openApiRoute: lane.template,
      expressRoute: lane.template,
      schema: { operationId: lane.operationId },
      pathParams: checked.path,
    };
    // The validator leaves coerced (or defaulted) header parameters in the request's headers.
    for (const name in checked.headers) {
      (req.headers as Record<string, unknown>)[name] = checked.headers[name];
    }
    const requestId = req.id as string;
    let result: Promise<unknown>;
    try {
      result = withRequestOrigin(req, requestId, () =>
        lane.handler({
          path: checked.path as never,
          query: checked.query as never,
          body: checked.body as never,
          headers: req.headers,
          principal: req.principal,
          requestId,
          get log() {
            return requestLog(req, logger);
          },
        }),
      );
    } catch (err) {
      result = Promise.reject(err);
    }
    result
      .then((value) => respond(req, res, lane, value as HandlerResult))
      .catch((err: unknown) => options.renderError(err, req, res));
  };

  /** Takes the request once its body is read, or hands it to the app. */
  const decide = (
    req: DispatchedRequest,
    res: ServerResponse,
    lane: Lane,
    pathParams: Record<string, string>,
    query: string,
    body: Buffer,
  ) => {
    // Express's JSON parser takes only an object or array ("strict").
    if (body.length > 0 && !startsContainer(body)) return fallback(req, res, body);
    const checked = lane.checks.check({ pathParams, query, headers: req.headers, body });
    if (
      !checked ||
      nulCharacterErrors({ body: checked.body, query: checked.query, path: checked.path }).length >
        0
    ) {
      return fallback(req, res, body);
    }
    if (lane.checks.security.length === 0) return take(req, res, lane, checked);
    satisfiesSecurity(req, lane.checks.security, schemes).then(
      (ok) => (ok ? take(req, res, lane, checked) : fallback(req, res, body)),
      () => fallback(req, res, body),
    );
  };

  return (req: DispatchedRequest, res) => {
    if (tracingEnabled()) {
      fallback(req, res);
      return;
    }
    options.observe(req, res);
    req[OBSERVED] = true;
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const mark = url.indexOf("?");
    const pathname = mark < 0 ? url : url.slice(0, mark);
    const matched =
      method === "OPTIONS" || !PATH.test(pathname) || PLATFORM_PATHS.has(pathname)
        ? undefined
        : match(method === "HEAD" ? "GET" : method, pathname);
    const lane = matched && lanes.get(matched.route.operationId);
    const headers = req.headers;
    if (
      !matched ||
      !lane ||
      headers["content-encoding"] !== undefined ||
      headers["transfer-encoding"] !== undefined
    ) {
      fallback(req, res);
      return;
    }
    const query = mark < 0 ? "" : url.slice(mark + 1);
    const length = Number(headers["content-length"] ?? 0);
    const contentType = headers["content-type"];
    if (length === 0) {
      // Express parses an empty JSON body as `{}`: the app decides what that means.
      if (contentType !== undefined) fallback(req, res);
      else decide(req, res, lane, matched.pathParams, query, EMPTY);
      return;
    }
    if (
      !(Number.isInteger(length) && length > 0 && length <= bodyLimitBytes) ||
      contentType === undefined ||
      !JSON_REQUEST.test(contentType)
    ) {
      fallback(req, res);
      return;
    }
    readBody(req, length, (body) => decide(req, res, lane, matched.pathParams, query, body));
  };
}

/** Whether a JSON text starts (after whitespace) with `{` or `[`, as Express's parser requires. */
function startsContainer(body: Buffer): boolean {
  for (const byte of body) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x7b || byte === 0x5b;
  }
  return false;
}
