/**
 * One load run with autocannon against one HTTP target, reduced to the numbers the report needs.
 * Two kinds: throughput (as many requests as the target takes over `connections`) and fixed rate
 * (`overallRate` requests/s over all connections; latencies then come from every response's own
 * timing, in fractional ms, rather than autocannon's 1 ms histogram, and without its coordinated-
 * omission back-fill, which at a 1 ms expected interval would invent samples for every response
 * slower than 1 ms).
 */
import autocannon from "autocannon";

/** What to send. */
export interface LoadTarget {
  url: string;
  method?: "GET" | "POST" | "PUT" | "DELETE" | "PATCH";
  headers?: Record<string, string>;
  /** Request body, sent as is. */
  body?: string;
}

/** How to send it. */
export interface LoadOptions {
  /** Concurrent keep-alive connections. Default 50. */
  connections?: number;
  /** Seconds of load. Default 10. */
  durationSeconds?: number;
  /** Requests per second over all connections; unset means as fast as the target answers. */
  overallRate?: number;
}

/** The outcome of one load run. Latencies in milliseconds. */
export interface LoadResult {
  /** Mean successful (2xx) responses per second over the run. */
  requestsPerSecond: number;
  p50: number;
  p99: number;
  /** Every response by class, and connection errors/timeouts. */
  total: number;
  non2xx: number;
  errors: number;
  /** Status codes seen, with counts (to explain a non-2xx share). */
  statusCodes: Record<string, number>;
  /**
   * CPU time the server under test spent per response, in µs (when measured): unlike req/s,
   * it hardly changes with what else the machine is doing.
   */
  cpuMicrosPerRequest?: number;
  /**
   * When the result is the median of interleaved rounds ({@link measureInterleaved} in
   * runner.ts): each round's req/s and CPU µs per request, in the order they ran.
   */
  rounds?: { requestsPerSecond: number; cpuMicrosPerRequest?: number }[];
}

/** The value at quantile `q` (0..1) of ascending `sorted` (nearest rank). */
export function quantile(sorted: Float64Array | number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

/**
 * Runs autocannon against `target` and resolves to its {@link LoadResult}.
 * @throws Error when autocannon fails to start (bad URL, option error).
 */
export function runLoad(target: LoadTarget, options: LoadOptions = {}): Promise<LoadResult> {
  const fixedRate = options.overallRate !== undefined;
  const own: number[] = [];
  const statusCodes: Record<string, number> = {};
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url,
        method: target.method ?? "GET",
        headers: target.headers,
        body: target.body,
        connections: options.connections ?? 50,
        duration: options.durationSeconds ?? 10,
        ...(fixedRate ? { overallRate: options.overallRate, ignoreCoordinatedOmission: true } : {}),
      },
      (error, result) => {
        if (error) {
          reject(error);
          return;
        }
        const sorted = Float64Array.from(own).sort();
        const ok = result["2xx"];
        resolve({
          requestsPerSecond: ok / result.duration,
          p50: fixedRate ? quantile(sorted, 0.5) : result.latency.p50,
          p99: fixedRate ? quantile(sorted, 0.99) : result.latency.p99,
          total: result["1xx"] + ok + result["3xx"] + result["4xx"] + result["5xx"],
          non2xx: result.non2xx,
          errors: result.errors,
          statusCodes,
        });
      },
    );
    // autocannon emits (client, statusCode, bytes, responseTimeMs); its typings omit the client.
    instance.on("response", ((...args: unknown[]) => {
      const status = String(args[1]);
      statusCodes[status] = (statusCodes[status] ?? 0) + 1;
      if (fixedRate && status.startsWith("2")) own.push(args[3] as number);
    }) as never);
  });
}
