/**
 * The gateway app. Pipeline: request id → trace span and metrics → access log → health and
 * `/metrics` → API reference → raw body (read once) → contract validation (route 404/405, bearer
 * auth 401/403, request 400/415) → proxy to an instance of the operation's owner, through the
 * service's retry and circuit-breaker policies → Problem Details for every error. Invalid requests
 * never reach an upstream. Each upstream's instances are health-checked in the background.
 * The gateway's own operations (`x-portico-service: gateway`: `GET /events`) are served locally
 * after validation, and `getProduct` answers come from an event-invalidated cache when it holds
 * them (live-updates.ts).
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import { loadContract } from "@portico/contracts";
import {
  type BackgroundNats,
  contractValidator,
  createTokenVerifier,
  httpLogger,
  type Logger,
  problemErrorHandler,
  requestId,
  type TokenVerifier,
  traceRequests,
} from "@portico/kit/core";
import express, { type Express } from "express";
import proxyAddr from "proxy-addr";
import { bodyReader, DEFAULT_BODY_LIMIT_BYTES } from "./body.js";
import type { GatewayConfig } from "./config.js";
import { createEdge, type EdgeConfig } from "./edge.js";
import { createEventStreams, STREAM_EVENTS_OPERATION } from "./events-stream.js";
import { createFastLane, type LaneStep } from "./fast-lane.js";
import { startHealthChecks } from "./health-checks.js";
import { failoverJwks } from "./jwks.js";
import { type LiveUpdates, startLiveUpdates } from "./live-updates.js";
import { localOperations } from "./local-routes.js";
import {
  breakerRejections,
  fastLaneRequests,
  gatewayMetricsRoutes,
  recordGatewayMetrics,
  sseConnections,
  trackBreaker,
  upstreamRetries,
} from "./metrics.js";
import { compileOperationMatcher } from "./operation-matcher.js";
import { cacheProductReads } from "./product-cache.js";
import { createUpstreamProxy, forwardToOwner, type ProxyHandler } from "./proxy.js";
import { queryTokenForOperation } from "./query-token.js";
import { healthRoutes } from "./readiness.js";
import { referenceRoutes } from "./reference.js";
import { compileRequestChecks } from "./request-checks.js";
import {
  createUpstreamResilience,
  operationTimeoutOf,
  operationTimeouts,
  type ResilienceConfig,
  resilienceSettings,
} from "./resilience.js";
import { compileRouteTable, LOCAL_SERVICE, type RouteTable } from "./routes.js";
import { precomputedSecurityHeaders } from "./security-headers.js";
import { type StateChange, UpstreamPool } from "./upstream-pool.js";
import { compileValidatorRoutesOnce } from "./validator-route-cache.js";

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  config: Pick<
    GatewayConfig,
    | "JWKS_URL"
    | "JWT_ISSUER"
    | "JWT_AUDIENCE"
    | "PUBLIC_URL"
    | "UPSTREAM_TIMEOUT_MS"
    | "UPSTREAM_HEALTH_INTERVAL_MS"
    | "UPSTREAM_HEALTH_TIMEOUT_MS"
    | "UPSTREAM_UNHEALTHY_AFTER"
    | "UPSTREAM_HEALTHY_AFTER"
    | "upstreams"
  > &
    ResilienceConfig &
    // Edge protection (rate limits, timeout, CORS, NATS, ...): defaults where absent.
    Partial<EdgeConfig> &
    // The product cache and the event stream (live-config.ts): defaults where absent.
    Partial<Pick<GatewayConfig, "CACHE_MAX_ENTRIES" | "CACHE_MAX_BYTES" | "SSE_HEARTBEAT_MS">>;
  logger: Logger;
  /** The public document; defaults to `loadContract("public")`. Not mutated. */
  contract?: Record<string, unknown>;
  /** Token verification; defaults to the JWK Set at `config.JWKS_URL` (first that answers). */
  verifyToken?: TokenVerifier;
}

