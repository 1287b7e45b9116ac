/**
 * How every measurement of the benchmark is taken: a discarded warm-up (JIT, connection pools),
 * then the measured run, one progress line per run.
 */
import { type LoadResult, type LoadTarget, runLoad } from "./load.js";
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
