/**
 * Builds an Express 5 app from a contract and a handler map: the contract is the router.
 * Paths match exactly and queries parse flat (routing.ts).
 * Pipeline: request id → access log → body parsers → health → HEAD as GET → express-openapi-validator
 * (security, request validation, response validation outside production) → no U+0000 in any
 * string (nul-characters.ts) → handler → Problem.
 * In front of it, the contract dispatcher (dispatch/contract-dispatcher.ts) takes every request
 * it is sure is valid and authorised straight to its handler, with the same answer; the app
 * answers everything else.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import express, {
  type ErrorRequestHandler,
  type Request,
  type RequestHandler,
  type Response,
} from "express";
import * as OpenApiValidator from "express-openapi-validator";
import { accessLogger, requestLog } from "./access-log.js";
import {
  type ApiKeyVerifier,
  type Principal,
  type SecurityRequirements,
  securityHandlers,
  securityProblem,
  type TokenVerifier,
} from "./auth.js";
import {
  bodyReadByDispatcher,
  contractOperations,
  createContractDispatcher,
  observedByDispatcher,
} from "./dispatch/contract-dispatcher.js";
import { withRequestOrigin } from "./event-origin.js";
import type { HandlerInput, Handlers } from "./handlers.js";
import type { Logger } from "./logger.js";
import { metricsRoutes, recordRequestMetrics } from "./metrics.js";
import { rejectNulCharacters } from "./nul-characters.js";
import {
  type FieldError,
  fieldFromPath,
  HttpProblem,
  PROBLEM_CONTENT_TYPE,
  type ProblemBody,
  unauthorized,
} from "./problem.js";
import { EXACT_ROUTER_OPTIONS, headAsGet, matchContractPathsExactly } from "./routing.js";
import { inRequestContext, traceRequests } from "./telemetry.js";
import { compileValidatorRoutesExactlyOnce } from "./validator-routes.js";

/** A readiness check: resolves when the dependency answers, rejects otherwise. */
export type ReadinessCheck = () => Promise<void>;

/** Options of {@link createApp}. */
export interface AppOptions<Ops> {
  /** Bundled OpenAPI 3.1 document (from `loadContract`); not mutated. */
  contract: Record<string, unknown>;
  handlers: Handlers<Ops>;
  /** Verifies bearer tokens for operations that declare `bearerAuth`. */
  verifyToken: TokenVerifier;
  /**
   * Verifies API keys for operations that declare `apiKeyAuth` (`createApiKeyVerifier`); without
   * it every API key is refused with 401.
   */
  verifyApiKey?: ApiKeyVerifier;
  logger: Logger;
  /** Validate responses against the contract (development and test; off in production). */
  validateResponses: boolean;
  /** Named readiness checks reported by `GET /readyz`. */
  readiness: Record<string, ReadinessCheck>;
  /** Largest accepted request body, e.g. `"1mb"`. */
  bodyLimit?: string;
  /**
   * Put the contract dispatcher in front of the Express app (default true); false leaves the
   * Express pipeline alone, e.g. to compare the two.
   */
  fastLane?: boolean;
}

/** Header carrying the request id end to end (HTTP and NATS). */
export const REQUEST_ID_HEADER = "x-request-id";

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request's id: the caller's `X-Request-Id` when well-formed, else a new UUID. */
export function requestIdOf(req: {
  headers: Record<string, string | string[] | undefined>;
}): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === "string" && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
}

type ReqIdLike = Request["id"];

interface OpenApiRequest extends Request {
  openapi?: { schema?: { operationId?: string }; pathParams?: Record<string, string> };
  principal?: Principal;
  id: ReqIdLike;
}

/** Operation ids declared by a bundled contract, in document order. */
export function operationIds(contract: Record<string, unknown>): string[] {
  return contractOperations(contract).map((operation) => operation.operationId);
}

/**
 * Checks that the handler map covers the contract exactly.
 * @throws Error naming each operationId without a handler and each handler without an operation.
 */
export function assertHandlersMatch(contract: Record<string, unknown>, handlers: object): void {
  const declared = new Set(operationIds(contract));
  const implemented = new Set(Object.keys(handlers));
  const missing = [...declared].filter((id) => !implemented.has(id));
  const unknown = [...implemented].filter((id) => !declared.has(id));
  if (missing.length > 0 || unknown.length > 0) {
    throw new Error(
      [
        missing.length ? `no handler for operationId ${missing.join(", ")}` : "",
        unknown.length ? `handler for unknown operationId ${unknown.join(", ")}` : "",
      ]
        .filter(Boolean)
        .join("; "),
    );
  }
}

