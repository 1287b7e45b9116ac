/**
 * Separate OS processes for the fault tests: the notifications service itself (src/main.ts) or a
 * test fixture, run with tsx from the repo root like `npm start` runs them, plus a JWKS endpoint
 * for the service's token verification.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestIssuer } from "@portico/kit/testing";
import { getFreePort } from "@portico/scripts/infra/ports";
import {
  type ManagedProcess,
  spawnManaged,
  waitForProcessReady,
} from "@portico/scripts/infra/process";
import { repoRoot } from "@portico/scripts/paths";

/** A JWKS endpoint serving the test issuer's public key. */
export interface JwksEndpoint {
  url: string;
  close(): Promise<void>;
}

/** Serves `issuer.jwks` at `/.well-known/jwks.json` on a free port of 127.0.0.1. */
export async function serveJwks(issuer: TestIssuer): Promise<JwksEndpoint> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(issuer.jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The environment every child gets: this process's, without jest's NODE_OPTIONS. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _jestOnly, ...inherited } = process.env;
  return { ...inherited, NODE_ENV: "test", LOG_LEVEL: "info", ...env };
}

/** Runs a TypeScript entry (path relative to the repo root) as a child process. */
export function spawnEntry(
  name: string,
  entry: string,
  env: Record<string, string>,
  onLine?: (line: string) => void,
): ManagedProcess {
  return spawnManaged({
    name,
    command: process.execPath,
    args: ["--import", "tsx", "--conditions=portico-source", entry],
    cwd: repoRoot,
    env: childEnv(env),
    log: (_name, line) => onLine?.(line),
    tailLines: 200,
  });
}

/** A running notifications service process. */
export interface NotificationsProcess {
  proc: ManagedProcess;
  baseUrl: string;
}

/**
 * Starts `services/notifications/src/main.ts` on a free port and waits for `/readyz`.
 * @param env DATABASE_URL, NATS_URL, JWKS_URL, SMTP_URL and any other variable of the service.
 */
export async function startNotificationsProcess(
  env: Record<string, string>,
): Promise<NotificationsProcess> {
  const port = await getFreePort();
  const proc = spawnEntry("notifications", "services/notifications/src/main.ts", {
    HOST: "127.0.0.1",
    PORT: String(port),
    ...env,
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitForProcessReady(proc, `${baseUrl}/readyz`, 45_000);
  } catch (err) {
    await proc.stop(5_000);
    throw err;
  }
  return { proc, baseUrl };
}
