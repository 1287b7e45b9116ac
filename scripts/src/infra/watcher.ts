/**
 * Watches folders of the repository and hands over changed files in batches: an editor's save (a
 * write, a rename, a temporary file) or a generator's run becomes one batch, delivered once no
 * file has changed for `debounceMs`. Batches are delivered one at a time: changes made while a
 * batch is handled form the next one.
 *
 * chokidar (https://github.com/paulmillr/chokidar, the watcher most Node tools use) rather than
 * `fs.watch({ recursive: true })`, which Linux only gained in Node 20: chokidar copes with
 * editors' atomic saves (write to a temporary file, rename) and folders created while watching.
 */
import { relative, sep } from "node:path";
import { watch } from "chokidar";

/** Folder names never watched: dependencies, caches, virtual environments, build output, tests. */
const IGNORED_DIRS = new Set([
  "node_modules",
  ".venv",
  "__pycache__",
  ".pytest_cache",
  ".mypy_cache",
  ".ruff_cache",
  "dist",
  "coverage",
  "test",
  "tests",
]);

/** Options of {@link watchFiles}. */
export interface WatchOptions {
  repoRoot: string;
  /** Folders to watch, relative to `repoRoot`. */
  paths: readonly string[];
  /** Quiet period that ends a batch, in ms. Default 150. */
  debounceMs?: number;
  /** Also skipped: a repository-relative path (`/`-separated) for which this returns true. */
  ignore?: (path: string) => boolean;
  /** Handles one batch of changed (added, changed or removed) repository-relative files. */
  onBatch(files: string[]): Promise<void>;
  /** A watcher error (e.g. too many watched files); watching goes on. */
  onError?(error: Error): void;
}

/** A running watcher. */
export interface Watcher {
  /** Resolves once the initial scan is done: changes from then on are reported. */
  ready: Promise<void>;
  /** Stops watching; a batch being handled finishes, pending changes are dropped. */
  close(): Promise<void>;
}

/** Starts watching `options.paths` (see the module comment). */
export function watchFiles(options: WatchOptions): Watcher {
  const { repoRoot, debounceMs = 150 } = options;
  const toRelative = (path: string) => relative(repoRoot, path).split(sep).join("/");
  const watcher = watch(
    options.paths.map((path) => `${repoRoot}/${path}`),
    {
      ignoreInitial: true,
      ignored: (path) => {
        const rel = toRelative(path);
        const parts = rel.split("/");
        return (
          parts.some((part) => IGNORED_DIRS.has(part) || (part.startsWith(".") && part !== ".")) ||
          (options.ignore?.(rel) ?? false)
        );
      },
    },
  );

  let pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let closed = false;
  const flush = () => {
    timer = undefined;
    running = running.then(async () => {
      if (closed || pending.size === 0) return;
      const files = [...pending].sort();
      pending = new Set();
      await options.onBatch(files).catch((error: unknown) => options.onError?.(error as Error));
    });
  };
  watcher.on("all", (_event, path) => {
    pending.add(toRelative(path));
    clearTimeout(timer);
    timer = setTimeout(flush, debounceMs);
  });
  watcher.on("error", (error) => options.onError?.(error as Error));

  return {
    ready: new Promise((resolve) => watcher.once("ready", () => resolve())),
    close: async () => {
      closed = true;
      clearTimeout(timer);
      await watcher.close();
      await running;
    },
  };
}
