/**
 * Every upstream service of the operation table, assembled: its health-checked pool of instances
 * (upstream-pool.ts, health-checks.ts), its retry and circuit-breaker policies (resilience.ts,
 * reported on `/metrics` and logged as they change) and its keep-alive proxy (proxy.ts), which
 * applies each operation's own timeout.
 */
import type { Logger } from "@portico/kit/core";
import { breakerRejections, trackBreaker, upstreamRetries } from "../observability/metrics.js";
import type { OperationTable } from "../operations/table.js";
import { startHealthChecks } from "./health-checks.js";
import { createUpstreamProxy, type ProxyHandler } from "./proxy.js";
import {
  createUpstreamResilience,
  operationTimeoutOf,
  type ResilienceConfig,
  resilienceSettings,
  type UpstreamResilience,
} from "./resilience.js";
import { type StateChange, UpstreamPool } from "./upstream-pool.js";

/** The variables the upstreams read (see config.ts). */
export interface UpstreamsConfig extends ResilienceConfig {
  UPSTREAM_TIMEOUT_MS: number;
  UPSTREAM_HEALTH_INTERVAL_MS: number;
  UPSTREAM_HEALTH_TIMEOUT_MS: number;
  UPSTREAM_UNHEALTHY_AFTER: number;
  UPSTREAM_HEALTHY_AFTER: number;
}

/** The assembled upstreams. */
export interface Upstreams {
  /** The instances of each upstream service and their health, by service name. */
  pools: ReadonlyMap<string, UpstreamPool>;
  /** The retry and breaker policies of each service. */
  resiliences: ReadonlyMap<string, UpstreamResilience>;
  /** The proxy of each service. */
  proxies: ReadonlyMap<string, ProxyHandler>;
  /** Resolves once every instance was checked once. */
  firstRound: Promise<void>;
  /** Stops the health checks and closes the keep-alive connections. */
  close(): void;
}

/** Builds the upstreams of `table` and starts their health checks. */
export function createUpstreams(
  table: OperationTable,
  config: UpstreamsConfig,
  logger: Logger,
): Upstreams {
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
    [...table.upstreams].map(([service, urls]) => [
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
  const settings = resilienceSettings(config);
  const timeoutFor = operationTimeoutOf(table);
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
  const proxies = [...pools].map(
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
  return {
    pools,
    resiliences,
    proxies: new Map(proxies.map(([service, proxy]) => [service, proxy.handler])),
    firstRound: checks.firstRound,
    close: () => {
      checks.stop();
      for (const untrack of untrackBreakers) untrack();
      for (const [, proxy] of proxies) proxy.close();
    },
  };
}
