/**
 * The gateway's edge protection, assembled from its configuration (edge-config.ts): security
 * headers and CORS first (preflights end there), then the whole-request deadline and the
 * per-principal rate limit before the body is read, the API-key verifier for the contract's
 * `apiKeyAuth`, and a guard that keeps timed-out requests from being forwarded. Owns the optional
 * NATS connection, which the live side of the gateway shares.
 */

import type { IncomingMessage } from "node:http";
import {
  type ApiKeyVerifier,
  type BackgroundNats,
  type Logger,
  problemErrorHandler,
  type TokenVerifier,
} from "@portico/kit/core";
import type { RequestHandler } from "express";
import { z } from "zod";
import { rateLimitRejections } from "../observability/metrics.js";
import { gatewayApiKeyVerifier, identifyCaller } from "./auth.js";
import { corsMiddleware } from "./cors.js";
import { edgeConfigShape } from "./edge-config.js";
import { connectGatewayNats } from "./nats-connection.js";
import { createRateLimiter } from "./rate-limit.js";
import { NatsKvRateLimitStore, openRateLimitBucket } from "./rate-limit-store.js";
import { deadlineGuard, type RequestDeadline, requestDeadline } from "./request-timeout.js";
import { securityHeaders } from "./security-headers.js";

/** The edge variables, parsed. */
export type EdgeConfig = z.infer<z.ZodObject<typeof edgeConfigShape>>;

/** Options of {@link createEdge}. */
export interface EdgeOptions {
  /** Missing variables take their defaults. */
  config: Partial<EdgeConfig>;
  logger: Logger;
  /** The verifier the contract validator uses (the caller is identified with the same). */
  verifyToken: TokenVerifier;
  /** The client's address of a bare `node:http` request, for the rate limit (see rate-limit.ts). */
  clientAddress?: (req: IncomingMessage) => string | undefined;
}

/** The `principal` label of `portico_gateway_rate_limit_rejections_total` per kind of caller. */
const REJECTION_LABEL = { user: "user", apiKey: "api_key", anonymous: "ip" } as const;

/** The assembled edge protection. */
export interface Edge {
  /** The NATS connection (background), when `NATS_URL` is set. */
  nats: BackgroundNats | undefined;
  /** Verifies `X-API-Key` for the contract's `apiKeyAuth` (over NATS; 401 without it). */
  verifyApiKey: ApiKeyVerifier;
  /** Express's `trust proxy` setting (`TRUST_PROXY`), for `app.set`. */
  trustProxy: boolean | number | string;
  /** Security headers (the reference pipeline's; the fast lane sets the same, precomputed). */
  securityHeaders: RequestHandler;
  /** CORS, when origins are configured: right after the security headers, so preflights are
   * answered before any route. */
  cors: RequestHandler | undefined;
  /** The whole-request deadline: before the body is read; takes bare `node:http` objects. */
  deadline: RequestDeadline;
  /** The rate limit, when a limit is set: after the deadline, before the body is read. */
  rateLimit: RequestHandler | undefined;
  /** Right before forwarding: stops requests already answered with 504. */
  guard: RequestHandler;
  /** Shuts the rate-limit store down and drains NATS; call after the HTTP server stopped. */
  close: () => Promise<void>;
}

/** Builds the edge protection; connects to NATS in the background when it is configured. */
export function createEdge(options: EdgeOptions): Edge {
  const { logger, verifyToken } = options;
  const defined = Object.fromEntries(
    Object.entries(options.config).filter(([, value]) => value !== undefined),
  );
  const config: EdgeConfig = { ...z.object(edgeConfigShape).parse({}), ...defined };
  const nats = connectGatewayNats(config.NATS_URL, logger);
  const verifyApiKey = gatewayApiKeyVerifier(nats, { ttlMs: config.API_KEY_CACHE_TTL_MS, logger });

  const limiter = createRateLimiter({
    windowMs: config.RATE_LIMIT_WINDOW_MS,
    max: config.RATE_LIMIT_MAX,
    anonymousMax: config.RATE_LIMIT_ANONYMOUS_MAX,
    ...(config.RATE_LIMIT_STORE === "nats" && nats
      ? { store: new NatsKvRateLimitStore(sharedBucket(nats)) }
      : {}),
    identify: (req) => identifyCaller(req, verifyToken, verifyApiKey),
    logger,
    onLimited: (_req, caller) =>
      rateLimitRejections.inc({ principal: REJECTION_LABEL[caller.kind] }),
    ...(options.clientAddress ? { clientAddress: options.clientAddress } : {}),
  });
  const cors = corsMiddleware(config.CORS_ORIGINS);
  const deadline = requestDeadline(config.REQUEST_TIMEOUT_MS, problemErrorHandler(logger));

  return {
    nats,
    verifyApiKey,
    trustProxy: config.TRUST_PROXY,
    securityHeaders: securityHeaders(),
    cors,
    deadline,
    rateLimit: limiter?.handler,
    guard: deadlineGuard(),
    close: async () => {
      await limiter?.close();
      await nats?.close();
    },
  };
}

/**
 * Opens the shared rate-limit bucket once NATS is connected (once per window length; a failed
 * open is retried on the next request). Rejects while NATS is not connected, which lets the
 * request through unlimited (see `createRateLimiter`).
 */
function sharedBucket(nats: BackgroundNats) {
  const opening = new Map<number, ReturnType<typeof openRateLimitBucket>>();
  return (windowMs: number) => {
    const nc = nats.current();
    if (!nc || nc.isClosed()) return Promise.reject(new Error("NATS is not connected"));
    let bucket = opening.get(windowMs);
    if (!bucket) {
      bucket = openRateLimitBucket(nc, windowMs);
      bucket.catch(() => opening.delete(windowMs));
      opening.set(windowMs, bucket);
    }
    return bucket;
  };
}
