/**
 * `npm start`: the whole system on this machine, each service and the gateway a separate process.
 *
 * Infrastructure comes from the environment when given, else is started locally under `.data/`:
 *   NATS_URL                  NATS with JetStream; else nats-server from PATH on 4222 (.data/nats)
 *   DATABASE_URL              a PostgreSQL *server* URL: the database of each service that declares
 *                             one (named after the service) is that URL with the database name as
 *                             its path, created when missing
 *   <SERVICE>_DATABASE_URL    one service's database URL as-is (wins over DATABASE_URL), e.g.
 *                             `ORDERS_DATABASE_URL` for a service `orders`
 *                             any database still without a URL: embedded PostgreSQL on 5433
 *                             (.data/postgres; 5433 so a system PostgreSQL on 5432 does not clash)
 *   SMTP_URL, MAIL_API_URL    an SMTP server (and its Mailpit API, only printed); else the built-in
 *                             sink: SMTP on 1025, Mailpit-like API on 8025
 *   NODE_ENV, LOG_LEVEL       passed to every process (defaults development, info)
 *   REPLICAS                  processes per TypeScript service (default 1); same as `--replicas N`
 *
 * A process that exits on its own is restarted with back-off (0.5 s doubling to 10 s); after 5
 * crashes within 60 s it is left stopped, and the rest keep running. In development (and unless
 * `--no-watch`) changed files restart what they concern (see `infra/watch-mode.ts`): TypeScript
 * sources the processes importing them, a contract (after `npm run generate`) its service and the
 * gateway, a Python file its service. Production (`NODE_ENV=production`) never watches.
 *
 * `npm start -- --replicas 2` runs two instances of every service declared replicable (`orders-1`
 * on its port, `orders-2` on that port + 100) behind the one gateway, which balances across them;
 * they share their service's database, its NATS queue group and its durable JetStream consumers.
 * The services and their ports, databases and needs come from their declarations (the `portico`
 * section of each service's package.json, or portico.json beside a Python service).
 * Ctrl-C (or SIGTERM, SIGHUP, a closed stdout) stops everything in reverse order, once, with no
 * restart from then on, and exits 0; a failed start-up exits 1. Killed before it has stopped its
 * processes (SIGKILL), its reaper stops them (see `infra/reaper.ts`).
 */
import { mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, relative, sep } from "node:path";
import { parseArgs } from "node:util";
import pc from "picocolors";
import { InfraError, isInfraError } from "./infra/errors.js";
import { startNats } from "./infra/nats.js";
import { isPortFree } from "./infra/ports.js";
import { ensureDatabases, startPostgres } from "./infra/postgres.js";
import { prefixedSink } from "./infra/process.js";
import { onShutdownSignal } from "./infra/shutdown.js";
import { startSmtpSink } from "./infra/smtp.js";
import { Supervisor } from "./infra/supervisor.js";
import { mirrorRoot, transpileWorkspaces } from "./infra/transpile.js";
import { Restarter, startWatchMode, type WatchTarget } from "./infra/watch-mode.js";
import { dataRoot, repoRoot } from "./paths.js";
import { pythonKits } from "./services/python-tools.js";
import {
  type NodeEnv,
  type ProcessSpec,
  type RunningSystem,
  type StartupTimeline,
  SYSTEM_PROCESSES,
  type SystemContext,
  serviceOf,
  startSystem,
  withReplicas,
} from "./system.js";

const PORTS = { nats: 4222, postgres: 5433, smtp: 1025, mailApi: 8025 } as const;

/** tsx's command line, to run the generation as a child process on the same Node. */
const TSX_CLI = createRequire(import.meta.url).resolve("tsx/cli");

/**
 * The command line: instances per TypeScript service (`--replicas N`, else `REPLICAS`, else 1)
 * and whether to watch (`--watch`, the default, or `--no-watch`).
 * @throws InfraError for an unknown option or a count that is not an integer from 1 to 9.
 */
