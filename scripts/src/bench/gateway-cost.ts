/**
 * Section (a), the gateway's own cost: `GET /products/{id}` answered by a fixed-response stub
 * upstream, directly and through three proxies (a bare `node:http` proxy, nginx, the Portico
 * gateway), plus authenticated routes through the gateway; section (c) on the stub (latency the
 * gateway adds at a fixed rate); and the gateway's memory, idle and under load.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestIssuer } from "@portico/kit/testing";
import { NODE_FLAGS } from "../system.js";
import { type BenchChild, Stack, startNodeChild } from "./children.js";
import type { LoadResult } from "./load.js";
import { residentBytes, sampleResident } from "./memory.js";
import { ensureNginx, startNginx } from "./nginx.js";
import {
  type FixedRateResult,
  measure,
  measureFixedRate,
  measureInterleaved,
  type RunSettings,
} from "./runner.js";
import { allUpstreamsAt } from "./upstreams.js";

/** The fixed product the stub answers with (as the products service would serialise it). */
export const STUB_PRODUCT_ID = "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10";
const STUB_PRODUCT = {
  id: STUB_PRODUCT_ID,
  name: "Espresso cup",
  description: "Porcelain, 80 ml",
  price: { amount: 1299, currency: "EUR" },
  stock: 12,
  createdAt: "2026-11-21T09:30:00.000Z",
  updatedAt: "2026-11-21T09:30:00.000Z",
};

/** A valid `createProduct` body (CreateProductRequest). */
export const NEW_PRODUCT_BODY = JSON.stringify({
  name: "Benchmark cup",
  description: "Porcelain, 80 ml",
  price: { amount: 1299, currency: "EUR" },
  stock: 5,
});

/**
 * Limits of the gateway under test: rate limiting stays on (its cost is part of the gateway's)
 * but never rejects a benchmark's load.
 */
export const UNREACHABLE_RATE_LIMITS: Record<string, string> = {
  RATE_LIMIT_MAX: "1000000000",
  RATE_LIMIT_ANONYMOUS_MAX: "1000000000",
};

/** Environment of the gateway under test: production mode, warnings only. */
export const GATEWAY_BENCH_ENV: Record<string, string> = {
  NODE_ENV: "production",
  LOG_LEVEL: "warn",
  ...UNREACHABLE_RATE_LIMITS,
};

/** What the gateway-cost section measured. */
export interface GatewayCostResult {
  nginxVersion: string;
  throughput: {
    direct: LoadResult;
    /** The bare proxy on the gateway's Node.js flags ({@link BENCH_SERVER_FLAGS}). */
    bareProxy: LoadResult;
    /** The same proxy on V8's default settings (no flags): the ceiling as issue 14 first took it. */
    bareProxyDefaults: LoadResult;
    nginx: LoadResult;
    gateway: LoadResult;
    /** `GET /users/me` with a user token: bearer auth + proxy. */
    gatewayAuthGet: LoadResult;
    /** `POST /products` with an admin token and a JSON body: auth + body validation + proxy. */
    gatewayAuthPost: LoadResult;
  };
  /** Fixed rate (section c) on the stub: direct and through the gateway. */
  fixedRate: { direct: FixedRateResult; gateway: FixedRateResult };
  /** The gateway process's resident memory in bytes, idle (after start) and peak under load. */
  memory: { idle: number | undefined; load: number | undefined };
}

/**
 * Node.js flags of the benchmark's own Node servers (the stub, the bare proxy): the ones every
 * process of `npm start` runs with (`NODE_FLAGS`), as the gateway and the kit's Fastify reference
 * do. `--max-semi-space-size=2` (a 2 MiB young generation, for idle memory) alone makes a bare
 * proxy spend about a quarter more CPU per request on scavenges; without it the bare proxy would
 * be measured on other V8 settings than the gateway it is the ceiling for.
 */
export const BENCH_SERVER_FLAGS: readonly string[] = NODE_FLAGS;

/** Starts the stub upstream with a JWK Set the returned issuer signs for. */
export async function startStub(
  issuer: Awaited<ReturnType<typeof createTestIssuer>>,
): Promise<BenchChild> {
  return startNodeChild({
    name: "stub",
    entry: "scripts/src/bench/servers/stub.ts",
    readyPath: "/healthz",
    nodeFlags: BENCH_SERVER_FLAGS,
    env: { STUB_BODY: JSON.stringify(STUB_PRODUCT), STUB_JWKS: JSON.stringify(issuer.jwks) },
  });
}

/** Starts the Portico gateway with every upstream (and its JWKS) at the stub. */
export function startGatewayOnStub(stub: BenchChild, nodeFlags: string[] = []) {
  return startNodeChild({
    name: "gateway",
    entry: "gateway/src/main.ts",
    readyPath: "/readyz",
    nodeFlags,
    env: {
      ...GATEWAY_BENCH_ENV,
      ...allUpstreamsAt(stub.url),
      JWKS_URL: `${stub.url}/.well-known/jwks.json`,
    },
  });
}

