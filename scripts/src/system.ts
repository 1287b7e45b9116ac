import { join } from "node:path";
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
import { mirrorRoot, transpileWorkspaces } from "./infra/transpile.js";
import { repoRoot } from "./paths.js";
import {
  providerOf,
  readServiceDeclarations,
  type ServiceDeclaration,
  type SystemVariable,
  TOKEN_CLAIMS,
  upstreamVariable,
} from "./services/declarations.js";
import { ensurePythonEnv, pythonBin } from "./services/python-env.js";

/** `NODE_ENV` values the services accept. */
export type NodeEnv = "development" | "test" | "production";

/** Everything a row of the process table needs to build its command line and environment. */
export interface SystemContext {
  /** The process table being started. */
  processes: readonly ProcessSpec[];
  /** The declared services (who provides `JWKS_URL`, which services sit behind the gateway). */
  services: readonly ServiceDeclaration[];
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
  /** Process name: log prefix, key of ports and URLs (`products`, or `products-2` for a replica). */
  name: string;
  /** The service the row runs, shared by its replicas (see {@link withReplicas}). Default: `name`. */
  service?: string;
  /**
   * `service` rows sit behind the gateway, which gets `<SERVICE>_URL` for each service: the URL of
   * every row of that service, comma-separated.
   */
  kind: "service" | "gateway";
  /** Whether several copies of the row may run at once (see {@link withReplicas}). */
  replicable?: boolean;
  defaultPort: number;
  /** Start order: all rows of a stage are started together and must be ready before the next. */
  stage: number;
  /** Its own database (a key of {@link SystemContext.databaseUrls}), if it has one. */
  database?: string;
  /** Path, relative to the readiness base URL, answering 200 once ready. */
  readyPath: string;
  command(context: SystemContext): { command: string; args: string[] };
  /** The row's environment; `self` is the row being started (a replica's own name and port). */
  env(context: SystemContext, self: ProcessSpec): Record<string, string>;
  /**
   * Makes the row runnable before anything starts (once per table, whatever the replicas), e.g.
   * creates the ML service's Python environment. Throws to abort the start-up.
   */
  prepare?: () => Promise<void>;
}

/** Port distance between replicas of one row: products 8082, 8182, 8282, ... */
export const REPLICA_PORT_STEP = 100;

/** The service a row runs. */
export function serviceOf(spec: ProcessSpec): string {
  return spec.service ?? spec.name;
}

/**
 * The process table with `replicas` copies of every replicable row, named `<name>-1`,
 * `<name>-2`, ... on ports `defaultPort + REPLICA_PORT_STEP * (i - 1)`; other rows unchanged.
 * With `replicas` 1 the table is returned as is (names without a suffix).
 * @throws InfraError unless `replicas` is an integer from 1 to 9.
 */
export function withReplicas(processes: readonly ProcessSpec[], replicas: number): ProcessSpec[] {
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 9) {
    throw new InfraError(`replicas must be an integer from 1 to 9 (got ${replicas})`);
  }
  return processes.flatMap((spec) =>
    replicas === 1 || !spec.replicable
      ? [spec]
      : Array.from({ length: replicas }, (_, i) => ({
          ...spec,
          name: `${spec.name}-${i + 1}`,
          service: serviceOf(spec),
          defaultPort: spec.defaultPort + REPLICA_PORT_STEP * i,
        })),
  );
}