/**
 * Middleware: sets `req.id` (unless already set) and the `X-Request-Id` response header (see
 * {@link requestIdOf}).
 */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    // Kept when set already (the gateway's fast lane may have handed the request over).
    const given = (req as OpenApiRequest).id;
    const id = typeof given === "string" ? given : requestIdOf(req);
    (req as OpenApiRequest).id = id;
    res.setHeader("X-Request-Id", id);
    next();
  };
}

/**
 * Router with `GET /healthz` (the process is up) and `GET /readyz` (every check passes: 200,
 * else 503; the body names each check's state).
 */
export function healthRoutes(readiness: Record<string, ReadinessCheck>): express.Router {
  const router = express.Router(EXACT_ROUTER_OPTIONS);
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", async (_req, res) => {
    const checks: Record<string, string> = {};
    let ready = true;
    await Promise.all(
      Object.entries(readiness).map(async ([name, check]) => {
        try {
          await check();
          checks[name] = "ok";
        } catch (err) {
          ready = false;
          checks[name] = err instanceof Error ? err.message : "failed";
        }
      }),
    );
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "not ready", checks });
  });
  return router;
}

/**
 * express-openapi-validator configured the Portico way: matches the route (404/405; exactly, and
 * each route template compiled once, see validator-routes.ts), runs the
 * `bearerAuth` and `apiKeyAuth` security schemes (401/403/503 as one Problem saying what is
 * missing, see `securityProblem`; sets `req.principal`), validates the request (400), and
 * optionally the response. Expects the body already parsed into `req.body`.
 */
export function contractValidator(options: {
  contract: Record<string, unknown>;
  verifyToken: TokenVerifier;
  verifyApiKey?: ApiKeyVerifier | undefined;
  validateResponses: boolean;
}): RequestHandler[] {
  compileValidatorRoutesExactlyOnce();
  const validator = OpenApiValidator.middleware({
    apiSpec: structuredClone(options.contract) as never,
    // `coerceTypes` only governs the body (parameters are always coerced): JSON bodies must
    // match the contract's types exactly, so `{"quantity": "4"}` is a 400, not 4.
    validateRequests: { allowUnknownQueryParameters: false, coerceTypes: false, allErrors: true },
    validateResponses: options.validateResponses,
    validateSecurity: {
      handlers: securityHandlers({
        verifyToken: options.verifyToken,
        verifyApiKey: options.verifyApiKey,
      }) as never,
    },
    validateFormats: true,
  }) as RequestHandler[];
  // Express takes error middleware (four parameters) in the same list as the others.
  return [...validator, securityErrors(options.contract) as unknown as RequestHandler];
}

/**
 * Error middleware after the validator: its security errors (which keep only the first failed
 * requirement's status and message) become the one Problem `securityProblem` derives from every
 * credential the request carried.
 */
function securityErrors(contract: Record<string, unknown>): ErrorRequestHandler {
  const defaultSecurity = contract.security as SecurityRequirements | undefined;
  return (err, req, _res, next) => {
    const status = (err as { status?: unknown } | undefined)?.status;
    const security =
      ((req as OpenApiRequest).openapi?.schema as { security?: SecurityRequirements })?.security ??
      defaultSecurity;
    if (err instanceof HttpProblem || ![401, 403, 503].includes(status as number) || !security) {
      next(err);
      return;
    }
    securityProblem(req, security).then(next, next);
  };
}

/** Runs `middleware` unless the contract dispatcher did its work for the request already. */
function unlessObserved(
  middleware: (req: Request, res: Response, next: () => void) => void,
): RequestHandler {
  return (req, res, next) => (observedByDispatcher(req) ? next() : middleware(req, res, next));
}

/** The bytes a body limit such as `"1mb"` allows (1024-based units, as Express's parsers read it). */
export function bodyLimitBytes(limit: string): number {
  const found = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(limit.trim());
  if (!found) return 0;
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[
    (found[2] ?? "b").toLowerCase() as "b"
  ];
  return Math.floor(Number(found[1]) * unit);
}

/**
 * Middleware: the body the contract dispatcher read before handing the request over, parsed as
 * Express's JSON parser would have (a leading byte order mark dropped; an object or array only,
 * else the same 400 `entity.parse.failed`). The dispatcher reads only UTF-8 JSON bodies.
 */
