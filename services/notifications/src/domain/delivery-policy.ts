/**
 * When an outbox email is retried and when it is given up on — one policy in two phases:
 * - immediate retries: the outbox sender retries a failed delivery itself after
 *   `baseDelayMs · 2^(n-1)` (capped), until {@link MAX_DELIVERY_ATTEMPTS} attempts; the email is
 *   then marked `failed`;
 * - scheduled retries: the email retry job puts a `failed` email back in the sender's queue once its
 *   back-off ({@link SCHEDULED_RETRY}: `baseDelayMs · 2^(n-MAX_DELIVERY_ATTEMPTS)`, capped) has
 *   elapsed, until `maxTotalAttempts`; after that it stays `failed` for good.
 */

/** Attempts after which the sender stops retrying on its own and marks an email `failed`. */
export const MAX_DELIVERY_ATTEMPTS = 5;

/** The scheduled phase: back-off between the retry job's attempts, and the overall limit. */
export interface ScheduledRetryPolicy {
  /** Delay after the first failed scheduled-phase attempt, in ms; doubled after each next one. */
  baseDelayMs: number;
  /** Longest delay, in ms. */
  maxDelayMs: number;
  /** Attempts (immediate and scheduled) after which an email is never retried again. */
  maxTotalAttempts: number;
}

/** Default scheduled phase: 1 min, 2, 4 … capped at 1 h, 12 attempts in all (about 2 h). */
export const SCHEDULED_RETRY: ScheduledRetryPolicy = {
  baseDelayMs: 60_000,
  maxDelayMs: 3_600_000,
  maxTotalAttempts: 12,
};

/**
 * What to do with an outbox row after a failed attempt: `pending` (the sender retries in
 * `retryInMs`), `failed` with `retryInMs` (the retry job requeues it after that), or `failed` for
 * good (no `retryInMs`).
 */
export type AfterFailure =
  | { status: "pending"; attempts: number; retryInMs: number }
  | { status: "failed"; attempts: number; retryInMs?: number };

/**
 * The outcome of the failed attempt number `attempts` (1-based, counting this one): before
 * `maxAttempts`, retry after `baseDelayMs · 2^(attempts-1)` ms capped at `maxDelayMs`; from
 * `maxAttempts` on, `failed`, with the scheduled phase's back-off until its `maxTotalAttempts`.
 */
export function afterFailedAttempt(
  attempts: number,
  options: {
    baseDelayMs: number;
    maxDelayMs?: number;
    maxAttempts?: number;
    scheduled?: ScheduledRetryPolicy;
  },
): AfterFailure {
  const maxAttempts = options.maxAttempts ?? MAX_DELIVERY_ATTEMPTS;
  if (attempts >= maxAttempts) {
    const scheduled = options.scheduled ?? SCHEDULED_RETRY;
    if (attempts >= scheduled.maxTotalAttempts) return { status: "failed", attempts };
    const delay = scheduled.baseDelayMs * 2 ** (attempts - maxAttempts);
    return { status: "failed", attempts, retryInMs: Math.min(delay, scheduled.maxDelayMs) };
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
