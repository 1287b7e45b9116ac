/**
 * One compacting garbage collection soon after a process starts serving, so that what start-up
 * left (contract parsing, schema and validator compilation, migrations) is returned to the
 * operating system within a second or two instead of when V8's memory reducer gets to it (10-40 s
 * into an idle period, or never while requests keep coming). Issue 14: every process at most
 * 100 MB resident 2 s after it is ready.
 *
 * Why compacting: after start-up the old generation is ~35 MiB of pages of which ~23 MiB is live,
 * spread over most pages. A plain full GC (`gc()`) frees the dead objects but keeps nearly every
 * page, since its compaction heuristics move at most a few MiB of objects; with V8's
 * `--compact-on-every-full-gc` set for that one collection every fragmented page is evacuated and
 * released (old space 35 → 23 MiB, resident 95-104 → 81-89 MiB per process), as the memory
 * reducer's GC does. Measured cost: one pause of 100-300 ms, once per process.
 *
 * No command-line flag is needed (Node accepts neither V8 flag in `NODE_OPTIONS`): the collector
 * is reached through `--expose-gc` set at run time, which gives a context created afterwards a
 * `gc` function (the main context keeps none), and both flags are set back at once.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** Delay between a process's first server listening and its compacting collection, in ms. */
export const HEAP_COMPACTION_DELAY_MS = 1_000;

let scheduled = false;

/**
 * Runs one full garbage collection that compacts the whole old generation (see the module
 * comment). Synchronous: blocks the event loop for the collection (100-300 ms at ~25 MiB live).
 * Uses the `gc` of a process started with `--expose-gc` when there is one.
 * @returns whether it collected: `false` (and nothing changed) where this Node cannot be given a
 *   `gc` function at run time; never throws, since it runs from a timer in production processes.
 */
export function compactHeap(): boolean {
  let gc = (globalThis as { gc?: unknown }).gc;
  if (typeof gc !== "function") {
    setFlagsFromString("--expose-gc");
    try {
      gc = runInNewContext("typeof gc === 'function' ? gc : undefined");
    } finally {
      setFlagsFromString("--no-expose-gc");
    }
  }
  if (typeof gc !== "function") return false;
  setFlagsFromString("--compact-on-every-full-gc");
  try {
    gc();
  } finally {
    setFlagsFromString("--no-compact-on-every-full-gc");
  }
  return true;
}

/**
 * Schedules {@link compactHeap} {@link HEAP_COMPACTION_DELAY_MS} from now, once per process
 * (later calls do nothing), on a timer that does not keep the process alive.
 * @returns cancels the collection if it has not run yet.
 */
export function compactHeapSoonOnce(delayMs = HEAP_COMPACTION_DELAY_MS): () => void {
  if (scheduled) return () => {};
  scheduled = true;
  const timer = setTimeout(compactHeap, delayMs);
  timer.unref();
  return () => clearTimeout(timer);
}
