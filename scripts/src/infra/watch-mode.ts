/**
 * `npm start`'s watch mode: a changed file restarts only the processes it concerns.
 *
 * - A TypeScript file: the workspaces are transpiled again (changed files only) and every process
 *   whose import graph (see `import-graph.ts`) holds the file is restarted.
 * - A contract (`contracts/*.yaml`): the generation (`scripts/src/generate.ts`) runs first, then
 *   the service named after the contract (`contracts/<service>.yaml`) and the gateway restart; a
 *   contract no service is named after (shared components, events) restarts every process.
 * - Any other process (e.g. Python) restarts when a file below one of its folders changes (its
 *   own, and the shared runtime it loads).
 *
 * Restarts go stage by stage (services, then the gateway) and one at a time per process, shared
 * with the {@link Supervisor}'s crash restarts; each prints what changed and how long it took.
 */

import { InfraError } from "./errors.js";
import { type ImportGraph, importersOf, readImportGraph } from "./import-graph.js";
import { type LogSink, spawnManaged } from "./process.js";
import type { Supervisor } from "./supervisor.js";
import { type Watcher, watchFiles } from "./watcher.js";

/** What watch mode needs to know about one process of the system. */
export interface WatchTarget {
  /** Process name (`products`, `products-2`). */
  name: string;
  /** The service it runs (replicas share it); a contract `contracts/<service>.yaml` concerns it. */
  service: string;
  kind: "service" | "gateway";
  /** Start stage: lower stages restart first. */
  stage: number;
  /** A TypeScript process: its entry, repository-relative (`gateway/src/main.ts`). */
  entry?: string;
  /**
   * Any other process: its folders, repository-relative (its own and the shared runtime it loads,
   * e.g. `services/ml` and `services/kit-python`); a change below one restarts it.
   */
  dirs?: readonly string[];
}

/** Stops and starts processes of the running system. */
export interface ProcessControl {
  /** Stops the process (no-op when it has already exited); its exit is not a crash. */
  stopProcess(name: string, graceMs?: number): Promise<void>;
  /** Starts the stopped process again and resolves once it is ready. */
  startProcess(name: string): Promise<void>;
}

/** A changed contract: `contracts/<name>.yaml` (not below `contracts/` subfolders). */
const CONTRACT = /^contracts\/([^/]+)\.ya?ml$/;

/** What one batch of changes calls for. */
export interface RestartPlan {
  /** Changed contracts: the generation runs before anything restarts. */
  contracts: string[];
  /** Whether TypeScript sources changed (or will, by the generation): transpile first. */
  transpile: boolean;
  /** Processes to restart, grouped by stage in ascending order. */
  stages: string[][];
}

/**
 * Which processes `changed` (repository-relative files) concerns (see the module comment).
 * `graphs`: the import graphs to consult (before and after the change, so a removed import counts).
 */
export function planRestart(
  changed: readonly string[],
  targets: readonly WatchTarget[],
  graphs: readonly ImportGraph[],
): RestartPlan {
  const contracts = changed.filter((file) => CONTRACT.test(file));
  const names = new Set<string>();
  for (const contract of contracts) {
    const owner = CONTRACT.exec(contract)?.[1];
    const owners = targets.filter((t) => t.service === owner);
    const concerned =
      owners.length > 0 ? [...owners, ...targets.filter((t) => t.kind === "gateway")] : targets;
    for (const target of concerned) names.add(target.name);
  }
  const sources = changed.filter((file) => file.endsWith(".ts"));
  for (const graph of graphs) for (const name of importersOf(graph, sources)) names.add(name);
  for (const target of targets) {
    const dirs = target.dirs ?? [];
    if (changed.some((file) => dirs.some((dir) => file.startsWith(`${dir}/`))))
      names.add(target.name);
  }
  const chosen = targets.filter((t) => names.has(t.name));
  const stageNumbers = [...new Set(chosen.map((t) => t.stage))].sort((a, b) => a - b);
  return {
    contracts,
    transpile: contracts.length > 0 || sources.length > 0,
    stages: stageNumbers.map((stage) => chosen.filter((t) => t.stage === stage).map((t) => t.name)),
  };
}

/** Runs `fn` for `key` after every earlier call for the same key has settled. */
class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const result = (this.tails.get(key) ?? Promise.resolve()).then(fn, fn);
    this.tails.set(
      key,
      result.catch(() => {}),
    );
    return result;
  }
}

