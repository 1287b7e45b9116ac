import { setTimeout as delay } from "node:timers/promises";

/**
 * Polls `probe` every 25 ms until it returns a truthy value, and resolves with it.
 * @throws Error naming `what` after `timeoutMs` (default 5 000).
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T> | T,
  timeoutMs = 5_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await delay(25);
  }
}
