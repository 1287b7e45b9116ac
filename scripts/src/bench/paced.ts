/**
 * An open-loop load at an evenly paced fixed rate: request `i` is due at `start + i / rate`, sent on
 * one of `connections` keep-alive sockets, and its latency counts from when it was due (so a
 * server, or a client, that falls behind shows up in the latencies instead of lowering the rate:
 * no coordinated omission). autocannon's `overallRate` instead sends each connection's quota for a
 * second back to back at the start of that second — 1,000 requests/s arrive as one burst per
 * second — which measures queueing in a burst more than the latency a hop adds; both are reported.
 */
import http from "node:http";
import type { LoadResult, LoadTarget } from "./load.js";
import { quantile } from "./load.js";

/** Options of {@link runPaced}. */
export interface PacedOptions {
  /** Requests per second. */
  rate: number;
  durationSeconds: number;
  /** Keep-alive sockets at most. Default 50. */
  connections?: number;
}

/** Sends `target` at `options.rate` requests/s for `options.durationSeconds`; see the module doc. */
export async function runPaced(target: LoadTarget, options: PacedOptions): Promise<LoadResult> {
  const url = new URL(target.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections ?? 50 });
  const body = target.body === undefined ? undefined : Buffer.from(target.body);
  const headers = {
    ...target.headers,
    ...(body ? { "content-length": String(body.length) } : {}),
  };
  const count = Math.round(options.rate * options.durationSeconds);
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let errors = 0;
  let ok = 0;

  const send = (dueAt: number) =>
    new Promise<void>((resolve) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method: target.method ?? "GET",
          headers,
          agent,
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            const status = String(res.statusCode);
            statusCodes[status] = (statusCodes[status] ?? 0) + 1;
            if (status.startsWith("2")) {
              ok += 1;
              latencies.push(performance.now() - dueAt);
            }
            resolve();
          });
        },
      );
      req.on("error", () => {
        errors += 1;
        resolve();
      });
      req.end(body);
    });

  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  let sent = 0;
  while (sent < count) {
    const due = Math.min(
      count,
      Math.floor(((performance.now() - start) * options.rate) / 1000) + 1,
    );
    for (; sent < due; sent += 1) inFlight.push(send(start + (sent * 1000) / options.rate));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  return {
    requestsPerSecond: ok / elapsed,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    total: count,
    non2xx: count - ok - errors,
    errors,
    statusCodes,
  };
}
