/**
 * Gateways for the edge-protection tests: every service of the public contract stood in for by a
 * recording upstream, a JWK Set server whose keys can be rotated (counting its fetches), and
 * gateways built with `createGateway` from the real config loader, listening on free ports.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { loadContract } from "@portico/contracts";
import { createLogger, type Logger } from "@portico/kit";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { createGateway, type Gateway } from "../../src/app.js";
import { loadGatewayConfig } from "../../src/config.js";
import { contractServices } from "../../src/operations/table.js";
import { upstreamEnvVar } from "../../src/operations/upstream-list.js";
import { type FakeUpstream, serve, startUpstream } from "./servers.js";

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

/** A JWK Set server whose key set grows on {@link RotatingJwks.rotate}. */
export interface RotatingJwks {
  url: string;
  /** How many times the JWK Set was fetched. */
  fetches: number;
  /** The `kid`s published, oldest first. */
  kids: string[];
  /** Publishes a new key (kid `k<n>`) next to the old ones; resolves to its kid. */
  rotate(): Promise<string>;
  /**
   * Signs an ES256 access token (iss `portico`, aud `portico-api`) with the key `kid` (default:
   * the newest); an unpublished `kid` signs with a key nobody publishes.
   */
  sign(claims: { sub: string; role: string; email?: string }, kid?: string): Promise<string>;
  close(): Promise<void>;
}

/** Starts a JWK Set server publishing one key, `k1`. */
export async function startRotatingJwks(): Promise<RotatingJwks> {
  const keys = new Map<string, { privateKey: PrivateKey; jwk: JWK }>();
  const addKey = async (kid: string) => {
    const pair = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: "ES256", use: "sig" };
    keys.set(kid, { privateKey: pair.privateKey, jwk });
    return pair.privateKey;
  };
  const unpublished = new Map<string, PrivateKey>();
  const server = createServer((req, res) => {
    if (req.url !== "/.well-known/jwks.json") {
      res.writeHead(404).end();
      return;
    }
    jwks.fetches += 1;
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ keys: [...keys.values()].map((key) => key.jwk) }));
  });
  const base = await listen(server);
  const jwks: RotatingJwks = {
    url: `${base}/.well-known/jwks.json`,
    fetches: 0,
    get kids() {
      return [...keys.keys()];
    },
    rotate: async () => {
      const kid = `k${keys.size + 1}`;
      await addKey(kid);
      return kid;
    },
    sign: async ({ sub, role, email }, kid) => {
      const chosen = kid ?? [...keys.keys()].at(-1) ?? "k1";
      let privateKey = keys.get(chosen)?.privateKey ?? unpublished.get(chosen);
      if (!privateKey) {
        privateKey = (await generateKeyPair("ES256")).privateKey;
        unpublished.set(chosen, privateKey);
      }
      return new SignJWT({ role, email: email ?? `${sub}@example.com` })
        .setProtectedHeader({ alg: "ES256", kid: chosen })
        .setSubject(sub)
        .setIssuer("portico")
        .setAudience("portico-api")
        .setIssuedAt()
        .setExpirationTime("15m")
        .sign(privateKey);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  await addKey("k1");
  return jwks;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Stand-ins for every service of the public contract, and a JWK Set server. */
export interface FakeServices {
  upstreams: Map<string, FakeUpstream>;
  jwks: RotatingJwks;
  /** `JWKS_URL` and every `<SERVICE>_URL`, for the gateway's config. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** Starts {@link FakeServices}. */
export async function startFakeServices(): Promise<FakeServices> {
  const services = contractServices(loadContract("public"));
  const upstreams = new Map(
    await Promise.all(services.map(async (s) => [s, await startUpstream(s)] as const)),
  );
  const jwks = await startRotatingJwks();
  const env: Record<string, string> = { JWKS_URL: jwks.url };
  for (const [service, upstream] of upstreams) env[upstreamEnvVar(service)] = upstream.url;
  return {
    upstreams,
    jwks,
    env,
    close: async () => {
      await Promise.all([...upstreams.values()].map((u) => u.close()));
      await jwks.close();
    },
  };
}

/** A gateway listening on a free port. */
export interface RunningGateway {
  url: string;
  gateway: Gateway;
  close(): Promise<void>;
}

/**
 * Builds a gateway from `env` (on top of port 0 and a silent log) and listens.
 * @param logger default: silent.
 */
export async function startGateway(
  env: Record<string, string>,
  logger: Logger = createLogger("gateway", "silent"),
): Promise<RunningGateway> {
  const config = loadGatewayConfig({ PORT: "0", LOG_LEVEL: "silent", ...env }, { exit: false });
  const gateway = createGateway({ config, logger });
  const server = await serve(gateway.listener);
  return {
    url: server.url,
    gateway,
    close: async () => {
      await server.close();
      await gateway.close();
    },
  };
}
