import { InfraError } from "./infra/errors.js";
import { isPortFree } from "./infra/ports.js";
import {
  type ExitInfo,
  type LogSink,
  type ManagedProcess,
  silentSink,
  spawnManaged,
  waitForProcessReady,
} from "./infra/process.js";
import { repoRoot } from "./paths.js";

/** `NODE_ENV` values the services accept. */
export type NodeEnv = "development" | "test" | "production";

/** Everything a row of the process table needs to build its command line and environment. */
export interface SystemContext {
  /** The process table being started. */
  processes: readonly ProcessSpec[];
  host: string;
  /** Port of every process, by name. */
  ports: Record<string, number>;
  natsUrl: string;
  /** PostgreSQL URL of every database, by database name. */
  databaseUrls: Record<string, string>;
  smtpUrl: string;
  nodeEnv: NodeEnv;
  logLevel: string;
}

/** One row of the process table: a process of the system and how to run it. */
export interface ProcessSpec {
  /** Process name: log prefix, key of ports and URLs. */
  name: string;
  /** `service` rows sit behind the gateway, which gets `<NAME>_URL` for each. */
  kind: "service" | "gateway";
  defaultPort: number;
  /** Start order: all rows of a stage are started together and must be ready before the next. */
  stage: number;
  /** Its own database (a key of {@link SystemContext.databaseUrls}), if it has one. */
  database?: string;
  /** Path, relative to the readiness base URL, answering 200 once ready. */
  readyPath: string;
  command(context: SystemContext): { command: string; args: string[] };
  env(context: SystemContext): Record<string, string>;
}

/** How a TypeScript entry point is run: Node with tsx, resolving workspace sources directly. */
function nodeEntry(entry: string): ProcessSpec["command"] {
  return () => ({
    command: process.execPath,
    args: ["--import", "tsx", "--conditions=portico-source", entry],
  });
}

function baseUrl(context: SystemContext, name: string): string {
  return `http://${context.host}:${context.ports[name]}`;
}

function jwksUrl(context: SystemContext): string {
  return `${baseUrl(context, "users")}/.well-known/jwks.json`;
}

/** Environment shared by every TypeScript service with a database and NATS. */
function serviceEnv(
  context: SystemContext,
  name: string,
  database: string,
): Record<string, string> {
  const databaseUrl = context.databaseUrls[database];
  if (!databaseUrl) throw new InfraError(`no database URL for "${database}" (needed by ${name})`);
  return {
    NODE_ENV: context.nodeEnv,
    PORT: String(context.ports[name]),
    HOST: context.host,
    LOG_LEVEL: context.logLevel,
    DATABASE_URL: databaseUrl,
    NATS_URL: context.natsUrl,
    JWKS_URL: jwksUrl(context),
  };
}

/** A TypeScript service row: entry `services/<name>/src/main.ts`, database `<name>`. */
function tsService(
  name: string,
  defaultPort: number,
  stage: number,
  extraEnv: (context: SystemContext) => Record<string, string> = () => ({}),
): ProcessSpec {
  return {
    name,
    kind: "service",
    defaultPort,
    stage,
    database: name,
    readyPath: "/readyz",
    command: nodeEntry(`services/${name}/src/main.ts`),
    env: (context) => ({ ...serviceEnv(context, name, name), ...extraEnv(context) }),
  };
}

/**
 * The system's processes. Users comes first (the others fetch its JWKS); the rest start together.
 * Add rows here (replicas, the Python ML service) rather than code paths.
 */
export const SYSTEM_PROCESSES: readonly ProcessSpec[] = [
  tsService("users", 8081, 0, () => ({
    ADMIN_EMAILS: "admin@portico.local",
    JWT_ISSUER: "portico",
  })),
  tsService("products", 8082, 1),
  tsService("notifications", 8083, 1, (context) => ({
    SMTP_URL: context.smtpUrl,
    MAIL_FROM: "Portico <no-reply@portico.local>",
  })),
  {
    name: "gateway",
    kind: "gateway",
    defaultPort: 8080,
    stage: 1,
    readyPath: "/readyz",
    command: nodeEntry("gateway/src/main.ts"),
    env: (context) => ({
      NODE_ENV: context.nodeEnv,
      PORT: String(context.ports.gateway),
      HOST: context.host,
      LOG_LEVEL: context.logLevel,
      JWKS_URL: jwksUrl(context),
      ...Object.fromEntries(
        context.processes
          .filter((spec) => spec.kind === "service")
          .map((spec) => [`${spec.name.toUpperCase()}_URL`, baseUrl(context, spec.name)]),
      ),
    }),
  },
];

/** Options of {@link startSystem}. */
export interface StartSystemOptions {
  natsUrl: string;
  /** PostgreSQL URL per database name (`users`, `products`, `notifications`). */
  databaseUrls: Record<string, string>;
  /** e.g. `smtp://127.0.0.1:1025`. */
  smtpUrl: string;
  /** Mail API (SMTP sink or Mailpit) base URL; only passed through to `urls.mailApi`. */
  mailApiUrl?: string;
  /** Port per process name; defaults from the table (gateway 8080, users 8081, ...). */
  ports?: Partial<Record<string, number>>;
  /** Address every process binds. Default 127.0.0.1. */
  host?: string;
  /** Default `development`. */
  nodeEnv?: NodeEnv;
  /** Default `info`. */
  logLevel?: string;
  /** Extra or overriding environment for every process. */
  env?: Record<string, string>;
  /** Extra or overriding environment per process name (wins over `env`). */
  envByProcess?: Partial<Record<string, Record<string, string>>>;
  /** Where each process's output lines go. Default: dropped (the tail is kept for errors). */
  log?: LogSink;
  /** How long each process may take to answer its readiness path with 200. Default 30 000 ms. */
  readyTimeoutMs?: number;
  /** Process table. Default {@link SYSTEM_PROCESSES}. */
  processes?: readonly ProcessSpec[];
  /** Working directory of every process. Default: the repo root. */
  cwd?: string;
  /** Aborts start-up: what was started is stopped and the promise rejects with an AbortError. */
  signal?: AbortSignal;
}

