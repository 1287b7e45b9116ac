/**
 * The gateway's fast lane: the way a valid request to a proxied operation takes, on bare
 * `node:http` objects, ahead of the Express app. The benchmark's CPU profile (docs/benchmarks.md)
 * showed the Express pipeline costing several times a bare proxy hop; this lane does the same
 * work with what was compiled at start:
 *
 *   operation matched (the kit's operation matcher) → body read (bounded) → parameters and JSON body
 *   checked (the kit's request checks) → credentials verified (the kit's once-per-request checks, tokens
 *   cached) → request id, security headers, CORS, deadline, metrics, access log → rate limit →
 *   declared caches → proxy (upstreams/proxy.ts).
 *
 * What Node's HTTP layer does per response is kept to a minimum: the headers the gateway adds
 * (the security headers worked out at start, request id, rate limit, cache status) are written
 * with the upstream's in one `writeHead` (lane-response.ts), and one `close` listener per
 * response does the deadline's clear, the metrics, the access line and the proxy's clean-up.
 *
 * It only ever takes requests it is sure of. Anything else — no such operation, a gateway-local
 * one (`GET /events`), a preflight, a compressed or chunked body, a check that fails, credentials
 * that do not satisfy the operation, tracing turned on — goes to the Express app, which answers
 * exactly as before (404/405, 400 naming each field, 401/403, 413, 415). Nothing is counted or
 * logged twice: the lane hands over before its first side effect, passing on what it read (the
 * body, the credential checks' answers).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type ApiKeyVerifier,
  satisfiesSecurity as authorized,
  type Logger,
  logAccessLine,
  type OperationChecks,
  readBody,
  requestIdOf,
  securityHandlers,
  type TokenVerifier,
  tracingEnabled,
} from "@portico/kit/core";
import type { RequestDeadline } from "../edge/request-timeout.js";
import type { Operation, OperationTable } from "../operations/table.js";
import { exchangeClosed, type ProxyHandler, watchesClose } from "../upstreams/proxy.js";
import type { RawBodyRequest } from "./body.js";
import { addResponseHeader, collectLaneHeaders } from "./lane-response.js";

/** One step of the lane: a connect-style middleware on bare `node:http` objects. */
export type LaneStep = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void;

/** Renders an error as the response (a Problem), as the app's error middleware does. */
export type ProblemRenderer = (
  err: unknown,
  req: IncomingMessage,
  res: ServerResponse,
  next: () => void,
) => void;

/** Options of {@link createFastLane}. */
export interface FastLaneOptions {
  /** The operation table: its matcher, and each operation's compiled checks (operations
   * without are never taken). */
  table: OperationTable;
  /** The proxy of each upstream service. */
  proxies: ReadonlyMap<string, ProxyHandler>;
  verifyToken: TokenVerifier;
  verifyApiKey: ApiKeyVerifier;
  /** Largest body taken, in bytes (a larger or unsized one goes to the app: 413 there). */
  bodyLimitBytes: number;
  /** Run once the request is taken, in order, before the proxy (CORS, limits, cache, ...). */
  steps: readonly LaneStep[];
  /**
   * Response headers every answer of the lane carries (the security headers), a flat
   * `[name, value, ...]` list written with the response's head (lane-response.ts).
   */
  constantHeaders: readonly string[];
  /** Counts and times a request whose response closed (`seconds` since it arrived). */
  observe: (req: IncomingMessage, res: ServerResponse, seconds: number) => void;
  /** The whole-request deadline, started when the lane considers a request (the app keeps it). */
  deadline: RequestDeadline;
  renderProblem: ProblemRenderer;
  logger: Logger;
  /** Where every request the lane does not take goes: the Express app. */
  fallback: (req: IncomingMessage, res: ServerResponse) => void;
  /** Told which way each request took (`true`: this lane), e.g. to count it. */
  onLane?: (fast: boolean) => void;
}

/** What express-openapi-validator sets on a matched request, which later steps read. */
interface MatchedRequest extends RawBodyRequest {
  openapi?: {
    openApiRoute: string;
    expressRoute: string;
    schema: { operationId: string };
    pathParams: Record<string, string>;
  };
}

const EMPTY = Buffer.alloc(0);

/** What the lane keeps about a request it took, read when its response closes. */
interface Taken {
  /** `performance.now()` at the arrival. */
  started: number;
  /** The method as received (HEAD continues as GET). */
  method: string | undefined;
  /** The path, without the query. */
  path: string;
  /** The deadline's timer. */
  timer: NodeJS.Timeout;
}

const TAKEN = Symbol("portico.fastLane");

type TakenResponse = ServerResponse & { [TAKEN]?: Taken };

/** What the lane found for a request it may take (kept on the response once taken). */
interface Candidate extends Taken {
  route: Operation;
  pathParams: Record<string, string>;
  /** The query string without `?`. */
  query: string;
  operation: OperationChecks;
  proxy: ProxyHandler;
}

