/**
 * Sections (b), (c) and (f) on the real system (every service and the gateway as processes, own
 * NATS, PostgreSQL and SMTP sink): `GET /products/{id}` and an authenticated, validated
 * `POST /products`, each directly to the products service and through the gateway; the latency the
 * gateway adds at a fixed rate; and every process's resident memory, idle and under load.
 */
import { type Account, createBenchProduct, signInBenchAccounts } from "./accounts.js";
import { NEW_PRODUCT_BODY, UNREACHABLE_RATE_LIMITS } from "./gateway-cost.js";
import type { LoadResult } from "./load.js";
import { pidListeningOn, residentBytes, sampleResident } from "./memory.js";
import { type FixedRateResult, measure, measureFixedRate, type RunSettings } from "./runner.js";
import { benchRestockToSse, type RestockToSseResult } from "./sse.js";
import { type StandaloneSystem, startStandaloneSystem } from "./standalone-system.js";

/** What the real-system section measured. */
export interface RealSystemResult {
  throughput: {
    productsGet: LoadResult;
    /** Served by the gateway's event-driven cache after the first read. */
    gatewayGet: LoadResult;
    /** With `Cache-Control: no-cache`: every read proxied to products. */
    gatewayGetUncached: LoadResult;
    productsPost: LoadResult;
    gatewayPost: LoadResult;
  };
  fixedRate: { direct: FixedRateResult; gateway: FixedRateResult };
  /** Section (d). */
  restockToSse: RestockToSseResult;
  /** Rows added by hooks. */
  extra: ExtraRow[];
  /** Resident bytes per process name: after start (idle) and peak during the load runs. */
  memory: Record<string, { idle: number | undefined; load: number | undefined }>;
}

/** A row measured by a {@link SystemBenchHook}, shown in the report's "more rows" table. */
export interface ExtraRow {
  /** What was measured, e.g. `POST /ml/sentiment through the gateway`. */
  label: string;
  /** The measurement; absent when it could not be taken (then `note` says why). */
  result?: LoadResult;
  note?: string;
}

/** Extra rows measured on the running system (the ML service's hook, see ml.ts). */
export type SystemBenchHook = (context: SystemBenchContext) => Promise<ExtraRow[]>;

/** What a {@link SystemBenchHook} gets: the running system, tokens, and the run settings. */
export interface SystemBenchContext {
  system: StandaloneSystem;
  admin: Account;
  user: Account;
  settings: RunSettings;
}

/**
 * Starts the system, signs in an administrator and a user through the gateway, creates the product
 * to read, and runs the section's loads; `hooks` run last on the same system.
 */
export async function benchRealSystem(
  settings: RunSettings,
  hooks: SystemBenchHook[] = [],
): Promise<RealSystemResult> {
  settings.say("starting the system (own NATS, PostgreSQL, SMTP sink) …");
  const system = await startStandaloneSystem({
    name: "bench",
    envByProcess: { gateway: UNREACHABLE_RATE_LIMITS },
  });
  try {
    const pids: Record<string, number> = {};
    for (const [name, port] of Object.entries(system.ports)) {
      const pid = await pidListeningOn(port);
      if (pid !== undefined) pids[name] = pid;
    }
    const gateway = system.urls.gateway;
    const products = system.urls.byService.products;
    const { admin, user } = await signInBenchAccounts(gateway, system.adminEmail);
    const productId = await createBenchProduct(gateway, admin);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const idle: Record<string, number | undefined> = {};
    for (const [name, pid] of Object.entries(pids)) idle[name] = await residentBytes(pid);

    const path = `/products/${productId}`;
    const post = {
      method: "POST" as const,
      headers: { authorization: `Bearer ${admin.token}`, "content-type": "application/json" },
      body: NEW_PRODUCT_BODY,
    };
    const sampler = sampleResident(pids);
    // Server CPU per request: the products service's when direct, the gateway's through it.
    const productsGet = await measure(
      settings,
      "(b) GET direct to products",
      { url: `${products}${path}` },
      "throughput",
      pids.products,
    );
    const gatewayGet = await measure(
      settings,
      "(b) GET through the gateway",
      { url: `${gateway}${path}` },
      "throughput",
      pids.gateway,
    );
    // `Cache-Control: no-cache` makes the gateway revalidate at the origin (RFC 9111 section
    // 5.2.1.4): its full proxy path, without the event-driven cache answering.
    const gatewayGetUncached = await measure(
      settings,
      "(b) GET through the gateway, no-cache",
      { url: `${gateway}${path}`, headers: { "cache-control": "no-cache" } },
      "throughput",
      pids.gateway,
    );
    const productsPost = await measure(
      settings,
      "(b) POST /products direct",
      { url: `${products}/products`, ...post },
      "throughput",
      pids.products,
    );
    const gatewayPost = await measure(
      settings,
      "(b) POST /products through the gateway",
      { url: `${gateway}/products`, ...post },
      "throughput",
      pids.gateway,
    );
    const peaks = await sampler.stop();

    const direct = await measureFixedRate(settings, "(c) real GET direct", {
      url: `${products}${path}`,
    });
    // The latency the proxy path adds: every read forwarded, none answered from the cache.
    const throughGateway = await measureFixedRate(settings, "(c) real GET gateway, no-cache", {
      url: `${gateway}${path}`,
      headers: { "cache-control": "no-cache" },
    });
    const restockToSse = await benchRestockToSse(gateway, admin, user);
    settings.say(
      restockToSse.measured
        ? `(d) restock → SSE: p50 ${restockToSse.p50.toFixed(1)} ms, p99 ${restockToSse.p99.toFixed(1)} ms (${restockToSse.samples} samples)`
        : `(d) restock → SSE not measured: ${restockToSse.reason}`,
    );
    const extra: ExtraRow[] = [];
    for (const hook of hooks) extra.push(...(await hook({ system, admin, user, settings })));
    return {
      throughput: { productsGet, gatewayGet, gatewayGetUncached, productsPost, gatewayPost },
      fixedRate: { direct, gateway: throughGateway },
      restockToSse,
      extra,
      memory: Object.fromEntries(
        Object.keys(system.ports).map((name) => [name, { idle: idle[name], load: peaks[name] }]),
      ),
    };
  } finally {
    await system.stop();
  }
}
