/**
 * The reference pipeline: the Express app every answer of the gateway is defined by (the fast
 * lane only ever takes requests this pipeline would accept, and must answer them the same way).
 * Paths match exactly and queries are parsed flat, as in every service (kit routing.ts).
 * In order: the event stream's query token checked and moved into a header → request id →
 * trace span and metrics → access log → security headers and CORS → health and `/metrics` →
 * `/openapi.json` and `/docs` → deadline and rate limit → raw body (read once) → contract
 * validation (express-openapi-validator through the kit: 404/405, 401/403, 400/415) → the query
 * token's own 400 → deadline guard → the gateway's own operations → declared caches → proxy to
 * the owner → Problem Details.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  accessLogger,
  contractValidator,
  headAsGet,
  type Logger,
  matchContractPathsExactly,
  problemErrorHandler,
  requestId,
  type TokenVerifier,
  traceRequests,
} from "@portico/kit/core";
import express, { type Express, type RequestHandler } from "express";
import { referenceRoutes } from "../docs/reference.js";
import type { Edge } from "../edge/edge.js";
import { gatewayMetricsRoutes, recordGatewayMetrics } from "../observability/metrics.js";
import type { OperationTable } from "../operations/table.js";
import { forwardToOwner } from "../upstreams/proxy.js";
import { healthRoutes } from "../upstreams/readiness.js";
import type { Upstreams } from "../upstreams/upstreams.js";
import { bodyReader } from "./body.js";
import { localOperations } from "./local-operations.js";
import { queryTokenForOperation } from "./query-token.js";

/** A middleware on bare `node:http` objects (also a fast-lane step). */
type Step = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/** What the reference pipeline is assembled from. */
export interface ReferencePipelineParts {
  table: OperationTable;
  /** The public document (with its `x-portico-*` extensions: the validator ignores them). */
  contract: Record<string, unknown>;
  publicUrl: string;
  jwksUrls: readonly string[];
  edge: Edge;
  verifyToken: TokenVerifier;
  upstreams: Upstreams;
  /** The handler of each gateway-local operation, by operationId. */
  localHandlers: Readonly<Record<string, RequestHandler>>;
  /** The operation whose bearer token may come as `?access_token=` (the event stream). */
  queryTokenOperation: string;
  /** The declared caches (events/http-cache.ts). */
  caches: Step;
  logger: Logger;
}

/** The reference pipeline and its Problem renderer (the fast lane renders with the same). */
export interface ReferencePipeline {
  app: Express;
  renderProblem: ReturnType<typeof problemErrorHandler>;
}

/** Assembles the reference pipeline (see the module comment). */
export function referencePipeline(parts: ReferencePipelineParts): ReferencePipeline {
  const { table, edge, upstreams, logger } = parts;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false); // 304s only where the contract declares them (the upstream's own)
  matchContractPathsExactly(app); // exact paths, flat query parser (kit routing.ts)
  app.set("trust proxy", edge.trustProxy);
  // Before anything logs the URL: `GET /events?access_token=` becomes the Authorization header.
  const queryToken = queryTokenForOperation(table, parts.contract, parts.queryTokenOperation);
  app.use(queryToken.take);
  app.use(requestId(), traceRequests(), recordGatewayMetrics(table), accessLogger(logger));
  app.use(headAsGet()); // after what records the method: HEAD is answered as GET, bodiless
  app.use(edge.securityHeaders, ...(edge.cors ? [edge.cors] : []));
  app.use(
    healthRoutes(
      [...upstreams.pools.values()],
      parts.jwksUrls,
      upstreams.firstRound,
      undefined,
      upstreams.resiliences,
    ),
  );
  app.use(gatewayMetricsRoutes());
  app.use(referenceRoutes(parts.contract, parts.publicUrl));
  app.use(edge.deadline as RequestHandler, ...(edge.rateLimit ? [edge.rateLimit] : []));
  app.use(bodyReader());
  app.use(
    contractValidator({
      // The gateway serves the public API at its root, whatever `servers` the bundle lists.
      contract: { ...parts.contract, servers: [{ url: "/" }] },
      verifyToken: parts.verifyToken,
      verifyApiKey: edge.verifyApiKey,
      validateResponses: false,
    }),
  );
  app.use(queryToken.refuse); // the parameter the validator no longer sees, judged as it would
  app.use(edge.guard);
  app.use(localOperations(table, parts.localHandlers));
  app.use(parts.caches);
  app.use(forwardToOwner(table, upstreams.proxies));
  const renderProblem = problemErrorHandler(logger);
  app.use(renderProblem);
  return { app, renderProblem };
}