/**
 * Builds the fast lane: a `node:http` request listener that takes what it can (see the module
 * comment) and hands everything else to `options.fallback`.
 */
export function createFastLane(
  options: FastLaneOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { table, proxies, bodyLimitBytes } = options;
  const match = table.match;
  const schemes = securityHandlers({
    verifyToken: options.verifyToken,
    verifyApiKey: options.verifyApiKey,
  });
  const onLane = options.onLane ?? noop;
  const { logger, observe, constantHeaders } = options;
  const fallback = (req: IncomingMessage, res: ServerResponse) => {
    onLane(false);
    options.fallback(req, res);
  };
  /** Hands over a request whose deadline the lane started: it ends with the response. */
  const handOver = (req: IncomingMessage, res: ServerResponse, timer: NodeJS.Timeout) => {
    res.once("close", () => clearTimeout(timer));
    fallback(req, res);
  };
  /**
   * The one `close` listener of a response the lane took (`this`: the response; `close`
   * follows `finish`, or comes alone when the client left): the deadline cleared, the metrics,
   * the access line (the kit's, as the reference pipeline logs it) and the proxy's exchange.
   */
  function closed(this: TakenResponse): void {
    const taken = this[TAKEN] as Taken;
    const req = this.req;
    clearTimeout(taken.timer);
    const ms = performance.now() - taken.started;
    observe(req, this, ms / 1000);
    logAccessLine(logger, req, this, taken.method, taken.path, ms);
    exchangeClosed(this);
  }

  /** Runs the steps, then the proxy; an error from any of them is rendered as a Problem. */
  const forward = (req: MatchedRequest, res: ServerResponse, proxy: ProxyHandler) => {
    const steps = options.steps;
    let index = 0;
    // One callback for the steps and the proxy: an error is rendered as a Problem; the proxy
    // only ever calls it with one.
    const next = (err?: unknown): void => {
      if (err !== undefined) options.renderProblem(err, req, res, noop);
      // A step may have answered already (a cache hit, the deadline): nothing more to do then.
      else if (index <= steps.length && !res.writableEnded) {
        const step = steps[index++];
        if (step) step(req, res, next);
        else proxy(req, res, next);
      }
    };
    onLane(true);
    const id = requestIdOf(req);
    req.id = id;
    collectLaneHeaders(res, constantHeaders);
    addResponseHeader(res, "X-Request-Id", id);
    next();
  };

  /** Takes the request once its body is read, or hands it to the app. */
  const decide = (req: MatchedRequest, res: ServerResponse, found: Candidate, body: Buffer) => {
    const { route, pathParams, query, operation, proxy } = found;
    if (body.length > 0) req.rawBody = body;
    if (!operation.accepts({ pathParams, query, headers: req.headers, body })) {
      handOver(req, res, found.timer);
      return;
    }
    const take = () => {
      (res as TakenResponse)[TAKEN] = found;
      res.on("close", closed);
      watchesClose(res);
      if (req.method === "HEAD") req.method = "GET"; // as the app's headAsGet: Node drops the body
      req.openapi = {
        openApiRoute: route.template,
        expressRoute: route.template,
        schema: { operationId: route.operationId },
        pathParams,
      };
      forward(req, res, proxy);
    };
    if (operation.security.length === 0) {
      take();
      return;
    }
    authorized(req, operation.security, schemes).then(
      (ok) => (ok ? take() : handOver(req, res, found.timer)),
      () => handOver(req, res, found.timer),
    );
  };

  return (req: MatchedRequest, res) => {
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const mark = url.indexOf("?");
    const pathname = mark < 0 ? url : url.slice(0, mark);
    // HEAD is answered as GET without a body (RFC 9110 section 9.3.2), as the app does.
    const matched =
      method === "OPTIONS" || tracingEnabled()
        ? undefined
        : match(method === "HEAD" ? "GET" : method, pathname);
    const operation = matched?.route.checks;
    const proxy = matched && proxies.get(matched.route.service);
    const length = Number(req.headers["content-length"] ?? 0);
    if (
      !matched ||
      !operation ||
      !proxy ||
      req.headers["content-encoding"] !== undefined ||
      req.headers["transfer-encoding"] !== undefined ||
      !(length >= 0 && length <= bodyLimitBytes)
    ) {
      fallback(req, res);
      return;
    }
    const query = mark < 0 ? "" : url.slice(mark + 1);
    const found: Candidate = {
      route: matched.route,
      pathParams: matched.pathParams,
      query,
      operation,
      proxy,
      started: performance.now(),
      method,
      path: pathname,
      // The deadline from the arrival, a slow body included; the app keeps it if the request is
      // handed over.
      timer: options.deadline.start(req, res),
    };
    if (length === 0) decide(req, res, found, EMPTY);
    else readBody(req, length, (body) => decide(req, res, found, body));
  };
}

function noop(): void {}
