import { mkdir } from "node:fs/promises";
import { InfraError } from "./errors.js";
import { getFreePort } from "./ports.js";
import { type LogSink, spawnManaged, waitForProcessReady } from "./process.js";
import { findExecutable } from "./which.js";

/** How to get nats-server, shown whenever it is missing from PATH. */
export const NATS_INSTALL_HINT = [
  "nats-server was not found on PATH. Install it:",
  "  Debian/Ubuntu:  sudo apt-get install -y nats-server",
  "  macOS:          brew install nats-server",
  "or give a running server with NATS_URL=nats://host:4222,",
  "or run everything in containers with `docker compose up`.",
].join("\n");

/** Options of {@link startNats}. */
export interface StartNatsOptions {
  /** JetStream store directory (created if missing). */
  storeDir: string;
  /** Client port; 0 or omitted picks a free one. */
  port?: number;
  /** Address to bind (clients and monitoring). Default 127.0.0.1. */
  host?: string;
  /** Where the server's log lines go (name `nats-server`). Default: dropped (the tail is kept for errors). */
  log?: LogSink;
  /** How long to wait until it is healthy with JetStream enabled. Default 15 000 ms. */
  readyTimeoutMs?: number;
  /** PATH-style list of directories searched for `nats-server`. Default `process.env.PATH`. */
  searchPath?: string;
}

/** A running nats-server with JetStream. */
export interface NatsServer {
  /** Client URL, e.g. `nats://127.0.0.1:4222`. */
  url: string;
  /** Monitoring URL, e.g. `http://127.0.0.1:38222`. */
  monitorUrl: string;
  /** OS process id of the server. */
  pid: number | undefined;
  /** SIGTERM, awaits exit (SIGKILL after 10 s). Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a local `nats-server -js` from PATH bound to `host` and waits until its monitoring endpoint
 * reports healthy with JetStream enabled. Throws {@link InfraError} with {@link NATS_INSTALL_HINT}
 * when the binary is missing, or with the server's last log lines when it exits or is not ready in
 * time (the process is stopped first).
 */
export async function startNats(options: StartNatsOptions): Promise<NatsServer> {
  const binary = await findExecutable("nats-server", options.searchPath);
  if (!binary) throw new InfraError(NATS_INSTALL_HINT);

  const host = options.host ?? "127.0.0.1";
  const port = options.port || (await getFreePort(host));
  const monitorPort = await getFreePort(host);
  const timeoutMs = options.readyTimeoutMs ?? 15_000;
  await mkdir(options.storeDir, { recursive: true });

  const server = spawnManaged({
    name: "nats-server",
    command: binary,
    args: [
      "-js",
      "-a",
      host,
      "-p",
      String(port),
      "-m",
      String(monitorPort),
      "-sd",
      options.storeDir,
    ],
    log: options.log,
  });
  const monitorUrl = `http://${host}:${monitorPort}`;
  try {
    await waitForProcessReady(server, `${monitorUrl}/healthz?js-enabled-only=true`, timeoutMs);
  } catch (error) {
    await server.stop(1000);
    throw error;
  }

  return {
    url: `nats://${host}:${port}`,
    monitorUrl,
    pid: server.pid,
    stop: async () => {
      await server.stop(10_000);
    },
  };
}