/** Base URLs of a running system. */
export interface SystemUrls {
  gateway: string;
  /** API reference page served by the gateway. */
  docs: string;
  users: string;
  products: string;
  notifications: string;
  mailApi: string | undefined;
  /** Base URL of every process by name (the above and any rows added later). */
  byProcess: Record<string, string>;
}

/** A process that ended on its own while the system was running. */
export interface UnexpectedExit {
  name: string;
  info: ExitInfo;
  /** Its last log lines. */
  tail: string[];
}

/** A started system. */
export interface RunningSystem {
  urls: SystemUrls;
  /** Resolves when a process exits without {@link RunningSystem.stop} asking it to. */
  unexpectedExit: Promise<UnexpectedExit>;
  /** Stops the processes, later stages first (SIGTERM, SIGKILL after 10 s). Idempotent. */
  stop(): Promise<void>;
}

/** Groups rows by stage, in ascending stage order. */
function stagesOf(processes: readonly ProcessSpec[]): ProcessSpec[][] {
  const stages = [...new Set(processes.map((spec) => spec.stage))].sort((a, b) => a - b);
  return stages.map((stage) => processes.filter((spec) => spec.stage === stage));
}

/** Inherited variables that the table sets per process are dropped, so none leaks to another. */
function inheritedEnv(managed: ReadonlySet<string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!managed.has(key) && !key.endsWith("_DATABASE_URL")) env[key] = value;
  }
  return env;
}

/**
 * Starts every process of the table (each `node --import tsx --conditions=portico-source <entry>`
 * from the repo root) against the given NATS, databases and SMTP server, stage by stage, waiting
 * for each `GET <readyPath>` → 200. Throws {@link InfraError} when a port is taken or a database
 * URL is missing, or naming the process and its last log lines when one exits or is not ready in
 * time; everything started is stopped before it throws.
 */
export async function startSystem(options: StartSystemOptions): Promise<RunningSystem> {
  const processes = options.processes ?? SYSTEM_PROCESSES;
  const host = options.host ?? "127.0.0.1";
  const ports = Object.fromEntries(
    processes.map((spec) => [spec.name, options.ports?.[spec.name] ?? spec.defaultPort]),
  );
  const context: SystemContext = {
    processes,
    host,
    ports,
    natsUrl: options.natsUrl,
    databaseUrls: options.databaseUrls,
    smtpUrl: options.smtpUrl,
    nodeEnv: options.nodeEnv ?? "development",
    logLevel: options.logLevel ?? "info",
  };
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;

  const envs = new Map(processes.map((spec) => [spec.name, spec.env(context)]));
  const managed = new Set(["DATABASE_URL", "NATS_URL", "SMTP_URL", "MAIL_API_URL"]);
  for (const env of envs.values()) for (const key of Object.keys(env)) managed.add(key);
  const inherited = inheritedEnv(managed);

  for (const spec of processes) {
    const port = ports[spec.name] ?? spec.defaultPort;
    if (!(await isPortFree(port, host))) {
      throw new InfraError(
        `port ${host}:${port} for ${spec.name} is already in use (another \`npm start\` still running?)`,
      );
    }
  }

  const started: ManagedProcess[][] = [];
  let stopping = false;
  let reportExit: (exit: UnexpectedExit) => void = () => {};
  const unexpectedExit = new Promise<UnexpectedExit>((resolve) => {
    reportExit = resolve;
  });
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopping = true;
    stopped ??= (async () => {
      for (const stage of started.toReversed()) {
        await Promise.all(stage.map((proc) => proc.stop(10_000)));
      }
    })();
    return stopped;
  };

  try {
    for (const stage of stagesOf(processes)) {
      options.signal?.throwIfAborted();
      const procs = stage.map((spec) => {
        const { command, args } = spec.command(context);
        const proc = spawnManaged({
          name: spec.name,
          command,
          args,
          cwd: options.cwd ?? repoRoot,
          env: {
            ...inherited,
            ...envs.get(spec.name),
            ...options.env,
            ...options.envByProcess?.[spec.name],
          },
          log: options.log ?? silentSink,
        });
        proc.exited.then((info) => {
          if (!stopping) reportExit({ name: spec.name, info, tail: proc.tail() });
        });
        return proc;
      });
      started.push(procs);

      const failed = new AbortController();
      const signal = options.signal
        ? AbortSignal.any([options.signal, failed.signal])
        : failed.signal;
      await Promise.all(
        procs.map((proc, i) =>
          waitForProcessReady(
            proc,
            `${baseUrl(context, proc.name)}${stage[i]?.readyPath ?? "/readyz"}`,
            readyTimeoutMs,
            signal,
          ).catch((error: unknown) => {
            failed.abort();
            throw error;
          }),
        ),
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }

  const byProcess = Object.fromEntries(
    processes.map((spec) => [spec.name, baseUrl(context, spec.name)]),
  );
  const url = (name: string) => byProcess[name] ?? "";
  return {
    urls: {
      gateway: url("gateway"),
      docs: `${url("gateway")}/docs`,
      users: url("users"),
      products: url("products"),
      notifications: url("notifications"),
      mailApi: options.mailApiUrl,
      byProcess,
    },
    unexpectedExit,
    stop,
  };
}
