/**
 * The gateway, assembled from the public contract: the operation table (operations/) read once,
 * the edge protection (edge/), the upstreams with their resilience (upstreams/), the event-fed
 * side declared in the contracts (events/: feeds for `GET /events`, event-invalidated caches),
 * and the two ways a request can take — the reference pipeline (pipeline/reference-pipeline.ts,
 * Express + express-openapi-validator) and its compiled twin, the fast lane
 * (pipeline/fast-lane.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { loadContract } from "@portico/contracts";
import {
  type BackgroundNats,
  createTokenVerifier,
  type Logger,
  type TokenVerifier,
} from "@portico/kit/core";
import type { Express } from "express";
import proxyAddr from "proxy-addr";
import type { GatewayConfig } from "./config.js";
import { createEdge, type EdgeConfig } from "./edge/edge.js";
import { failoverJwks } from "./edge/jwks.js";
import { securityHeaderList } from "./edge/security-headers.js";
import { createEventStreams, STREAM_EVENTS_OPERATION } from "./events/events-stream.js";
import { declaredCaches } from "./events/http-cache.js";
import { type LiveUpdates, startLiveUpdates } from "./events/live-updates.js";
import {
  fastLaneRequests,
  gatewayRequestObserver,
  sseConnections,
} from "./observability/metrics.js";
import { compileOperationTable, type OperationTable } from "./operations/table.js";
import { DEFAULT_BODY_LIMIT_BYTES } from "./pipeline/body.js";
import { createFastLane, type LaneStep } from "./pipeline/fast-lane.js";
import { referencePipeline } from "./pipeline/reference-pipeline.js";
import { compileValidatorRoutesOnce } from "./pipeline/validator-route-cache.js";
import type { ResilienceConfig } from "./upstreams/resilience.js";
import type { UpstreamPool } from "./upstreams/upstream-pool.js";
import { createUpstreams } from "./upstreams/upstreams.js";

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
    // The declared caches and the event stream (events/live-config.ts): defaults where absent.
    Partial<Pick<GatewayConfig, "CACHE_MAX_ENTRIES" | "CACHE_MAX_BYTES" | "SSE_HEARTBEAT_MS">>;
  logger: Logger;
  /** The public document; defaults to `loadContract("public")`. Not mutated. */
  contract?: Record<string, unknown>;
  /** Token verification; defaults to the JWK Set at `config.JWKS_URL` (first that answers). */
  verifyToken?: TokenVerifier;
  /** Whether the fast lane takes what it can (default true; off: every request takes the
   * reference pipeline, e.g. to compare the two). */
  fastLane?: boolean;
}

/** A built gateway. */
export interface Gateway {
  /**
   * What the HTTP server runs: the fast lane for valid requests to proxied operations, the
   * reference pipeline for everything else.
   */
  listener: (req: IncomingMessage, res: ServerResponse) => void;
  /** The reference pipeline alone (every request the fast lane does not take). */
  app: Express;
  table: OperationTable;
  /** The instances of each upstream service and their health, by service name. */
  pools: ReadonlyMap<string, UpstreamPool>;
  /** The NATS connection (background; API keys, shared rate limits), when `NATS_URL` is set. */
  nats: BackgroundNats | undefined;
  /** The event feeds and the declared caches, fed from NATS (`ready` once they run). */
  live: LiveUpdates;
  /** Ends every open `GET /events` stream: call when shutdown begins (they hold the server). */
  endStreams: () => void;
  /** Stops the health checks, the event-fed side and the upstream keep-alive connections; call
   * after the HTTP server stopped. */
  close: () => Promise<void>;
}

/**
 * Builds the gateway from its configuration.
 * @throws Error at start-up when the contract's `x-portico-*` declarations are invalid or a
 *   service of the contract has no valid upstream URL.
 */
export function createGateway(options: GatewayOptions): Gateway {
  const { config, logger } = options;
  compileValidatorRoutesOnce(); // the validator's route templates: compiled once, not per request
  const contract = options.contract ?? loadContract("public");
  const table = compileOperationTable(contract, config.upstreams);
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
  const upstreams = createUpstreams(table, config, logger);
  const live = startLiveUpdates({
    table,
    nats: edge.nats?.ready,
    log: logger,
    cache: { maxEntries: config.CACHE_MAX_ENTRIES, maxBytes: config.CACHE_MAX_BYTES },
  });
  const caches = declaredCaches(table, live.cache);
  const streams = createEventStreams({
    feeds: live.feeds,
    log: logger,
    heartbeatMs: config.SSE_HEARTBEAT_MS,
    connections: sseConnections,
  });
  const { app, renderProblem } = referencePipeline({
    table,
    contract,
    publicUrl: config.PUBLIC_URL,
    jwksUrls: config.JWKS_URL,
    edge,
    verifyToken,
    upstreams,
    localHandlers: { [STREAM_EVENTS_OPERATION]: streams.handler },
    queryTokenOperation: STREAM_EVENTS_OPERATION,
    caches,
    logger,
  });
  const lanes =
    options.fastLane === false
      ? (req: IncomingMessage, res: ServerResponse) => {
          fullCount.inc();
          app(req, res);
        }
      : createFastLane({
          table,
          proxies: upstreams.proxies,
          verifyToken,
          verifyApiKey: edge.verifyApiKey,
          bodyLimitBytes: DEFAULT_BODY_LIMIT_BYTES,
          deadline: edge.deadline,
          constantHeaders: securityHeaderList(),
          observe: gatewayRequestObserver(table),
          steps: [
            ...((edge.cors ? [edge.cors] : []) as LaneStep[]),
            ...((edge.rateLimit ? [edge.rateLimit] : []) as LaneStep[]),
            caches,
          ],
          renderProblem: renderProblem as never,
          logger,
          fallback: app,
          onLane: countLane,
        });

  return {
    listener: lanes,
    app,
    table,
    pools: upstreams.pools,
    nats: edge.nats,
    live,
    endStreams: () => streams.endAll(),
    close: async () => {
      streams.endAll();
      await live.close();
      upstreams.close();
      await edge.close();
    },
  };
}

const fastCount = fastLaneRequests.labels("fast");
const fullCount = fastLaneRequests.labels("full");

/** Counts the way a request took (`true`: the fast lane). */
function countLane(fast: boolean): void {
  (fast ? fastCount : fullCount).inc();
}