/**
 * Node.js flags of every TypeScript process of the system in production, as `npm start`, the
 * benchmark and the container images (`ENV NODE_OPTIONS` of each TypeScript service's Dockerfile,
 * hence compose and Kubernetes) run them. Chosen for idle resident memory (issue 14: at most 100 MB
 * per process), measured by starting copies of each process beside a running system, three
 * starts per flag set, 2 s after ready:
 * - `--max-semi-space-size=2` (MiB): V8's young generation is two semi-spaces, each up to 16 MiB by
 *   default; start-up alone grows them to their maximum, and an idle process keeps both resident
 *   until V8's memory reducer runs (20-40 s later, if at all). 4 MiB each kept ~25 MiB of that out
 *   of every process (products idle: 122 → 99 MiB); 2 MiB saves ~4 MiB more (users 107 → 106,
 *   products 100 → 97, notifications 110 → 105, gateway 109 → 104) for no measurable CPU (527 vs
 *   535 µs per `GET /products`, interleaved runs on one process each). 1 MiB would save 2-5 MiB
 *   more but cost 12-30 % more CPU per request under load (686 vs 915 µs).
 * Not here: `--enable-source-maps` (see {@link nodeFlags}); `--single-threaded-gc` (+3-5 MiB: no
 * concurrent marking, so garbage from start-up stays longer); `--v8-pool-size=1` and
 * `MALLOC_ARENA_MAX` (within the ±3 MiB noise from start to start; with the kit's compacting GC
 * after start, `--v8-pool-size=1` measured ~2 MiB less in two runs, not shown to be free of CPU);
 * `MALLOC_TRIM_THRESHOLD_`/`MALLOC_MMAP_THRESHOLD_` of 128 KiB (glibc: 2-5 MiB less in three runs,
 * but fixed thresholds mean more brk/mmap system calls under load, not measured; the users
 * service declares a 1 MiB `MALLOC_MMAP_THRESHOLD_` of its own, for its Argon2 blocks: see its
 * README). What start-up
 * leaves in the heap is returned by one compacting GC a second after the process first listens
 * (`services/kit/src/heap-compaction.ts`), not by a flag: Node accepts no V8 GC flag in
 * `NODE_OPTIONS`, and `--gc-memory-reducer-start-delay-ms` did not make the memory reducer come
 * sooner.
 */
export const NODE_FLAGS: readonly string[] = ["--max-semi-space-size=2"];

/**
 * {@link NODE_FLAGS}, plus `--enable-source-maps` outside production, so that stack traces name
 * the `.ts` files and lines (as they did under tsx). Not in production: Node then reads and keeps
 * the source map of every module that has one (ours and several packages'), 1.5-3.5 MiB of heap
 * per process; a production stack trace names the transpiled `.js` line instead.
 */
export function nodeFlags(nodeEnv: NodeEnv): readonly string[] {
  return nodeEnv === "production" ? NODE_FLAGS : [...NODE_FLAGS, "--enable-source-maps"];
}

/**
 * Transpiles the workspaces into the JavaScript mirror the TypeScript rows run from (see
 * `infra/transpile.ts`). Every such row shares this one function, so a start transpiles once.
 */
export async function prepareJavaScript(): Promise<void> {
  await transpileWorkspaces({ repoRoot });
}

/**
 * The command running a TypeScript entry (`gateway/src/main.ts`, relative to the repo root) as
 * `node <flags of nodeEnv> <its transpiled .js in the mirror>` (see {@link nodeFlags}; default
 * production): no loader in the process (tsx cost each one ~35 MiB and ~1 s of start-up). Needs
 * {@link prepareJavaScript} first.
 */
export function nodeCommand(
  entry: string,
  nodeEnv: NodeEnv = "production",
): { command: string; args: string[] } {
  return {
    command: process.execPath,
    args: [...nodeFlags(nodeEnv), join(mirrorRoot(repoRoot), entry.replace(/\.ts$/, ".js"))],
  };
}

/** {@link nodeCommand} as a row's `command`, with the flags of the system's `NODE_ENV`. */
function nodeEntry(entry: string): ProcessSpec["command"] {
  return (context) => nodeCommand(entry, context.nodeEnv);
}

function baseUrl(context: SystemContext, name: string): string {
  return `http://${context.host}:${context.ports[name]}`;
}

/** Names of the rows running `service`, in table order. */
function instancesOf(context: SystemContext, service: string): string[] {
  return context.processes.filter((spec) => serviceOf(spec) === service).map((spec) => spec.name);
}

/** The URL of every instance of the service providing `variable` plus its path, in table order. */
function providedUrls(context: SystemContext, variable: SystemVariable): string[] {
  const provider = providerOf(context.services, variable);
  if (!provider) return [];
  return instancesOf(context, provider.service.name).map(
    (name) => `${baseUrl(context, name)}${provider.path}`,
  );
}

/**
 * The value of each system variable a service needs, under `npm start`. `JWKS_URL` is the first
 * instance's of its provider (the kit reads one URL; jose caches the keys it fetched).
 */
