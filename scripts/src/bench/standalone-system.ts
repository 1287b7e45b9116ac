/**
 * The whole system outside jest, on infrastructure of its own: a nats-server, an embedded
 * PostgreSQL and the SMTP sink in a temporary directory, every process of `SYSTEM_PROCESSES` on
 * free loopback ports (as `npm start` runs them, but without its fixed ports or `.data/`), for the
 * benchmark and the contract fuzzer. Nothing it starts outlives {@link StandaloneSystem.stop}.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNats } from "../infra/nats.js";
import { getFreePort } from "../infra/ports.js";
import { startPostgres } from "../infra/postgres.js";
import { type LogSink, silentSink } from "../infra/process.js";
import { startSmtpSink } from "../infra/smtp.js";
import { type NodeEnv, type RunningSystem, SYSTEM_PROCESSES, startSystem } from "../system.js";

/** The administrator address the users service is configured with (ADMIN_EMAILS). */
export const STANDALONE_ADMIN_EMAIL = "admin@portico.local";

/** Options of {@link startStandaloneSystem}. */
export interface StandaloneSystemOptions {
  /** Prefix of the temporary directory. */
  name: string;
  /** Default `production` (responses not validated by the services, as deployed). */
  nodeEnv?: NodeEnv;
  /** Default `warn`: an access-log line per request is not what a benchmark should measure. */
  logLevel?: string;
  /** Where every process's output goes. Default: dropped (the tail is kept for errors). */
  log?: LogSink;
  /** Extra environment per process name (wins over the table's). */
  envByProcess?: Record<string, Record<string, string>>;
  /** `false` skips PostgreSQL's fsync (throwaway data). Default `true`, as `npm start` runs it. */
  durable?: boolean;
  /** Names of the processes to start (default: all of `SYSTEM_PROCESSES`). */
  processes?: readonly string[];
}

/** A running standalone system. */
export interface StandaloneSystem {
  urls: RunningSystem["urls"] & { mailApi: string };
  /** Port of every process of the table, by name. */
  ports: Record<string, number>;
  /** PostgreSQL URL of each service's database, by database (service) name. */
  databaseUrls: Record<string, string>;
  adminEmail: string;
  stop(): Promise<void>;
}

/** A fresh P-256 private key as PKCS#8 PEM, for the users service's `JWT_PRIVATE_KEY`. */
export function newSigningKeyPem(): string {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return privateKey.export({ format: "pem", type: "pkcs8" }).toString();
}

/**
 * Starts NATS, PostgreSQL, the SMTP sink and every process of the system.
 * @throws InfraError naming the part that failed (everything started is stopped first).
 */
export async function startStandaloneSystem(
  options: StandaloneSystemOptions,
): Promise<StandaloneSystem> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const step of stops.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    const dir = await mkdtemp(join(tmpdir(), `portico-${options.name}-`));
    await chmod(dir, 0o755); // as root, PostgreSQL runs as `postgres` and must enter it
    stops.push(() => rm(dir, { recursive: true, force: true }));
    const nats = await startNats({ storeDir: join(dir, "nats") });
    stops.push(nats.stop);
    const databases = SYSTEM_PROCESSES.flatMap((spec) => (spec.database ? [spec.database] : []));
    const postgres = await startPostgres({
      dataDir: join(dir, "postgres"),
      databases,
      durable: options.durable ?? true,
    });
    stops.push(postgres.stop);
    const smtp = await startSmtpSink({ smtpPort: 0, httpPort: 0 });
    stops.push(smtp.stop);

    const processes = SYSTEM_PROCESSES.filter(
      (spec) => !options.processes || options.processes.includes(spec.name),
    );
    const ports: Record<string, number> = {};
    for (const spec of processes) ports[spec.name] = await getFreePort();
    const nodeEnv = options.nodeEnv ?? "production";
    const users = {
      ADMIN_EMAILS: STANDALONE_ADMIN_EMAIL,
      ...(nodeEnv === "production"
        ? {
            JWT_PRIVATE_KEY: newSigningKeyPem(),
            DEVICE_COOKIE_KEY: randomBytes(32).toString("base64url"),
          }
        : {}),
      ...options.envByProcess?.users,
    };
    const system = await startSystem({
      natsUrl: nats.url,
      databaseUrls: postgres.urls,
      smtpUrl: smtp.smtpUrl,
      mailApiUrl: smtp.apiUrl,
      ports,
      nodeEnv,
      logLevel: options.logLevel ?? "warn",
      envByProcess: { ...options.envByProcess, users },
      log: options.log ?? silentSink,
      readyTimeoutMs: 60_000,
      processes,
    });
    stops.push(system.stop);
    return {
      urls: { ...system.urls, mailApi: smtp.apiUrl },
      ports,
      databaseUrls: postgres.urls,
      adminEmail: STANDALONE_ADMIN_EMAIL,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
