/**
 * The gateway app. Pipeline: request id → access log → health → API reference → raw body (read
 * once) → contract validation (route 404/405, bearer auth 401/403, request 400/415) → proxy to an
 * instance of the operation's owner → Problem Details for every error. Invalid requests never
 * reach an upstream. Each upstream's instances are health-checked in the background.
 */
import { loadContract } from "@portico/contracts";
import {
  contractValidator,
  createTokenVerifier,
  httpLogger,
  type Logger,
  problemErrorHandler,
  requestId,
  type TokenVerifier,
} from "@portico/kit";
import express, { type Express, type RequestHandler } from "express";
import { bodyReader } from "./body.js";
import type { GatewayConfig } from "./config.js";
import { startHealthChecks } from "./health-checks.js";
import { failoverJwks } from "./jwks.js";
import { createUpstreamProxy, forwardToOwner } from "./proxy.js";
import { healthRoutes } from "./readiness.js";
import { referenceRoutes } from "./reference.js";
import { compileRouteTable, type RouteTable } from "./routes.js";
import { type StateChange, UpstreamPool } from "./upstream-pool.js";

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
  >;
  logger: Logger;
  /** The public document; defaults to `loadContract("public")`. Not mutated. */
  contract?: Record<string, unknown>;
  /** Token verification; defaults to the JWK Set at `config.JWKS_URL` (first that answers). */
  verifyToken?: TokenVerifier;
}

/** A built gateway. */
export interface Gateway {
  app: Express;
  routes: RouteTable;
  /** The instances of each upstream service and their health, by service name. */
  pools: ReadonlyMap<string, UpstreamPool>;
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
  const contract = options.contract ?? loadContract("public");
  const routes = compileRouteTable(contract, config.upstreams);
  const verifyToken =
    options.verifyToken ??
    createTokenVerifier({
      jwks: failoverJwks(config.JWKS_URL),
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
    });

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
  const upstreams = [...pools].map(
    ([service, pool]) =>
      [
        service,
        createUpstreamProxy({ pool, timeoutMs: config.UPSTREAM_TIMEOUT_MS, retryAfterSeconds }),
      ] as const,
  );
  const proxies = new Map<string, RequestHandler>(
    upstreams.map(([service, proxy]) => [service, proxy.handler]),
  );

  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "extended");
  app.use(requestId(), httpLogger(logger));
  app.use(healthRoutes([...pools.values()], config.JWKS_URL, checks.firstRound));
  app.use(referenceRoutes(contract, config.PUBLIC_URL));
  app.use(bodyReader());
  app.use(
    contractValidator({
      // The gateway serves the public API at its root, whatever `servers` the bundle lists.
      contract: { ...contract, servers: [{ url: "/" }] },
      verifyToken,
      validateResponses: false,
    }),
  );
  app.use(forwardToOwner(routes, proxies));
  app.use(problemErrorHandler(logger));

  return {
    app,
    routes,
    pools,
    close: async () => {
      checks.stop();
      for (const [, proxy] of upstreams) proxy.close();
    },
  };
}