function systemValue(
  context: SystemContext,
  service: ServiceDeclaration,
  variable: SystemVariable,
): string {
  switch (variable) {
    case "NATS_URL":
      return context.natsUrl;
    case "SMTP_URL":
      return context.smtpUrl;
    case "JWKS_URL":
      return providedUrls(context, variable)[0] ?? "";
    case "DATABASE_URL": {
      const url = context.databaseUrls[service.name];
      if (!url) throw new InfraError(`no database URL for "${service.name}"`);
      return url;
    }
  }
}

/** Variables of every process: NODE_ENV, HOST, PORT, LOG_LEVEL and the token claims checked. */
function platformEnv(context: SystemContext, self: ProcessSpec): Record<string, string> {
  return {
    NODE_ENV: context.nodeEnv,
    PORT: String(context.ports[self.name]),
    HOST: context.host,
    LOG_LEVEL: context.logLevel,
    ...TOKEN_CLAIMS,
  };
}

/**
 * The row of a declared service (see scripts/src/services/declarations.ts): a TypeScript service
 * runs `services/<name>/src/main.ts` from the transpiled mirror, a Python one `python -m app` from
 * its virtual environment (created on the first start).
 */
export function serviceProcess(service: ServiceDeclaration): ProcessSpec {
  const dir = join(repoRoot, service.dir);
  return {
    name: service.name,
    kind: "service",
    replicable: service.replicable,
    defaultPort: service.port,
    stage: 0,
    ...(service.database ? { database: service.name } : {}),
    readyPath: service.readyPath,
    prepare:
      service.language === "typescript"
        ? prepareJavaScript
        : () =>
            ensurePythonEnv(dir, {
              log: (line) => process.stdout.write(`${service.name}: ${line}\n`),
            }),
    command:
      service.language === "typescript"
        ? nodeEntry(`${service.dir}/src/main.ts`)
        : () => ({ command: pythonBin(dir, "python"), args: ["-m", "app"] }),
    env: (context, self) => ({
      ...platformEnv(context, self),
      ...Object.fromEntries(
        service.needs.map((variable) => [variable, systemValue(context, service, variable)]),
      ),
      ...service.config,
      // Python: `-m app` from any working directory; logs reach the orchestrator line by line.
      ...(service.language === "python" ? { PYTHONPATH: dir, PYTHONUNBUFFERED: "1" } : {}),
    }),
  };
}

/** The gateway's row: every service behind it as `<SERVICE>_URL` (all its instances). */
const GATEWAY_PROCESS: ProcessSpec = {
  name: "gateway",
  kind: "gateway",
  defaultPort: 8080,
  stage: 1,
  readyPath: "/readyz",
  prepare: prepareJavaScript,
  command: nodeEntry("gateway/src/main.ts"),
  env: (context, self) => ({
    ...platformEnv(context, self),
    // Every instance of the token issuer: the gateway tries them in order.
    JWKS_URL: providedUrls(context, "JWKS_URL").join(","),
    // The live side: GET /events, cache invalidation and API-key checks.
    NATS_URL: context.natsUrl,
    // Test runs send far more requests a minute than any client would: limits out of the way
    // (the gateway's own tests exercise them).
    ...(context.nodeEnv === "test"
      ? { RATE_LIMIT_MAX: "1000000000", RATE_LIMIT_ANONYMOUS_MAX: "1000000000" }
      : {}),
    ...Object.fromEntries(
      [
        ...new Set(context.processes.filter((s) => s.kind === "service").map((s) => serviceOf(s))),
      ].map((service) => [
        upstreamVariable(service),
        instancesOf(context, service)
          .map((name) => baseUrl(context, name))
          .join(","),
      ]),
    ),
  }),
};

/**
 * The process table of the declared services (`services/*`, see {@link readServiceDeclarations})
 * and the gateway. The services start together (stage 0): none needs another to start — each
 * fetches the issuer's JWK Set when it first verifies a token, and asks other services over NATS
 * only while serving. The gateway starts once they are ready (stage 1): it is ready only when
 * every upstream passed a health check. {@link withReplicas} copies the replicable rows. One
 * gateway: it holds no state, but nothing balances in front of it locally.
 */
export function systemProcesses(
  services: readonly ServiceDeclaration[] = readServiceDeclarations(),
): ProcessSpec[] {
  return [...services.map(serviceProcess), GATEWAY_PROCESS];
}

/** {@link systemProcesses} of this repository's services. */
export const SYSTEM_PROCESSES: readonly ProcessSpec[] = systemProcesses();

