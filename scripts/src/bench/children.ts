/**
 * The benchmark's own processes: each server under test runs as a separate OS process (the load
 * generator must not share its event loop), started from a TypeScript entry the way `npm start`
 * starts the services, and stopped by the benchmark on every exit path.
 */
import { getFreePort } from "../infra/ports.js";
import {
  type LogSink,
  type ManagedProcess,
  spawnManaged,
  waitForProcessReady,
} from "../infra/process.js";
import { repoRoot } from "../paths.js";
import { NODE_FLAGS, nodeCommand, prepareJavaScript } from "../system.js";

/** A process started by {@link startNodeChild}: its base URL and how to stop it. */
export interface BenchChild {
  name: string;
  url: string;
  port: number;
  process: ManagedProcess;
  /** SIGTERM (SIGKILL after 5 s); idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startNodeChild}. */
export interface NodeChildOptions {
  name: string;
  /**
   * TypeScript entry, relative to the repo root; or a JavaScript file (absolute, ending in `.js`),
   * run with plain `node` and the flags `npm start` gives the services.
   */
  entry: string;
  /** Environment on top of the inherited one; `PORT` and `HOST` are set here. */
  env?: Record<string, string>;
  /** Path answering 200 once ready. */
  readyPath: string;
  /** Extra Node.js flags before the entry, e.g. `--cpu-prof`. */
  nodeFlags?: readonly string[];
  log?: LogSink;
}

/**
 * Starts `entry` on a free loopback port and waits until `GET <readyPath>` answers 200 (at most
 * 60 s). A service or the gateway runs as `npm start` runs it (its transpiled JavaScript, see
 * `nodeCommand`), and so does a `.js` entry; the benchmark's own TypeScript servers (`scripts/`)
 * run through tsx.
 * @throws InfraError with the process's last log lines when it exits or is not ready in time.
 */
export async function startNodeChild(options: NodeChildOptions): Promise<BenchChild> {
  const port = await getFreePort();
  const ownServer = options.entry.startsWith("scripts/");
  const javascript = options.entry.endsWith(".js");
  if (!ownServer && !javascript) await prepareJavaScript();
  const { command, args } = javascript
    ? { command: process.execPath, args: [...NODE_FLAGS, options.entry] }
    : ownServer
      ? {
          command: process.execPath,
          args: ["--import", "tsx", "--conditions=portico-source", options.entry],
        }
      : nodeCommand(options.entry);
  const proc = spawnManaged({
    name: options.name,
    command,
    args: [...(options.nodeFlags ?? []), ...args],
    cwd: repoRoot,
    env: { ...process.env, ...options.env, PORT: String(port), HOST: "127.0.0.1" },
    log: options.log,
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForProcessReady(proc, `${url}${options.readyPath}`, 60_000);
  } catch (error) {
    await proc.stop(1000);
    throw error;
  }
  return {
    name: options.name,
    url,
    port,
    process: proc,
    stop: async () => {
      await proc.stop(5000);
    },
  };
}

/** Stops registered in order of start, run in reverse by {@link Stack.stopAll}. */
export class Stack {
  readonly #stops: (() => Promise<void>)[] = [];

  /** Registers `stop` and returns `value`, so a start can be wrapped in one expression. */
  add<T>(value: T, stop: () => Promise<unknown>): T {
    this.#stops.push(async () => {
      await stop();
    });
    return value;
  }

  /** Runs every registered stop, last first; a failing stop does not keep the others from running. */
  async stopAll(): Promise<void> {
    for (const stop of this.#stops.splice(0).reverse()) await stop().catch(() => undefined);
  }
}