function bodyReadFirst(): RequestHandler {
  return (req, _res, next) => {
    const raw = bodyReadByDispatcher(req);
    if (raw === undefined) return next();
    const text = raw.toString("utf8").replace(/^\uFEFF/, "");
    const first = text.trimStart().charAt(0);
    try {
      if (first !== "{" && first !== "[") throw new SyntaxError("not a JSON object or array");
      req.body = JSON.parse(text);
      next();
    } catch (err) {
      next(Object.assign(err as Error, { status: 400, type: "entity.parse.failed" }));
    }
  };
}

/**
 * Creates the app of a service: the Express app, with the contract dispatcher in front of it
 * for every request that reaches it as a `node:http` listener (`listen`, `createHttpServer`,
 * supertest). Mounted inside another Express app, it is the Express app alone.
 * @throws Error at start-up when the handler map does not match the contract.
 */
export function createApp<Ops>(options: AppOptions<Ops>): express.Express {
  assertHandlersMatch(options.contract, options.handlers);
  const app = express();
  app.disable("x-powered-by");
  // No ETag of Express's own: it would answer 304 for operations whose contract declares none
  // (handlers that support conditional requests set their ETag themselves).
  app.set("etag", false);
  matchContractPathsExactly(app);

  const observe = [requestId(), accessLogger(options.logger), recordRequestMetrics()] as const;
  app.use(
    unlessObserved(observe[0]),
    traceRequests(),
    unlessObserved(observe[1]),
    unlessObserved(observe[2]),
  );
  const limit = options.bodyLimit ?? "1mb";
  app.use(bodyReadFirst());
  app.use(express.json({ limit, type: ["application/json", "application/*+json"] }));
  app.use(express.urlencoded({ limit, extended: false }));
  app.use(healthRoutes(options.readiness), metricsRoutes());
  app.use(
    headAsGet(),
    contractValidator({
      contract: options.contract,
      verifyToken: options.verifyToken,
      verifyApiKey: options.verifyApiKey,
      validateResponses: options.validateResponses,
    }),
    rejectNulCharacters(),
  );

  const dispatch: RequestHandler = async (req, res, next) => {
    const r = req as OpenApiRequest;
    const operationId = r.openapi?.schema?.operationId;
    const handler = operationId
      ? (options.handlers as Record<string, (i: HandlerInput<unknown>) => Promise<unknown>>)[
          operationId
        ]
      : undefined;
    if (!handler) return next(new HttpProblem(404, "No operation matches this request."));
    try {
      // In the request's trace context, so events it enqueues carry its traceparent.
      const result = (await inRequestContext(req, () =>
        withRequestOrigin(req, r.id as string, () =>
          handler({
            path: (r.openapi?.pathParams ?? req.params) as never,
            query: req.query as never,
            body: req.body as never,
            headers: req.headers,
            principal: r.principal,
            requestId: r.id as string,
            get log() {
              return requestLog(req, options.logger);
            },
          }),
        ),
      )) as { status: number; body?: unknown; headers?: Record<string, string> };
      res.status(result.status);
      for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
      if (result.body === undefined) {
        res.end();
        return;
      }
      if (result.status >= 400) res.type(PROBLEM_CONTENT_TYPE);
      res.json(result.body);
    } catch (err) {
      next(err);
    }
  };
  app.use(dispatch);
  const renderProblem = problemErrorHandler(options.logger);
  app.use(renderProblem);

  if (options.fastLane === false) return app;
  const handle = (app as unknown as { handle: ExpressHandle }).handle.bind(app);
  const dispatcher = createContractDispatcher({
    contract: options.contract,
    handlers: options.handlers as Record<string, (i: HandlerInput<unknown>) => Promise<unknown>>,
    verifyToken: options.verifyToken,
    verifyApiKey: options.verifyApiKey,
    logger: options.logger,
    validateResponses: options.validateResponses,
    bodyLimitBytes: bodyLimitBytes(limit),
    observe: (req, res) => {
      for (const step of observe) step(req as Request, res as Response, noop);
    },
    renderError: (err, req, res) => renderProblem(err, req as Request, res as Response, noop),
    fallback: (req, res) => handle(req, res),
  });
  // Express calls `app.handle` for every request it is given as a listener (with no `next`).
  (app as unknown as { handle: ExpressHandle }).handle = (req, res, next) =>
    next ? handle(req, res, next) : dispatcher(req, res);
  return app;
}

/** Express's `app.handle(req, res, next?)`. */
type ExpressHandle = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (err?: unknown) => void,
) => void;

function noop(): void {}

interface ValidatorError {
  status?: number;
  path?: string;
  message?: string;
  headers?: Record<string, string>;
  errors?: { path?: string; message?: string }[];
  type?: string;
}