/** Options of {@link startSystem}. */
export interface StartSystemOptions {
  natsUrl: string;
  /** PostgreSQL URL per database name (each service with a database has its own, by its name). */
  databaseUrls: Record<string, string>;
  /** e.g. `smtp://127.0.0.1:1025`. */
  smtpUrl: string;
  /** Mail API (SMTP sink or Mailpit) base URL; only passed through to `urls.mailApi`. */
  mailApiUrl?: string;
  /**
   * Port per process name; defaults from the table (gateway 8080, users 8081, ...; replicas
   * `products-2` 8182, ...).
   */
  ports?: Partial<Record<string, number>>;
  /**
   * Copies of every replicable row (the TypeScript services), named `<name>-<i>` (see
   * {@link withReplicas}); `ports` and `byProcess` use those names. Default 1.
   */
  replicas?: number;
  /** Address every process binds. Default 127.0.0.1. */
  host?: string;
  /** Default `development`. */
  nodeEnv?: NodeEnv;
  /** Default `info`. */
  logLevel?: string;
  /** Extra or overriding environment for every process. */
  env?: Record<string, string>;
  /**
   * Extra or overriding environment per process name (wins over `env`); a service name applies
   * to each of its replicas, a replica's own name (`users-2`) wins over it.
   */
  envByProcess?: Partial<Record<string, Record<string, string>>>;
  /** Where each process's output lines go. Default: dropped (the tail is kept for errors). */
  log?: LogSink;
  /** How long each process may take to answer its readiness path with 200. Default 30 000 ms. */
  readyTimeoutMs?: number;
  /** Process table. Default {@link SYSTEM_PROCESSES}. */
  processes?: readonly ProcessSpec[];
  /** The declared services the table was built from. Default: this repository's. */
  services?: readonly ServiceDeclaration[];
  /** Working directory of every process. Default: the repo root. */
  cwd?: string;
  /** Aborts start-up: what was started is stopped and the promise rejects with an AbortError. */
  signal?: AbortSignal;
  /**
   * Called each time a process exits without being asked to (`unexpectedExit` settles on the
   * first only), e.g. to restart it with {@link RunningSystem.startProcess}.
   */
  onUnexpectedExit?: (exit: UnexpectedExit) => void;
}

/** Base URLs of a running system. */
export interface SystemUrls {
  gateway: string;
  /** API reference page served by the gateway. */
  docs: string;
  /** Each service's base URL (its first instance when replicated), by service name. */
  byService: Record<string, string>;
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
  /** How the start-up went, to tell where its time went. */
  startup: StartupTimeline;
  /** Resolves when a process exits without {@link RunningSystem.stop} asking it to. */
  unexpectedExit: Promise<UnexpectedExit>;
  /** Stops the processes, later stages first (SIGTERM, SIGKILL after 10 s). Idempotent. */
  stop(): Promise<void>;
  /**
   * Stops one process (SIGTERM, SIGKILL after `graceMs`, default 10 000), e.g. to take a service
   * down in a fault test; its exit is not reported as unexpected.
   * @throws InfraError when no process has this name.
   */
  stopProcess(name: string, graceMs?: number): Promise<void>;
  /**
   * Starts a process stopped by {@link RunningSystem.stopProcess} again, with the same command
   * and environment, and waits until it is ready.
   * @throws InfraError when no process has this name or it is still running; the readiness error.
   */
  startProcess(name: string): Promise<void>;
}

