/**
 * The gateway app. Pipeline: request id → access log → health → API reference → raw body (read
 * once) → contract validation (route 404/405, bearer auth 401/403, request 400/415) → proxy to the
 * operation's owner → Problem Details for every error. Invalid requests never reach an upstream.
 */
import { loadContract } from "@portico/contracts";
import {
  contractValidator,
  createTokenVerifier,
  healthRoutes,
  httpLogger,
  type Logger,
  problemErrorHandler,
  requestId,
  type TokenVerifier,
} from "@portico/kit";
import express, { type Express, type RequestHandler } from "express";
import { bodyReader } from "./body.js";
import type { GatewayConfig } from "./config.js";
import { createUpstreamProxy, forwardToOwner, type UpstreamProxy } from "./proxy.js";
import { gatewayReadiness } from "./readiness.js";
import { referenceRoutes } from "./reference.js";
import { compileRouteTable, type RouteTable } from "./routes.js";

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  config: Pick<
    GatewayConfig,
    "JWKS_URL" | "JWT_ISSUER" | "JWT_AUDIENCE" | "PUBLIC_URL" | "UPSTREAM_TIMEOUT_MS" | "upstreams"
  >;
  logger: Logger;
  /** The public document; defaults to `loadContract("public")`. Not mutated. */
  contract?: Record<string, unknown>;
  /** Token verification; defaults to the JWK Set at `config.JWKS_URL`. */
  verifyToken?: TokenVerifier;
}

/** A built gateway. */
export interface Gateway {
  app: Express;
  routes: RouteTable;
  /** Closes the upstream keep-alive connections; call after the HTTP server stopped. */
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
      jwks: config.JWKS_URL,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
    });

  const upstreams = new Map<string, UpstreamProxy>();
  for (const [service, target] of routes.upstreams) {
    upstreams.set(
      service,
      createUpstreamProxy({ service, target, timeoutMs: config.UPSTREAM_TIMEOUT_MS, logger }),
    );
  }
  const proxies = new Map<string, RequestHandler>(
    [...upstreams].map(([service, proxy]) => [service, proxy.handler]),
  );

  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "extended");
  app.use(requestId(), httpLogger(logger));
  app.use(healthRoutes(gatewayReadiness(routes.upstreams, config.JWKS_URL)));
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
    close: async () => {
      for (const { agent } of upstreams.values()) agent.destroy();
    },
  };
}