function optionsOf(argv: string[], env: NodeJS.ProcessEnv): { replicas: number; watch: boolean } {
  let values: { replicas?: string; watch?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { replicas: { type: "string" }, watch: { type: "boolean", default: true } },
      allowNegative: true,
    }));
  } catch (error) {
    throw new InfraError(
      `${(error as Error).message}. Usage: npm start -- [--replicas N] [--no-watch]`,
    );
  }
  const raw = values.replicas ?? env.REPLICAS ?? "1";
  const replicas = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || replicas < 1 || replicas > 9) {
    throw new InfraError(`--replicas (or REPLICAS) must be an integer from 1 to 9 (got "${raw}")`);
  }
  return { replicas, watch: values.watch !== false };
}

// The processes write to pipes (their lines are prefixed here), so their log formatters see no
// terminal: when this one is a terminal, let their colours through (NO_COLOR still wins).
if (process.stdout.isTTY && process.env.FORCE_COLOR === undefined && !process.env.NO_COLOR) {
  process.env.FORCE_COLOR = "1";
}

let replicas = 1;
let watchWanted = true;
let processes = SYSTEM_PROCESSES;
try {
  ({ replicas, watch: watchWanted } = optionsOf(process.argv.slice(2), process.env));
  processes = withReplicas(SYSTEM_PROCESSES, replicas);
} catch (error) {
  process.stderr.write(`${pc.red("npm start failed:")} ${(error as Error).message}\n`);
  process.exit(1);
}
const NAME_WIDTH = Math.max(...processes.map((spec) => spec.name.length), "portico".length);

function say(message: string): void {
  process.stdout.write(`${pc.bold("portico".padEnd(NAME_WIDTH))} ${pc.dim("|")} ${message}\n`);
}

/** The server part of a URL with its password replaced by `***`, for printing. */
function redactServer(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return `${parsed.protocol}//${parsed.username}${parsed.password ? `:${parsed.password}` : ""}@${parsed.host}`;
}

/** `url` with its path replaced by `/<database>`. */
function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

async function assertPortFree(port: number, what: string, hint: string): Promise<void> {
  if (!(await isPortFree(port))) {
    throw new InfraError(`port ${port} for ${what} is already in use. ${hint}`);
  }
}

/** Stops registered with {@link started}, run in reverse by {@link stopAll}. */
const stops: { name: string; stop: () => Promise<void> }[] = [];
const aborter = new AbortController();

/** Records something to stop at shutdown; stops it at once if shutdown already began. */
async function started(name: string, stop: () => Promise<void>): Promise<void> {
  stops.push({ name, stop });
  if (aborter.signal.aborted) throw aborter.signal.reason;
}

let stopping: Promise<void> | undefined;

/**
 * Stops everything registered, in reverse; once: a second caller (a signal arriving while a failed
 * start-up is being cleaned up, or the reverse) waits for the same stop instead of exiting early.
 */
function stopAll(): Promise<void> {
  supervisor.stop(); // no crash is restarted from here on
  stopping ??= (async () => {
    for (const { name, stop } of stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (error) {
        say(pc.red(`stopping ${name} failed: ${(error as Error).message}`));
      }
    }
  })();
  return stopping;
}

/**
 * Where a start-up's time went, e.g. `infrastructure 0.1 s, prepared 0.0 s; users 1.2 s,
 * products 1.3 s, ...; gateway 0.9 s`: each process from its spawn to its readiness, stage by stage.
 * @param infrastructure milliseconds until NATS, PostgreSQL and the SMTP sink were up.
 */
function describeStartup(infrastructure: number, timeline: StartupTimeline): string {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const stages = [...new Set(timeline.processes.map((p) => p.stage))].sort((a, b) => a - b);
  const parts = stages.map((stage) =>
    timeline.processes
      .filter((p) => p.stage === stage)
      .map((p) => `${p.name} ${seconds(p.ready - p.spawned)}`)
      .join(", "),
  );
  return [
    `infrastructure ${seconds(infrastructure)}, prepared ${seconds(timeline.prepared)}`,
    ...parts,
  ].join("; ");
}

/**
 * What watch mode needs to know of a row, read from its command line: a TypeScript row runs
 * `node <mirror>/<entry>.js`, another row whose executable lies in `<dir>/.venv/` (a Python
 * service) is restarted on changes below `<dir>`. `undefined` when neither applies.
 */
