/**
 * Throttling of password guessing per account (OWASP Authentication Cheat Sheet, "Login
 * Throttling" and "Account Lockout"): failures are counted per account, not per client address,
 * so guesses spread over many addresses count together; after `freeFailures` the account's next
 * attempt waits `baseDelayMs`, doubling with each further failure up to `maxDelayMs` (an
 * exponential lockout capped at minutes: a throttle, never a permanent lockout); a success resets
 * the count, and failures are forgotten `forgetAfterMs` after the last one.
 *
 * So that nobody can lock someone else out for long: an attempt made while the account waits is
 * answered 429 without judging the password and is not counted, so hammering does not lengthen
 * the wait; the longest wait another party can impose is `maxDelayMs` at a time.
 *
 * Clients that hold a device cookie for the account (security/device-cookie.ts) are throttled
 * per device instead, with the same policy: the account's count is the one of its untrusted
 * clients, and nothing they do makes a known device wait.
 *
 * An attempt is counted before its password is judged (and the count cleared when it succeeds),
 * so concurrent guesses cannot all slip through before the first failure is recorded. The state
 * lives in the service's PostgreSQL database, shared by every instance, rather than NATS KV: the
 * token endpoint already needs the database to judge a password, and keeps working without NATS.
 */
import { createHash } from "node:crypto";
import { HttpProblem, type Kysely } from "@portico/kit";
import { admitLoginAttempt, clearLoginFailures } from "../store/login-throttle.js";
import type { UsersDatabase } from "../store/schema.js";

/** How failures turn into waiting (all durations in milliseconds). */
export interface LoginThrottlePolicy {
  /** Failures allowed before any wait. */
  freeFailures: number;
  /** The first wait, after `freeFailures + 1` failures. */
  baseDelayMs: number;
  /** The longest wait. */
  maxDelayMs: number;
  /** Failures are forgotten this long after the last one (longer than `maxDelayMs`). */
  forgetAfterMs: number;
}

/** 5 free failures, then 1 s, 2 s, 4 s ... up to 5 minutes; forgotten after an hour. */
export const DEFAULT_LOGIN_THROTTLE_POLICY: LoginThrottlePolicy = {
  freeFailures: 5,
  baseDelayMs: 1_000,
  maxDelayMs: 5 * 60_000,
  forgetAfterMs: 60 * 60_000,
};

/**
 * How long the account waits after `failures` counted attempts, in ms: 0 up to `freeFailures`,
 * then `baseDelayMs * 2^(failures - freeFailures - 1)`, at most `maxDelayMs`.
 */
export function throttleDelayMs(failures: number, policy: LoginThrottlePolicy): number {
  const over = failures - policy.freeFailures;
  if (over <= 0) return 0;
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(over - 1, 40));
}

/**
 * {@link throttleDelayMs} for 1, 2, ... failures, up to the first that reaches `maxDelayMs`
 * (every later count waits as long as the last entry): the table the database indexes into.
 */
export function delaySchedule(policy: LoginThrottlePolicy): number[] {
  const schedule: number[] = [];
  for (let failures = 1; ; failures++) {
    schedule.push(throttleDelayMs(failures, policy));
    if (schedule.at(-1) === policy.maxDelayMs) return schedule;
  }
}

/** Whose failures an attempt counts towards: the account's untrusted clients, or one device. */
export type ThrottleSubject =
  | { kind: "account"; normalizedEmail: string }
  | { kind: "device"; nonce: Buffer };

/** The key of an account in the throttle: SHA-256 of its normalised email. */
export function accountKey(normalizedEmail: string): Buffer {
  return createHash("sha256").update(normalizedEmail).digest();
}

/**
 * The key of a device in the throttle: SHA-256 of a label and its cookie's nonce (the label keeps
 * it apart from every account key).
 */
export function deviceKey(nonce: Buffer): Buffer {
  return createHash("sha256").update("device\n").update(nonce).digest();
}

/** The throttle key of `subject`. */
export function throttleKey(subject: ThrottleSubject): Buffer {
  return subject.kind === "account"
    ? accountKey(subject.normalizedEmail)
    : deviceKey(subject.nonce);
}

/**
 * The 429 Problem for a subject that must wait `retryAfterMs` (`Retry-After` in whole seconds).
 */
export function tooManyLoginAttempts(
  retryAfterMs: number,
  kind: ThrottleSubject["kind"] = "account",
): HttpProblem {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1_000));
  const whose = kind === "account" ? "this account" : "this account from this device";
  return new HttpProblem(429, `Too many failed sign-ins for ${whose}: try again in ${seconds} s.`, {
    headers: { "Retry-After": String(seconds) },
  });
}

/** The throttle of one database. */
export interface LoginThrottle {
  /**
   * Counts an attempt of `subject` before its password is judged.
   * @throws HttpProblem 429 with `Retry-After` when the subject must wait (nothing is counted).
   */
  admit(subject: ThrottleSubject): Promise<void>;
  /** Forgets the subject's failures after a successful sign-in. */
  succeeded(subject: ThrottleSubject): Promise<void>;
}

/** The throttle kept in `db` (table `login_throttle`) with `policy`. */
export function createLoginThrottle(
  db: Kysely<UsersDatabase>,
  policy: LoginThrottlePolicy = DEFAULT_LOGIN_THROTTLE_POLICY,
): LoginThrottle {
  return {
    async admit(subject) {
      const retryAfterMs = await admitLoginAttempt(db, throttleKey(subject), policy);
      if (retryAfterMs !== undefined) throw tooManyLoginAttempts(retryAfterMs, subject.kind);
    },
    async succeeded(subject) {
      await clearLoginFailures(db, throttleKey(subject), policy);
    },
  };
}
