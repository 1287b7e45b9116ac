/**
 * Health of the gateway. `GET /healthz`: the process is up. `GET /readyz`: it can serve traffic —
 * every upstream service has at least one healthy instance (as the active checks last saw it) and
 * a JWK Set to verify tokens with answers. The body lists each upstream's instances by their
 * position in `<SERVICE>_URL` (not their address: `/readyz` is public) with state and reason, and
 * each upstream's circuit breaker state. An open breaker does not make the gateway unready: it
 * already answers that service's requests with a fast 503, and pulling every gateway instance out
 * of the load balancer for one failing service would fail the other services' requests too.
 */
import { EXACT_ROUTER_OPTIONS } from "@portico/kit/core";
import express from "express";
import { PROBE_TIMEOUT_MS, probe } from "./probe.js";
import type { BreakerState } from "./resilience.js";
import type { InstanceState, UpstreamPool } from "./upstream-pool.js";

/** One instance in the `/readyz` body. */
export interface InstanceReport {
  /** 1-based position in the service's `<SERVICE>_URL` list. */
  instance: number;
  state: InstanceState;
  /** Why it is not healthy (last failed check or connection), when it is not. */
  reason?: string;
}

/** The `/readyz` body. */
export interface ReadinessReport {
  status: "ready" | "not ready";
  /** `ok`, or why not, per upstream service and for `jwks`. */
  checks: Record<string, string>;
  /** Every instance of every upstream service. */
  upstreams: Record<string, InstanceReport[]>;
  /** The circuit breaker state of each upstream service (when the gateway has breakers). */
  breakers?: Record<string, BreakerState>;
}

/** The state of each instance of `pool`, for `/readyz`. */
export function instanceReports(pool: UpstreamPool): InstanceReport[] {
  return pool.instances.map(({ ordinal, state, reason }) => ({
    instance: ordinal,
    state,
    ...(state !== "healthy" && reason ? { reason } : {}),
  }));
}

/** `ok` when one instance of `pool` is healthy, else why none is. */
export function upstreamCheck(pool: UpstreamPool): string {
  if (pool.hasHealthy()) return "ok";
  const reasons = [...new Set(pool.instances.map((i) => i.reason ?? i.state))];
  return `no healthy instance (${reasons.join("; ")})`;
}

/**
 * Resolves when one of the JWK Set URLs answers 2xx (tried in order).
 * @throws Error with the last URL's reason when none does.
 */
export async function probeAny(urls: readonly string[], timeoutMs = PROBE_TIMEOUT_MS) {
  let last: unknown = new Error("no URL");
  for (const url of urls) {
    try {
      await probe(new URL(url), timeoutMs);
      return;
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

/**
 * Router with `GET /healthz` and `GET /readyz` (200 when ready, else 503; body
 * {@link ReadinessReport}).
 * @param pools the instances of each upstream service.
 * @param jwksUrls the JWK Set URLs tokens are verified with.
 * @param firstChecks resolves once every instance has been checked once; `/readyz` waits for it.
 * @param timeoutMs deadline of the JWK Set probe, in ms.
 * @param breakers each upstream service's circuit breaker, by service name.
 */
export function healthRoutes(
  pools: readonly UpstreamPool[],
  jwksUrls: readonly string[],
  firstChecks: Promise<void>,
  timeoutMs = PROBE_TIMEOUT_MS,
  breakers?: ReadonlyMap<string, { state(): BreakerState }>,
): express.Router {
  const router = express.Router(EXACT_ROUTER_OPTIONS);
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", async (_req, res) => {
    const [jwks] = await Promise.all([
      probeAny(jwksUrls, timeoutMs).then(
        () => "ok",
        (err: unknown) => (err instanceof Error ? err.message : "failed"),
      ),
      firstChecks,
    ]);
    const checks: Record<string, string> = {};
    const upstreams: Record<string, InstanceReport[]> = {};
    for (const pool of pools) {
      checks[pool.service] = upstreamCheck(pool);
      upstreams[pool.service] = instanceReports(pool);
    }
    checks.jwks = jwks;
    const ready = Object.values(checks).every((check) => check === "ok");
    const report: ReadinessReport = { status: ready ? "ready" : "not ready", checks, upstreams };
    if (breakers) {
      report.breakers = Object.fromEntries(
        [...breakers].map(([service, breaker]) => [service, breaker.state()]),
      );
    }
    res.status(ready ? 200 : 503).json(report);
  });
  return router;
}