function watchTargetOf(spec: ProcessSpec, context: SystemContext): WatchTarget | undefined {
  const { command, args } = spec.command(context);
  const mirror = `${mirrorRoot(repoRoot)}${sep}`;
  const script = args.find((arg) => arg.startsWith(mirror));
  const entry = script
    ? relative(mirror, script).split(sep).join("/").replace(/\.js$/, ".ts")
    : undefined;
  const venv = `${sep}.venv${sep}`;
  const dir =
    !entry && command.includes(venv)
      ? relative(repoRoot, command.slice(0, command.indexOf(venv)))
      : undefined;
  if (!entry && (!dir || dir.startsWith(".."))) return undefined;
  return {
    name: spec.name,
    service: serviceOf(spec),
    kind: spec.kind,
    stage: spec.stage,
    // A Python service also loads the Python kits (services/kit-python): a change there concerns it.
    ...(entry
      ? { entry }
      : { dirs: [dir?.split(sep).join("/") as string, ...pythonKits().map((kit) => kit.dir)] }),
  };
}

/** Restarts crashed processes (see the module comment); set up once the system is running. */
let running: RunningSystem | undefined;
const restarter = new Restarter({
  stopProcess: (name, graceMs) => (running as RunningSystem).stopProcess(name, graceMs),
  startProcess: (name) => (running as RunningSystem).startProcess(name),
});
const supervisor = new Supervisor({
  restart: (name) => restarter.restart(name),
  report: (line) => say(pc.yellow(line)),
});

/** Starts infrastructure and system, prints the URLs; resolves to the running system. */
async function startAll(): Promise<RunningSystem> {
  const begin = performance.now();
  const env = process.env;
  const log = prefixedSink({ width: NAME_WIDTH });
  const nodeEnv = (env.NODE_ENV as NodeEnv | undefined) ?? "development";

  let natsUrl = env.NATS_URL;
  if (!natsUrl) {
    await assertPortFree(
      PORTS.nats,
      "nats-server",
      "Stop what uses it, or set NATS_URL to use it.",
    );
    const nats = await startNats({ storeDir: join(dataRoot, "nats"), port: PORTS.nats });
    await started("nats-server", nats.stop);
    natsUrl = nats.url;
  }

  const databases = SYSTEM_PROCESSES.flatMap((spec) => (spec.database ? [spec.database] : []));
  const databaseUrls: Record<string, string> = {};
  for (const db of databases) {
    const url =
      env[`${db.toUpperCase()}_DATABASE_URL`] ??
      (env.DATABASE_URL ? withDatabase(env.DATABASE_URL, db) : undefined);
    if (url) databaseUrls[db] = url;
  }
  if (env.DATABASE_URL) {
    const viaServer = databases.filter((db) => !env[`${db.toUpperCase()}_DATABASE_URL`]);
    await ensureDatabases(env.DATABASE_URL, viaServer);
  }
  const missing = databases.filter((db) => !databaseUrls[db]);
  let postgresUrl: string | undefined;
  let postgresData: string | undefined;
  if (missing.length > 0) {
    await assertPortFree(
      PORTS.postgres,
      "PostgreSQL",
      "Stop what uses it, or set DATABASE_URL to a PostgreSQL server URL.",
    );
    await mkdir(dataRoot, { recursive: true });
    const postgres = await startPostgres({
      dataDir: join(dataRoot, "postgres"),
      port: PORTS.postgres,
      databases: missing,
    });
    await started("postgres", postgres.stop);
    Object.assign(databaseUrls, postgres.urls);
    postgresUrl = postgres.serverUrl;
    postgresData = postgres.dataDir;
    if (postgres.relocated)
      say(pc.yellow(`PostgreSQL data placed in ${postgres.dataDir}: ${postgres.relocated}`));
  }

  let smtpUrl = env.SMTP_URL;
  let mailApiUrl = env.MAIL_API_URL;
  if (!smtpUrl) {
    const hint = "Stop what uses it, or set SMTP_URL (and MAIL_API_URL) to use another server.";
    await assertPortFree(PORTS.smtp, "the SMTP sink", hint);
    await assertPortFree(PORTS.mailApi, "the mail API", hint);
    const sink = await startSmtpSink({ smtpPort: PORTS.smtp, httpPort: PORTS.mailApi });
    await started("smtp-sink", sink.stop);
    smtpUrl = sink.smtpUrl;
    mailApiUrl = sink.apiUrl;
  }

  const infrastructure = performance.now() - begin;
  say(`infrastructure ready; starting ${processes.map((spec) => spec.name).join(", ")}`);
  const system = await startSystem({
    replicas,
    natsUrl,
    databaseUrls,
    smtpUrl,
    mailApiUrl,
    nodeEnv,
    logLevel: env.LOG_LEVEL ?? "info",
    log,
    signal: aborter.signal,
    // Crashes during start-up fail the start-up instead.
    onUnexpectedExit: (exit) => {
      if (running) supervisor.crashed(exit.name, exit.info);
    },
  });
  await started("services", system.stop);
  running = system;
  // First to stop: no restart may start a process once the system is being stopped.
  await started("supervision", async () => {
    supervisor.stop();
    await restarter.close();
  });

  const seconds = ((performance.now() - begin) / 1000).toFixed(1);
  const rows: [string, string | undefined][] = [
    ["gateway", system.urls.gateway],
    ["docs", system.urls.docs],
    ...Object.entries(system.urls.byProcess).filter(([name]) => name !== "gateway"),
    ["mail API", mailApiUrl],
    ["NATS", natsUrl],
    ["PostgreSQL", postgresUrl ? redactServer(postgresUrl) : "(from DATABASE_URL)"],
    ["PostgreSQL data", postgresData],
  ];
  const width = Math.max(...rows.map(([name]) => name.length)) + 2;
  say(pc.green(`Portico is up in ${seconds} s`));
  say(pc.dim(`  (${describeStartup(infrastructure, system.startup)})`));
  for (const [name, url] of rows) if (url) say(`  ${name.padEnd(width)}${pc.cyan(url)}`);
  let watching = "not watching for changes (--no-watch)";
  if (nodeEnv !== "development") watching = `not watching for changes (NODE_ENV=${nodeEnv})`;
  else if (watchWanted) {
    const context = {} as SystemContext; // the rows' commands read nothing from it
    const targets = processes.flatMap((spec) => watchTargetOf(spec, context) ?? []);
    const watcher = await startWatchMode({
      repoRoot,
      targets,
      restarter,
      supervisor,
      transpile: async () => {
        await transpileWorkspaces({ repoRoot });
      },
      generate: {
        command: process.execPath,
        args: [TSX_CLI, "--conditions=portico-source", join("scripts", "src", "generate.ts")],
      },
      say: (line) => say(pc.magenta(line)),
      log,
    });
    await started("watcher", async () => {
      // Restarts still queued by the batch being handled are refused, so it ends quickly.
      const closing = restarter.close();
      await watcher.close();
      await closing;
    });
    watching = "watching for changes (npm start -- --no-watch turns it off)";
  }
  say(`${watching}; crashed processes restart with back-off. Press Ctrl-C to stop.`);
  return system;
}

