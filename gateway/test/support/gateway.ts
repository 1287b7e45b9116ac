/**
 * A gateway over recording stand-ins for every service of a contract, for the resilience and
 * tracing tests: products gets two instances (balancing and retries on another instance), the
 * other services one each.
 */
import { loadContract } from "@portico/contracts";
import { createLogger } from "@portico/kit";
import { createGateway, type Gateway } from "../../src/app.js";
import { loadGatewayConfig } from "../../src/config.js";
import { contractServices } from "../../src/operations/table.js";
import { upstreamEnvVar } from "../../src/operations/upstream-list.js";
import {
  type FakeJwks,
  type FakeUpstream,
  type Responder,
  serve,
  startJwks,
  startUpstream,
} from "./servers.js";

/** Stand-ins for every service of a contract and a JWK Set. */
export interface Upstreams {
  jwks: FakeJwks;
  /** Each service's instances. */
  services: Map<string, FakeUpstream[]>;
  /** The only (or first) instance of `service`. */
  only(service: string): FakeUpstream;
  /** Clears what every instance received and makes each answer 200 JSON again. */
  reset(): void;
  close(): Promise<void>;
}

/** A responder answering `status` with `body` as JSON (Problem JSON from 400 on). */
export const answer =
  (status: number, body: unknown = { status }): Responder =>
  (_req, res) => {
    res.writeHead(status, {
      "Content-Type": status >= 400 ? "application/problem+json" : "application/json",
    });
    res.end(JSON.stringify(body));
  };

/** Starts the stand-ins of every service of `contract` (products: two instances). */
export async function startUpstreams(
  contract: Record<string, unknown> = loadContract("public"),
): Promise<Upstreams> {
  const jwks = await startJwks();
  const services = new Map<string, FakeUpstream[]>();
  for (const service of contractServices(contract)) {
    const count = service === "products" ? 2 : 1;
    services.set(
      service,
      await Promise.all(
        Array.from({ length: count }, (_, i) => startUpstream(`${service}-${i + 1}`)),
      ),
    );
  }
  return {
    jwks,
    services,
    only(service) {
      const [upstream] = services.get(service) ?? [];
      if (!upstream) throw new Error(`no stand-in for ${service}`);
      return upstream;
    },
    reset() {
      for (const list of services.values()) {
        for (const upstream of list) {
          upstream.received.length = 0;
          upstream.respond = answer(200, { service: upstream.url });
        }
      }
    },
    async close() {
      await Promise.all([...services.values()].flat().map((u) => u.close()));
      await jwks.close();
    },
  };
}

/** A gateway listening on a free port. */
export interface RunningGateway {
  gateway: Gateway;
  url: string;
  close(): Promise<void>;
}

/**
 * Starts a gateway over `upstreams` (health checks every 50 ms, 10 ms retry back-off), with
 * `env` overriding its variables.
 */
export async function startGateway(
  upstreams: Upstreams,
  env: Record<string, string> = {},
  contract: Record<string, unknown> = loadContract("public"),
): Promise<RunningGateway> {
  const urls = Object.fromEntries(
    [...upstreams.services].map(([service, list]) => [
      upstreamEnvVar(service),
      list.map((u) => u.url).join(","),
    ]),
  );
  const config = loadGatewayConfig(
    {
      PORT: "0",
      LOG_LEVEL: "silent",
      JWKS_URL: upstreams.jwks.url,
      UPSTREAM_HEALTH_INTERVAL_MS: "50",
      UPSTREAM_RETRY_BASE_MS: "10",
      ...urls,
      ...env,
    },
    { exit: false },
    contract,
  );
  const gateway = createGateway({ config, logger: createLogger("gateway", "silent"), contract });
  const server = await serve(gateway.listener);
  return {
    gateway,
    url: server.url,
    close: async () => {
      await server.close();
      await gateway.close();
    },
  };
}

/** Resolves once every instance of every pool passed a check (round-robin is then predictable). */
export async function allHealthy(gateway: Gateway, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const healthy = () =>
    [...gateway.pools.values()].every((pool) =>
      pool.instances.every((instance) => instance.state === "healthy"),
    );
  while (!healthy() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return healthy();
}
