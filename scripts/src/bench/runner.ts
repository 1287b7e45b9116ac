/**
 * How every measurement of the benchmark is taken: a discarded warm-up (JIT, connection pools),
 * then the measured run, one progress line per run.
 */
import { type LoadResult, type LoadTarget, quantile, runLoad } from "./load.js";
import { groupCpuMilliseconds } from "./memory.js";
import { runPaced } from "./paced.js";

/** Settings shared by every run. */
export interface RunSettings {
  /** Concurrent connections of every run. */
  connections: number;
  /** Seconds of each measured run. */
  durationSeconds: number;
  /** Seconds of the warm-up before each measured run (0: none). */
  warmupSeconds: number;
  /** Requests per second of the fixed-rate runs (section c). */
  fixedRate: number;
  /** Interleaved rounds of the runs a goal compares ({@link measureInterleaved}). */
  rounds: number;
  /** Prints a progress line. */
  say(line: string): void;
}

/**
 * How to load the target: as fast as it answers, at the fixed rate with autocannon's
 * `overallRate`, or at the fixed rate evenly paced (see paced.ts).
 */
export type LoadMode = "throughput" | "autocannon-rate" | "paced";

/** One result per fixed-rate mode (section c). */
export interface FixedRateResult {
  paced: LoadResult;
  autocannon: LoadResult;
}

function once(settings: RunSettings, target: LoadTarget, mode: LoadMode, seconds: number) {
  if (mode === "paced") {
    return runPaced(target, {
      rate: settings.fixedRate,
      durationSeconds: seconds,
      connections: settings.connections,
    });
  }
  return runLoad(target, {
    connections: settings.connections,
    durationSeconds: seconds,
    ...(mode === "autocannon-rate" ? { overallRate: settings.fixedRate } : {}),
  });
}

/**
 * Warm-up, then the measured run of `target` in `mode`; prints and returns the result.
 * @param cpuGroup process group of the server under test, whose CPU time per response is taken.
 */
export async function measure(
  settings: RunSettings,
  label: string,
  target: LoadTarget,
  mode: LoadMode = "throughput",
  cpuGroup?: number,
): Promise<LoadResult> {
  if (settings.warmupSeconds > 0) await once(settings, target, mode, settings.warmupSeconds);
  const cpuBefore = cpuGroup === undefined ? 0 : await groupCpuMilliseconds(cpuGroup);
  const result = await once(settings, target, mode, settings.durationSeconds);
  if (cpuGroup !== undefined && result.total > 0) {
    const spent = (await groupCpuMilliseconds(cpuGroup)) - cpuBefore;
    result.cpuMicrosPerRequest = (spent * 1000) / result.total;
  }
  const codes = Object.entries(result.statusCodes)
    .map(([code, count]) => `${code}×${count}`)
    .join(" ");
  settings.say(
    `${label}: ${Math.round(result.requestsPerSecond)} req/s, p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms${result.cpuMicrosPerRequest === undefined ? "" : `, ${Math.round(result.cpuMicrosPerRequest)} µs CPU/req`} (${codes}${result.errors ? `, ${result.errors} errors` : ""})`,
  );
  return result;
}

/** One target of {@link measureInterleaved}. */
export interface InterleavedTarget {
  /** Progress label. */
  label: string;
  target: LoadTarget;
  /** Process group of the server under test (its CPU time per response is taken). */
  cpuGroup: number;
  /** Awaited before each of this target's rounds (e.g. until a backlog the last round left drains). */
  before?: () => Promise<void>;
}

/** The median of `values` (the lower middle one of an even count); NaN when empty. */
function median(values: number[]): number {
  return quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

/**
 * Measures each of `targets` `rounds` times, in interleaved rounds (every target once per round,
 * the order rotated by one each round), and resolves to one result per target, in `targets`'
 * order: the round whose CPU per request is the median, with req/s and CPU set to the medians
 * over the rounds and every round kept in `rounds`.
 *
 * Why: a goal that is a ratio of two servers' costs (the gateway against a bare proxy, the kit
 * against its reference) read from one run of each, taken tens of seconds apart, measured the
 * machine's drift as much as the code: on this shared 2-core machine the same bare proxy cost 176
 * to 249 µs per request in runs of one day. Interleaving puts the same drift on both sides.
 * @throws Error when `rounds` is not a positive integer.
 */
export async function measureInterleaved(
  settings: RunSettings,
  targets: readonly InterleavedTarget[],
  rounds: number,
): Promise<LoadResult[]> {
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`rounds must be ≥ 1, got ${rounds}`);
  const runs: LoadResult[][] = targets.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < targets.length; k++) {
      const index = (k + round) % targets.length;
      const { label, target, cpuGroup, before } = targets[index] as InterleavedTarget;
      await before?.();
      const result = await measure(
        settings,
        `${label} (round ${round + 1} of ${rounds})`,
        target,
        "throughput",
        cpuGroup,
      );
      runs[index]?.push(result);
    }
  }
  return runs.map((results) => {
    const cpu = (r: LoadResult) => r.cpuMicrosPerRequest ?? Number.NaN;
    const middle = [...results].sort((a, b) => cpu(a) - cpu(b))[
      Math.floor((results.length - 1) / 2)
    ];
    return {
      ...(middle as LoadResult),
      requestsPerSecond: median(results.map((r) => r.requestsPerSecond)),
      cpuMicrosPerRequest: median(results.map(cpu)),
      rounds: results.map((r) => ({
        requestsPerSecond: r.requestsPerSecond,
        ...(r.cpuMicrosPerRequest === undefined
          ? {}
          : { cpuMicrosPerRequest: r.cpuMicrosPerRequest }),
      })),
    };
  });
}

/** Both fixed-rate modes against `target`. */
export async function measureFixedRate(
  settings: RunSettings,
  label: string,
  target: LoadTarget,
): Promise<FixedRateResult> {
  const paced = await measure(settings, `${label} paced @${settings.fixedRate}/s`, target, "paced");
  const autocannon = await measure(
    settings,
    `${label} autocannon overallRate @${settings.fixedRate}/s`,
    target,
    "autocannon-rate",
  );
  return { paced, autocannon };
}
