import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { startNats } from "../infra/nats.js";
import { startPostgres } from "../infra/postgres.js";
import { startSmtpSink } from "../infra/smtp.js";

/** Where a piece of test infrastructure comes from. */
export type InfrastructureSource = "env" | "containers" | "local";

/** NATS, PostgreSQL and a mail sink for tests, and how to get rid of what was started. */
export interface Infrastructure {
  /** e.g. `nats://127.0.0.1:4222` (JetStream enabled, no auth). */
  natsUrl: string;
  /** Server URL (maintenance database), e.g. `postgres://postgres:pw@127.0.0.1:5433/postgres`. */
  databaseUrl: string;
  /** e.g. `smtp://127.0.0.1:1025`. */
  smtpUrl: string;
  /** Base URL of the Mailpit-like API of the mail sink. */
  mailApiUrl: string;
  /** Where each part came from. */
  sources: { nats: InfrastructureSource; postgres: InfrastructureSource; smtp: "env" | "local" };
  /** Creates a fresh database with a unique name on this server; resolves to its URL. */
  createDatabase(prefix: string): Promise<string>;
  /** Stops everything this call started (nothing that came from env). */
  stop(): Promise<void>;
}

/** Options of {@link provisionInfrastructure}. */
export interface ProvisionOptions {
  /** Read `NATS_URL`, `DATABASE_URL`, `SMTP_URL`+`MAIL_API_URL`, `PORTICO_TEST_INFRA` from here. */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for a container runtime to answer. Default 3000 ms. */
  runtimeTimeoutMs?: number;
}

type Stop = () => Promise<void>;

/**
 * Whether testcontainers finds a working container runtime (Docker, Podman, ...) within
 * `timeoutMs`. Never throws.
 */
export async function containerRuntimeAvailable(timeoutMs = 3000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await Promise.race([
      getContainerRuntimeClient(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("timeout")), timeoutMs);
      }),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

async function natsFromContainer(): Promise<{ url: string; stop: Stop }> {
  const { GenericContainer, Wait } = await import("testcontainers");
  // Not @testcontainers/nats: its NatsContainer always sets --user/--pass, and NATS_URL has no auth.
  const container = await new GenericContainer("nats:2.9-alpine")
    .withCommand(["-js"])
    .withExposedPorts(4222)
    .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
    .start();
  return {
    url: `nats://${container.getHost()}:${container.getMappedPort(4222)}`,
    stop: async () => {
      await container.stop();
    },
  };
}

async function postgresFromContainer(): Promise<{ url: string; stop: Stop }> {
  const { PostgreSqlContainer } = await import("@testcontainers/postgresql");
  const container = await new PostgreSqlContainer("postgres:17-alpine").start();
  return {
    url: container.getConnectionUri(),
    stop: async () => {
      await container.stop();
    },
  };
}

/**
 * Creates a database named `<prefix>_<random hex>` (prefix lower-cased, reduced to `[a-z0-9_]`) on
 * the server at `serverUrl` (default `process.env.DATABASE_URL`, which jest's globalSetup sets) and
 * resolves to its URL, so each test file gets its own tables. Throws when no server URL is known or
 * the server refuses.
 */
export async function createDatabase(
  prefix: string,
  serverUrl: string | undefined = process.env.DATABASE_URL,
): Promise<string> {
  if (!serverUrl) {
    throw new Error(
      "DATABASE_URL is not set: run the tests through jest (its globalSetup provisions PostgreSQL) " +
        "or set DATABASE_URL to a PostgreSQL server URL.",
    );
  }
  const base =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, "_")
      .slice(0, 50) || "test";
  const name = `${base}_${randomBytes(5).toString("hex")}`;
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Provides NATS (JetStream), PostgreSQL and a mail sink for tests, each from the first source that
 * works: the URLs in env (`NATS_URL`; `DATABASE_URL` as a server URL; `SMTP_URL` with
 * `MAIL_API_URL`), else testcontainers when a container runtime answers quickly, else a local
 * nats-server and embedded PostgreSQL in a temporary directory (removed by `stop()`); the mail sink
 * is always in-process unless given. `PORTICO_TEST_INFRA=local|containers` forces the fallback.
 * Whatever was started is stopped again if a later part fails, and the error is rethrown.
 */
export async function provisionInfrastructure(
  options: ProvisionOptions = {},
): Promise<Infrastructure> {
  const env = options.env ?? process.env;
  const stops: Stop[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };

  try {
    const needsServer = !env.NATS_URL || !env.DATABASE_URL;
    const forced = env.PORTICO_TEST_INFRA;
    const fallback: InfrastructureSource =
      !needsServer || forced === "local"
        ? "local"
        : forced === "containers" ||
            (await containerRuntimeAvailable(options.runtimeTimeoutMs ?? 3000))
          ? "containers"
          : "local";

    let workDir: string | undefined;
    const localDir = async () => {
      if (!workDir) {
        const dir = await mkdtemp(join(tmpdir(), "portico-test-"));
        await chmod(dir, 0o755); // as root, PostgreSQL runs as `postgres` and must enter it
        stops.push(() => rm(dir, { recursive: true, force: true }));
        workDir = dir;
      }
      return workDir;
    };

    let natsUrl = env.NATS_URL;
    if (!natsUrl) {
      const nats =
        fallback === "containers"
          ? await natsFromContainer()
          : await startNats({ storeDir: join(await localDir(), "nats") });
      stops.push(nats.stop);
      natsUrl = nats.url;
    }

    let databaseUrl = env.DATABASE_URL;
    if (!databaseUrl) {
      if (fallback === "containers") {
        const postgres = await postgresFromContainer();
        stops.push(postgres.stop);
        databaseUrl = postgres.url;
      } else {
        const postgres = await startPostgres({
          dataDir: join(await localDir(), "postgres"),
          databases: [],
          password: randomBytes(9).toString("base64url"),
          durable: false,
        });
        stops.push(postgres.stop);
        databaseUrl = postgres.serverUrl;
      }
    }

    let smtpUrl = env.SMTP_URL;
    let mailApiUrl = env.MAIL_API_URL;
    const smtpSource = smtpUrl && mailApiUrl ? "env" : "local";
    if (!smtpUrl || !mailApiUrl) {
      const sink = await startSmtpSink();
      stops.push(sink.stop);
      smtpUrl = sink.smtpUrl;
      mailApiUrl = sink.apiUrl;
    }

    const serverUrl = databaseUrl;
    return {
      natsUrl,
      databaseUrl,
      smtpUrl,
      mailApiUrl,
      sources: {
        nats: env.NATS_URL ? "env" : fallback,
        postgres: env.DATABASE_URL ? "env" : fallback,
        smtp: smtpSource,
      },
      createDatabase: (prefix) => createDatabase(prefix, serverUrl),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