const BODY_PARSER_ERRORS: Record<string, [number, string]> = {
  "entity.parse.failed": [400, "The request body is not valid JSON."],
  "entity.too.large": [413, "The request body is too large."],
  "encoding.unsupported": [415, "The request body's content encoding is not supported."],
  "charset.unsupported": [415, "The request body's charset is not supported."],
  "entity.verify.failed": [400, "The request body could not be verified."],
  "request.aborted": [400, "The request was aborted."],
};

/**
 * Converts any error into an RFC 9457 Problem Details body. Validation errors list each invalid
 * field; unexpected errors become a 500 whose detail reveals nothing internal.
 */
export function toProblem(err: unknown): { problem: HttpProblem; unexpected: boolean } {
  if (err instanceof HttpProblem) return { problem: err, unexpected: false };
  const e = (err ?? {}) as ValidatorError;
  const parser = e.type ? BODY_PARSER_ERRORS[e.type] : undefined;
  if (parser) {
    const errors: FieldError[] | undefined =
      parser[0] === 400 ? [{ location: "body", field: "", message: parser[1] }] : undefined;
    return {
      problem: new HttpProblem(parser[0], parser[1], errors ? { errors } : {}),
      unexpected: false,
    };
  }
  const status = typeof e.status === "number" ? e.status : 500;
  // No Content-Type where the operation requires a body: the validator calls it "unsupported
  // media type undefined" (415), but the body is missing, a 400 naming it (found by Schemathesis).
  if (status === 415 && /media type (not specified|undefined)/.test(e.message ?? "")) {
    const message = "is required, with a Content-Type header";
    return {
      problem: new HttpProblem(400, `The request body ${message}.`, {
        errors: [{ location: "body", field: "", message }],
      }),
      unexpected: false,
    };
  }
  if (status >= 400 && status < 500) {
    const errors = status === 400 ? (e.errors ?? []).map(toFieldError) : undefined;
    const detail =
      status === 400 && errors?.length
        ? `Invalid request: ${errors.map((f) => `${f.location}${f.field ? `.${f.field}` : ""} ${f.message}`).join("; ")}`
        : capitalise(e.message ?? "");
    return {
      problem: new HttpProblem(status, detail || undefined, {
        ...(errors ? { errors } : {}),
        // The validator rebuilds auth errors without their headers; every 401 needs the
        // WWW-Authenticate challenge (RFC 9110 section 15.5.2, RFC 6750 section 3).
        headers: status === 401 ? { ...unauthorized().headers, ...e.headers } : (e.headers ?? {}),
      }),
      unexpected: false,
    };
  }
  // Response validation: a body failing its schema (`/response…`), a missing or unexpected
  // body (path `/response`), or a status the operation does not declare.
  const breaksContract =
    e.path === "/response" ||
    /^\/response\b|response\/|^no schema defined for status code/.test(e.message ?? "");
  const detail = breaksContract
    ? "The service produced a response that breaks its contract."
    : "An unexpected error occurred.";
  return { problem: new HttpProblem(status >= 500 ? status : 500, detail), unexpected: true };
}

function toFieldError(e: { path?: string; message?: string }): FieldError {
  return { ...fieldFromPath(e.path), message: e.message ?? "is invalid" };
}

function capitalise(s: string): string {
  return s ? `${s[0]?.toUpperCase()}${s.slice(1)}${s.endsWith(".") ? "" : "."}` : s;
}

/** Express error middleware that renders every error as `application/problem+json`. */
export function problemErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const { problem, unexpected } = toProblem(err);
    if (unexpected) requestLog(req, logger).error({ err }, "request failed");
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendProblem(res, problem, req.originalUrl ?? req.url, (req as OpenApiRequest).id as string);
  };
}

/**
 * Writes `problem` as the whole response: its status, its headers, `Content-Type:
 * application/problem+json` and the RFC 9457 body. Works on a bare `node:http` response.
 * @param url the request URL; its path (query dropped) becomes the Problem's `instance`.
 * @param requestId the request's id, echoed as the Problem's `requestId`.
 */
export function sendProblem(
  res: ServerResponse,
  problem: HttpProblem,
  url: string | undefined,
  requestId: string | undefined,
): void {
  const body: ProblemBody = problem.toBody((url ?? "/").split("?")[0], requestId);
  const json = JSON.stringify(body);
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  res.statusCode = problem.status;
  res.setHeader("Content-Type", `${PROBLEM_CONTENT_TYPE}; charset=utf-8`);
  res.setHeader("Content-Length", Buffer.byteLength(json));
  res.end(json);
}