/** Milliseconds since {@link startSystem} was called, per step of the start-up. */
export interface StartupTimeline {
  /** When the rows' `prepare` steps (transpiling, the ML environment) had finished. */
  prepared: number;
  /** Each process, in the order they became ready: when it was spawned and answered ready. */
  processes: { name: string; stage: number; spawned: number; ready: number }[];
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
 * Starts every process of the table (each TypeScript row as `node <entry>.js` from the
 * transpiled mirror, see {@link nodeCommand}; working directory the repo root) against the given NATS, databases and SMTP server, stage by stage, waiting
 * for each `GET <readyPath>` → 200. Throws {@link InfraError} when a port is taken or a database
 * URL is missing, or naming the process and its last log lines when one exits or is not ready in
 * time; everything started is stopped before it throws.
 */
export async function startSystem(options: StartSystemOptions): Promise<RunningSystem> {
  const begin = performance.now();
  const since = () => Math.round(performance.now() - begin);
  const processes = withReplicas(options.processes ?? SYSTEM_PROCESSES, options.replicas ?? 1);
  const host = options.host ?? "127.0.0.1";
  const ports = Object.fromEntries(
    processes.map((spec) => [spec.name, options.ports?.[spec.name] ?? spec.defaultPort]),
  );
  const context: SystemContext = {
    processes,
    services: options.services ?? readServiceDeclarations(),
    host,
    ports,
    natsUrl: options.natsUrl,
    databaseUrls: options.databaseUrls,
    smtpUrl: options.smtpUrl,
    nodeEnv: options.nodeEnv ?? "development",
    logLevel: options.logLevel ?? "info",
  };
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;

  const envs = new Map(processes.map((spec) => [spec.name, spec.env(context, spec)]));
  const managed = new Set(["DATABASE_URL", "NATS_URL", "SMTP_URL", "MAIL_API_URL"]);
  for (const env of envs.values()) for (const key of Object.keys(env)) managed.add(key);
  const inherited = inheritedEnv(managed);

  // Once per function (replicas and rows share them), all at once.
  const prepares = new Set(processes.flatMap((spec) => (spec.prepare ? [spec.prepare] : [])));
  // Settled before anything is thrown, so no preparation is left running behind a failed start.
  const prepared = await Promise.allSettled([...prepares].map((prepare) => prepare()));
  for (const outcome of prepared) if (outcome.status === "rejected") throw outcome.reason;
  const timeline: StartupTimeline = { prepared: since(), processes: [] };
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

  /** Processes stopped on purpose by stopProcess: their exit is expected. */
  const held = new Set<ManagedProcess>();
  const launch = (spec: ProcessSpec): ManagedProcess => {
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
        ...(spec.name === serviceOf(spec) ? {} : options.envByProcess?.[serviceOf(spec)]),
        ...options.envByProcess?.[spec.name],
      },
      log: options.log ?? silentSink,
    });
    proc.exited.then((info) => {
      if (stopping || held.has(proc)) return;
      const exit = { name: spec.name, info, tail: proc.tail() };
      reportExit(exit);
      options.onUnexpectedExit?.(exit);
    });
    return proc;
  };

  try {
    for (const stage of stagesOf(processes)) {
      options.signal?.throwIfAborted();
      const procs = stage.map(launch);
      started.push(procs);
      const spawned = since();

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
          ).then(
            () => {
              const spec = stage[i] as ProcessSpec;
              timeline.processes.push({
                name: spec.name,
                stage: spec.stage,
                spawned,
                ready: since(),
              });
            },
            (error: unknown) => {
              failed.abort();
              throw error;
            },
          ),
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
  // A service's URL is its first instance's.
  const url = (name: string) =>
    byProcess[name] ??
    byProcess[processes.find((spec) => serviceOf(spec) === name)?.name ?? ""] ??
    "";
  /** Where a process sits in `started` (replaced there when it is started again). */
  const locate = (name: string) => {
    for (const stage of started) {
      const index = stage.findIndex((proc) => proc.name === name);
      if (index >= 0) return { stage, index, proc: stage[index] as ManagedProcess };
    }
    throw new InfraError(`no process named "${name}" in this system`);
  };
  const stopProcess = async (name: string, graceMs = 10_000) => {
    const { proc } = locate(name);
    held.add(proc);
    await proc.stop(graceMs);
  };
  const startProcess = async (name: string) => {
    const { stage, index, proc: previous } = locate(name);
    const spec = processes.find((row) => row.name === name) as ProcessSpec;
    if (previous.exitInfo() === undefined) throw new InfraError(`${name} is still running`);
    const proc = launch(spec);
    stage[index] = proc;
    await waitForProcessReady(proc, `${baseUrl(context, name)}${spec.readyPath}`, readyTimeoutMs);
  };
  return {
    stopProcess,
    startProcess,
    urls: {
      gateway: url("gateway"),
      docs: `${url("gateway")}/docs`,
      byService: Object.fromEntries(
        [...new Set(processes.map(serviceOf))].map((service) => [service, url(service)]),
      ),
      mailApi: options.mailApiUrl,
      byProcess,
    },
    startup: timeline,
    unexpectedExit,
    stop,
  };
}
