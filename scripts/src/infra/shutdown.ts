import { constants } from "node:os";

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** Repeats of a signal within this many milliseconds count as the same request to stop. */
export const REPEAT_WINDOW_MS = 1_500;

/** A signal that asks this process to shut down. */
export type ShutdownSignal = (typeof SIGNALS)[number];

/**
 * On the first SIGINT, SIGTERM or SIGHUP runs `cleanup` once, then exits with the code it returns
 * (default `128 + signal number`, e.g. 130 for SIGINT); a failing cleanup is printed and exits 1. A
 * second signal while cleaning up exits at once with code 1 (children still get the last-resort
 * kill of the `exit` handlers) — unless it comes within {@link REPEAT_WINDOW_MS} of the first: one
 * Ctrl-C reaches this process several times, from the terminal and relayed by npm and tsx.
 * Returns a function that removes the handlers again.
 */
export function onShutdownSignal(
  cleanup: (signal: ShutdownSignal) => Promise<number | undefined> | number | undefined,
): () => void {
  let cleaningSince: number | undefined;
  const handler = (signal: ShutdownSignal) => {
    if (cleaningSince !== undefined) {
      if (Date.now() - cleaningSince < REPEAT_WINDOW_MS) return;
      process.stderr.write(`\n${signal} again: exiting without waiting.\n`);
      process.exit(1);
    }
    cleaningSince = Date.now();
    Promise.resolve()
      .then(() => cleanup(signal))
      .then(
        (code) => process.exit(code ?? 128 + constants.signals[signal]),
        (error: unknown) => {
          process.stderr.write(`shutdown failed: ${String(error)}\n`);
          process.exit(1);
        },
      );
  };
  for (const signal of SIGNALS) process.on(signal, handler);
  return () => {
    for (const signal of SIGNALS) process.off(signal, handler);
  };
}
