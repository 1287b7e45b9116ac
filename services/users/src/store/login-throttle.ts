/** Queries of `login_throttle` (see security/login-throttle.ts for the policy they apply). */
import type { Kysely } from "@portico/kit";
import { sql } from "kysely";
import { delaySchedule, type LoginThrottlePolicy } from "../security/login-throttle.js";
import type { UsersDatabase } from "./schema.js";

/**
 * Counts an attempt for `key` (an account's or a device's, see `throttleKey`) unless it must wait, in one statement (the row
 * lock orders concurrent attempts across instances). The count restarts at 1 when the last
 * failure is older than `forgetAfterMs`; the wait it sets is `throttleDelayMs` of the new count
 * (looked up in `delaySchedule`), from the database's clock so every instance agrees.
 * @returns undefined when the attempt was counted and may be judged, else the ms left to wait.
 */
export async function admitLoginAttempt(
  db: Kysely<UsersDatabase>,
  key: Buffer,
  policy: LoginThrottlePolicy,
): Promise<number | undefined> {
  const ms = sql`interval '1 millisecond'`;
  const failures = sql`(case when t.last_failure_at <= now() - ${policy.forgetAfterMs} * ${ms} then 1 else t.failures + 1 end)`;
  const schedule = delaySchedule(policy);
  const blockedUntil = (count: unknown) =>
    sql`now() + (${schedule}::float8[])[least(${count}, ${schedule.length})] * ${ms}`;
  const counted = await sql<{ failures: number }>`
    insert into login_throttle as t (account_key, failures, last_failure_at, blocked_until)
    values (${key}, 1, now(), ${blockedUntil(sql`1`)})
    on conflict (account_key) do update
      set failures = ${failures}, last_failure_at = now(), blocked_until = ${blockedUntil(failures)}
      where t.blocked_until is null or t.blocked_until <= now()
    returning failures`.execute(db);
  if (counted.rows.length > 0) return undefined;
  const waiting = await sql<{ ms: number | null }>`
    select extract(epoch from (blocked_until - now())) * 1000 as ms
    from login_throttle where account_key = ${key}`.execute(db);
  return Math.max(1, Number(waiting.rows[0]?.ms ?? 1));
}

/**
 * Forgets the failures of `key`, and every account's failures that are older than
 * `forgetAfterMs` (the table holds only recent failures; the index on `last_failure_at` keeps this
 * cheap).
 */
export async function clearLoginFailures(
  db: Kysely<UsersDatabase>,
  key: Buffer,
  policy: LoginThrottlePolicy,
): Promise<void> {
  await sql`
    delete from login_throttle
    where account_key = ${key}
       or last_failure_at < now() - ${policy.forgetAfterMs} * interval '1 millisecond'`.execute(db);
}
