/**
 * When an outbox email is retried and when it is given up on: exponential back-off, at most
 * {@link MAX_DELIVERY_ATTEMPTS} attempts.
 */

/** Attempts after which an email is marked `failed` and never retried. */
export const MAX_DELIVERY_ATTEMPTS = 5;

/** What to do with an outbox row after a failed attempt. */
export type AfterFailure =
  | { status: "pending"; attempts: number; retryInMs: number }
  | { status: "failed"; attempts: number };

/**
 * The outcome of the failed attempt number `attempts` (1-based, counting this one): retry after
 * `baseDelayMs · 2^(attempts-1)` ms, capped at `maxDelayMs`, or give up once `maxAttempts` is
 * reached.
 */
export function afterFailedAttempt(
  attempts: number,
  options: { baseDelayMs: number; maxDelayMs?: number; maxAttempts?: number },
): AfterFailure {
  if (attempts >= (options.maxAttempts ?? MAX_DELIVERY_ATTEMPTS)) {
    return { status: "failed", attempts };
  }
  const delay = options.baseDelayMs * 2 ** Math.max(0, attempts - 1);
  return {
    status: "pending",
    attempts,
    retryInMs: Math.min(delay, options.maxDelayMs ?? 60_000),
  };
}

/** A short, single-line description of a delivery error for `last_error` (at most 500 chars). */
export function describeDeliveryError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const oneLine = message.replace(/\s+/g, " ").trim() || "unknown error";
  return oneLine.length > 500 ? `${oneLine.slice(0, 497)}...` : oneLine;
}
