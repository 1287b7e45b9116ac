/**
 * Active health checks: every instance of every upstream gets `GET <instance>/healthz` once per
 * interval (all in parallel, each with a short deadline), and the result goes to its pool, which
 * decides when the instance leaves or rejoins the balancing.
 */
import { probe as httpProbe, resolveUnder } from "./probe.js";
import type { UpstreamPool } from "./upstream-pool.js";

/** Options of {@link startHealthChecks}. */
export interface HealthCheckOptions {
  /** Pause between the end of one round and the start of the next, in ms. */
  intervalMs: number;
  /** Deadline of one check, in ms. */
  timeoutMs: number;
  /** The check itself; default: `GET`, 2xx within the deadline ({@link httpProbe}). */
  probe?: (url: URL, timeoutMs: number) => Promise<void>;
}

/** Running health checks. */
export interface HealthChecks {
  /** Resolves when the first round has finished (every instance has a state). Never rejects. */
  readonly firstRound: Promise<void>;
  /** Stops checking; a round in flight finishes but schedules no other. Idempotent. */
  stop(): void;
}

/** Starts checking every instance of `pools` now, then every `intervalMs`. */
export function startHealthChecks(
  pools: readonly UpstreamPool[],
  options: HealthCheckOptions,
): HealthChecks {
  const check = options.probe ?? httpProbe;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const round = async () => {
    await Promise.all(
      pools.flatMap((pool) =>
        pool.instances.map(async (instance) => {
          try {
            await check(resolveUnder(instance.url, "healthz"), options.timeoutMs);
            if (!stopped) pool.recordCheck(instance, { ok: true });
          } catch (err) {
            const reason = err instanceof Error ? err.message : "failed";
            if (!stopped) pool.recordCheck(instance, { ok: false, reason });
          }
        }),
      ),
    );
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      round().then(schedule, schedule);
    }, options.intervalMs);
    // Checks alone never keep the process alive.
    timer.unref();
  };

  const firstRound = round().catch(() => undefined);
  firstRound.then(schedule);
  return {
    firstRound,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