/** Stop-then-start of one process at a time per name, shared by watch mode and the supervisor. */
export class Restarter {
  private readonly queue = new KeyedQueue();
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly control: ProcessControl) {}

  /**
   * Stops `name` if it runs, starts it again and resolves once it is ready.
   * @throws InfraError after {@link Restarter.close}; the readiness error of the new process.
   */
  restart(name: string): Promise<void> {
    const restart = this.queue.run(name, async () => {
      if (this.closed) throw new InfraError("shutting down");
      await this.control.stopProcess(name, 5000);
      await this.control.startProcess(name);
    });
    const settled = restart.catch(() => {});
    this.inFlight.add(settled);
    settled.then(() => this.inFlight.delete(settled));
    return restart;
  }

  /**
   * Refuses further restarts and resolves once those under way have finished, so stopping the
   * system afterwards stops every process they started.
   */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.inFlight);
  }
}

/** Options of {@link startWatchMode}. */
export interface WatchModeOptions {
  repoRoot: string;
  targets: readonly WatchTarget[];
  restarter: Restarter;
  /** Its crash history of a process is forgotten when watch mode restarts it. */
  supervisor: Supervisor;
  /** Transpiles the workspaces again (changed files only); throws when a file does not compile. */
  transpile(): Promise<void>;
  /** Command running the generation, e.g. `tsx --conditions=portico-source scripts/src/generate.ts`. */
  generate: { command: string; args: string[] };
  /** One line per event of watch mode. */
  say(line: string): void;
  /** Where the generation's output goes (name `generate`). */
  log: LogSink;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** "a.ts, b.ts and 3 more" */
function describeFiles(files: readonly string[]): string {
  const shown = files.slice(0, 3).join(", ");
  return files.length > 3 ? `${shown} and ${files.length - 3} more` : shown;
}

/**
 * Reads the import graphs, then watches the processes' folders and `contracts/`; resolves once
 * watching (see the module comment). Generated files (`generated/` folders, `generated.py`) are
 * not watched: the contracts they come from are.
 * @throws InfraError when an entry's imports cannot be read.
 */
export async function startWatchMode(options: WatchModeOptions): Promise<Watcher> {
  const { repoRoot, targets, say } = options;
  const entries = Object.fromEntries(
    targets.flatMap((t) => (t.entry ? [[t.name, t.entry] as const] : [])),
  );
  let graph = await readImportGraph({ repoRoot, entries });
  const folders = new Set<string>(["contracts"]);
  for (const files of graph.values())
    for (const file of files) folders.add(file.split("/").slice(0, 2).join("/"));
  for (const target of targets) for (const dir of target.dirs ?? []) folders.add(dir);

  const generate = async (): Promise<boolean> => {
    const proc = spawnManaged({
      name: "generate",
      ...options.generate,
      cwd: repoRoot,
      log: options.log,
    });
    const exit = await proc.exited;
    return exit.code === 0;
  };

  const onBatch = async (changed: string[]) => {
    const begin = performance.now();
    let plan = planRestart(changed, targets, [graph]);
    if (plan.contracts.length > 0) {
      say(`${describeFiles(plan.contracts)} changed: generating`);
      if (!(await generate())) {
        say(
          "the generation failed (its output is above); nothing restarted. Fix the contract and save it.",
        );
        return;
      }
    }
    if (plan.transpile) {
      try {
        await options.transpile();
        const previous = graph;
        graph = await readImportGraph({ repoRoot, entries });
        plan = planRestart(changed, targets, [previous, graph]);
      } catch (error) {
        say(
          `${describeFiles(changed)} changed, but ${(error as Error).message}; nothing restarted`,
        );
        return;
      }
    }
    const names = plan.stages.flat();
    if (names.length === 0) return;
    const restarted: string[] = [];
    for (const stage of plan.stages) {
      await Promise.all(
        stage.map(async (name) => {
          options.supervisor.forget(name);
          try {
            await options.restarter.restart(name);
            restarted.push(name);
          } catch (error) {
            say(`${name} did not come back: ${String((error as Error).message).split("\n")[0]}`);
          }
        }),
      );
    }
    if (restarted.length === 0) return;
    say(
      `${describeFiles(changed)} changed: restarted ${restarted.join(", ")} in ${seconds(performance.now() - begin)}`,
    );
  };

  const watcher = watchFiles({
    repoRoot,
    paths: [...folders].sort(),
    ignore: (path) => /(^|\/)generated(\/|\.py$)/.test(path),
    onBatch,
    onError: (error) => say(`watching: ${error.message}`),
  });
  await watcher.ready;
  return watcher;
}