let startup: Promise<RunningSystem> | undefined;
onShutdownSignal(async (signal) => {
  say(`${signal}: stopping…`);
  aborter.abort();
  supervisor.stop(); // a process dying from here on is not restarted
  // Let an in-flight start-up step settle (it stops itself on abort), but do not wait forever.
  await Promise.race([startup?.catch(() => {}), new Promise((r) => setTimeout(r, 15_000))]);
  await stopAll();
  say("stopped.");
  return 0;
});

// A reader of our output that goes away (`npm start | head`, a closed pipe) asks us to stop as a
// closed terminal does (instead of an uncaught EPIPE killing us before we stopped anything).
let readerGone = false;
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  if (readerGone) return;
  readerGone = true;
  process.kill(process.pid, "SIGHUP");
});

startup = startAll();
startup.catch(async (error: unknown) => {
  // A helper in our process group (esbuild's service) dies of the same Ctrl-C a moment before its
  // signal reaches us: let that signal arrive, so the stop is reported as a stop, not a failure.
  await new Promise((resolve) => setTimeout(resolve, 200));
  if (aborter.signal.aborted) return; // a signal handler owns the shutdown
  aborter.abort();
  const detail = isInfraError(error) ? error.message : ((error as Error).stack ?? String(error));
  process.stderr.write(`${pc.red("npm start failed:")} ${detail}\n`);
  await stopAll();
  process.exit(1);
});