/** Runs section (a) and the stub half of (c). */
export async function benchGatewayCost(settings: RunSettings): Promise<GatewayCostResult> {
  const stack = new Stack();
  const dir = await mkdtemp(join(tmpdir(), "portico-bench-"));
  stack.add(dir, () => rm(dir, { recursive: true, force: true }));
  try {
    const nginxBinary = await ensureNginx();
    const issuer = await createTestIssuer();
    const userToken = await issuer.tokenFor({ role: "user", expiresIn: "1h" });
    const adminToken = await issuer.tokenFor({ role: "admin", expiresIn: "1h" });
    const path = `/products/${STUB_PRODUCT_ID}`;

    const stub = await startStub(issuer);
    stack.add(stub, stub.stop);
    const bare = await startNodeChild({
      name: "bare-proxy",
      entry: "scripts/src/bench/servers/bare-proxy.ts",
      readyPath: "/healthz",
      nodeFlags: BENCH_SERVER_FLAGS,
      env: { UPSTREAM_URL: stub.url },
    });
    stack.add(bare, bare.stop);
    const nginx = await startNginx(nginxBinary.binary, join(dir, "nginx"), new URL(stub.url), path);
    stack.add(nginx, nginx.stop);
    const gateway = await startGatewayOnStub(stub);
    stack.add(gateway, gateway.stop);
    const gatewayPid = gateway.process.pid as number;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const idle = await residentBytes(gatewayPid);

    const pgid = (child: { process: { pid: number | undefined } }) => child.process.pid as number;
    const direct = await measure(
      settings,
      "(a) direct to stub",
      { url: `${stub.url}${path}` },
      "throughput",
      pgid(stub),
    );
    const bareDefaults = await startNodeChild({
      name: "bare-proxy-defaults",
      entry: "scripts/src/bench/servers/bare-proxy.ts",
      readyPath: "/healthz",
      env: { UPSTREAM_URL: stub.url },
    });
    stack.add(bareDefaults, bareDefaults.stop);
    // Goal (a) compares these three: measured in interleaved rounds, so drift hits them alike.
    const sampler = sampleResident({ gateway: gatewayPid });
    const [bareProxy, bareProxyDefaults, gatewayResult] = (await measureInterleaved(
      settings,
      [
        {
          label: "(a) bare node proxy",
          target: { url: `${bare.url}${path}` },
          cpuGroup: pgid(bare),
        },
        {
          label: "(a) bare node proxy, V8 defaults",
          target: { url: `${bareDefaults.url}${path}` },
          cpuGroup: pgid(bareDefaults),
        },
        {
          label: "(a) portico gateway",
          target: { url: `${gateway.url}${path}` },
          cpuGroup: gatewayPid,
        },
      ],
      settings.rounds,
    )) as [LoadResult, LoadResult, LoadResult];
    await bare.stop();
    await bareDefaults.stop();
    const nginxResult = await measure(
      settings,
      "(a) nginx",
      { url: `${nginx.url}${path}` },
      "throughput",
      pgid(nginx),
    );
    await nginx.stop();
    const gatewayAuthGet = await measure(
      settings,
      "(a) gateway GET /users/me (auth)",
      { url: `${gateway.url}/users/me`, headers: { authorization: `Bearer ${userToken}` } },
      "throughput",
      gatewayPid,
    );
    const gatewayAuthPost = await measure(
      settings,
      "(a) gateway POST /products (auth+body)",
      {
        url: `${gateway.url}/products`,
        method: "POST",
        headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
        body: NEW_PRODUCT_BODY,
      },
      "throughput",
      gatewayPid,
    );
    const peaks = await sampler.stop();

    const fixedDirect = await measureFixedRate(settings, "(c) direct to stub", {
      url: `${stub.url}${path}`,
    });
    const fixedGateway = await measureFixedRate(settings, "(c) gateway on stub", {
      url: `${gateway.url}${path}`,
    });
    return {
      nginxVersion: nginxBinary.version,
      throughput: {
        direct,
        bareProxy,
        bareProxyDefaults,
        nginx: nginxResult,
        gateway: gatewayResult,
        gatewayAuthGet,
        gatewayAuthPost,
      },
      fixedRate: { direct: fixedDirect, gateway: fixedGateway },
      memory: { idle, load: peaks.gateway },
    };
  } finally {
    await stack.stopAll();
  }
}

/** The `.cpuprofile` files in `dir`. */
export async function cpuProfilesIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith(".cpuprofile")).map((f) => join(dir, f));
}