/** A built gateway. */
export interface Gateway {
  /**
   * What the HTTP server runs: the fast lane (fast-lane.ts) for valid requests to proxied
   * operations, the Express app for everything else.
   */
  listener: (req: IncomingMessage, res: ServerResponse) => void;
  /** The Express app alone (every request the fast lane does not take). */
  app: Express;
  routes: RouteTable;
  /** The instances of each upstream service and their health, by service name. */
  pools: ReadonlyMap<string, UpstreamPool>;
  /** The NATS connection (background; API keys, shared rate limits), when `NATS_URL` is set. */
  nats: BackgroundNats | undefined;
  /** The notification feed and the product cache, fed from NATS (`ready` once they run). */
  live: LiveUpdates;
  /** Ends every open `GET /events` stream: call when shutdown begins (they hold the server). */
  endStreams: () => void;
  /** Stops the health checks and closes the upstream keep-alive connections; call after the
   * HTTP server stopped. */
  close: () => Promise<void>;
}

/**
 * Builds the gateway from its configuration.
 * @throws Error at start-up when a service of the contract has no valid upstream URL.
 */
export function createGateway(options: GatewayOptions): Gateway {
  const { config, logger } = options;
  compileValidatorRoutesOnce(); // the validator's route templates: compiled once, not per request
  const contract = options.contract ?? loadContract("public");
  const routes = compileRouteTable(contract, config.upstreams);
  const verifyToken =
    options.verifyToken ??
    createTokenVerifier({
      jwks: failoverJwks(config.JWKS_URL),
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
    });
  // Express's compiled `trust proxy` rule, for requests of the fast lane (no `req.ip` there).
  const clientAddress = (req: IncomingMessage) =>
    app.get("trust proxy") === false
      ? req.socket.remoteAddress
      : proxyAddr(req, app.get("trust proxy fn"));
  const edge = createEdge({ config, logger, verifyToken, clientAddress });

  const logStateChange = ({ instance, from, to, cause }: StateChange) => {
    const fields = { service: instance.service, instance: instance.url.href, from, to, cause };
    if (to === "healthy") logger.info(fields, "upstream instance is healthy");
    else logger.warn({ ...fields, reason: instance.reason }, "upstream instance is down");
  };
  const thresholds = {
    unhealthyAfter: config.UPSTREAM_UNHEALTHY_AFTER,
    healthyAfter: config.UPSTREAM_HEALTHY_AFTER,
  };
  const pools = new Map(
    [...routes.upstreams].map(([service, urls]) => [
      service,
      new UpstreamPool(service, urls, thresholds, logStateChange),
    ]),
  );
  const checks = startHealthChecks([...pools.values()], {
    intervalMs: config.UPSTREAM_HEALTH_INTERVAL_MS,
    timeoutMs: config.UPSTREAM_HEALTH_TIMEOUT_MS,
  });
  // A downed instance can come back after this many seconds at the earliest.
  const retryAfterSeconds = Math.max(
    1,
    Math.ceil((config.UPSTREAM_HEALTH_INTERVAL_MS * config.UPSTREAM_HEALTHY_AFTER) / 1000),
  );
  // Retries and a circuit breaker per service; per-operation timeouts from the contract.
  const settings = resilienceSettings(config);
  const timeoutFor = operationTimeoutOf(operationTimeouts(contract));
  const resiliences = new Map(
    [...pools.keys()].map((service) => [service, createUpstreamResilience(service, settings)]),
  );
  const untrackBreakers = [...resiliences].map(([service, resilience]) => {
    resilience.onStateChange((state) => {
      const fields = { service, breaker: state };
      if (state === "open") logger.warn(fields, "circuit breaker opened: failing fast");
      else logger.info(fields, `circuit breaker ${state}`);
    });
    return trackBreaker(service, resilience.state);
  });
  const upstreams = [...pools].map(
    ([service, pool]) =>
      [
        service,
        createUpstreamProxy({
          pool,
          timeoutMs: config.UPSTREAM_TIMEOUT_MS,
          retryAfterSeconds,
          resilience: resiliences.get(service),
          timeoutFor,
          onRetry: () => upstreamRetries.inc({ upstream: service }),
          onBreakerRejection: () => breakerRejections.inc({ upstream: service }),
          logger,
        }),
      ] as const,
  );
  const proxies = new Map<string, ProxyHandler>(
    upstreams.map(([service, proxy]) => [service, proxy.handler]),
  );
  // The event-fed side, on the edge's NATS connection: GET /events and the product cache.
  const live = startLiveUpdates({
    nats: edge.nats?.ready,
    log: logger,
    cache: { maxEntries: config.CACHE_MAX_ENTRIES, maxBytes: config.CACHE_MAX_BYTES },
  });
  const productCache = cacheProductReads(live.cache);
  const streams = createEventStreams({
    feed: live.feed,
    log: logger,
    heartbeatMs: config.SSE_HEARTBEAT_MS,
    connections: sseConnections,
  });

  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false); // 304s only where the contract declares them (the upstream's own)
  app.set("query parser", "extended");
  app.set("trust proxy", edge.trustProxy);
  // Before anything logs the URL: `GET /events?access_token=` becomes the Authorization header.
  app.use(queryTokenForOperation(routes, STREAM_EVENTS_OPERATION));
  app.use(requestId(), traceRequests(), recordGatewayMetrics(routes), httpLogger(logger));
  app.use(edge.headers);
  app.use(
    healthRoutes([...pools.values()], config.JWKS_URL, checks.firstRound, undefined, resiliences),
  );
  app.use(gatewayMetricsRoutes());
  app.use(referenceRoutes(contract, config.PUBLIC_URL));
  app.use(edge.limits);
  app.use(bodyReader());
  app.use(
    contractValidator({
      // The gateway serves the public API at its root, whatever `servers` the bundle lists.
      contract: { ...contract, servers: [{ url: "/" }] },
      verifyToken,
      verifyApiKey: edge.verifyApiKey,
      validateResponses: false,
    }),
  );
  app.use(edge.guard);
  app.use(localOperations(routes, { [STREAM_EVENTS_OPERATION]: streams.handler }));
  app.use(productCache);
  app.use(forwardToOwner(routes, proxies));
  const renderProblem = problemErrorHandler(logger);
  app.use(renderProblem);

  // The same pipeline for the requests the fast lane takes, as steps compiled once.
  const fastLaneCount = fastLaneRequests.labels("fast");
  const fullPipelineCount = fastLaneRequests.labels("full");
  const listener = createFastLane({
    match: compileOperationMatcher(routes),
    checks: compileRequestChecks(
      contract,
      routes.routes.filter((route) => route.service !== LOCAL_SERVICE),
    ),
    proxies,
    verifyToken,
    verifyApiKey: edge.verifyApiKey,
    bodyLimitBytes: DEFAULT_BODY_LIMIT_BYTES,
    deadline: edge.deadline,
    steps: [
      recordGatewayMetrics(routes),
      precomputedSecurityHeaders(),
      ...((edge.cors ? [edge.cors] : []) as LaneStep[]),
      ...((edge.rateLimit ? [edge.rateLimit] : []) as LaneStep[]),
      productCache,
    ],
    renderProblem: renderProblem as never,
    logger,
    fallback: app,
    onLane: (fast) => (fast ? fastLaneCount : fullPipelineCount).inc(),
  });

  return {
    listener,
    app,
    routes,
    pools,
    nats: edge.nats,
    live,
    endStreams: () => streams.endAll(),
    close: async () => {
      streams.endAll();
      await live.close();
      checks.stop();
      for (const untrack of untrackBreakers) untrack();
      for (const [, proxy] of upstreams) proxy.close();
      await edge.close();
    },
  };
}
