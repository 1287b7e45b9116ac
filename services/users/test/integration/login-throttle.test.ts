/**
 * Password guessing is throttled per account (issue 9, finding 10), on a real database shared by
 * two instances of the service: after 5 failures the account waits 1 s, then 2 s, 4 s ... at most
 * 5 minutes (429 Problem with Retry-After, the right password included); attempts while it waits
 * are not counted; a success resets; an email without an account behaves the same. Time is moved
 * in the stored deadline rather than waited for, so a slow machine changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type pg from "pg";
import { accountKey } from "../../src/security/login-throttle.js";
import { PASSWORD, type SignInBench, startSignInBench } from "./sign-in-support.js";
import type { ApiResponse, RunningUsers } from "./support.js";

let bench: SignInBench;
let first: RunningUsers;
let second: RunningUsers;
let db: pg.Client;

beforeAll(async () => {
  bench = await startSignInBench("throttle");
  ({ first, second, db } = bench);
});

afterAll(async () => {
  await bench?.stop();
});

const newAccount = () => bench.newAccount();
const signIn = (email: string, password: string, via = first): Promise<ApiResponse> =>
  bench.signIn(email, password, { via });

async function statuses(email: string, password: string, times: number): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < times; i++) result.push((await signIn(email, password)).status);
  return result;
}

/** As if the account's current wait had passed. */
async function waitPasses(email: string): Promise<void> {
  await db.query("update login_throttle set blocked_until = now() where account_key = $1", [
    accountKey(email),
  ]);
}

/**
 * As if the attempts came faster than the wait (a slow machine may take longer than 1 s to judge
 * a password): the account waits another `seconds` from now.
 */
async function stillWaiting(email: string, seconds = 60): Promise<void> {
  await db.query(
    "update login_throttle set blocked_until = now() + $2 * interval '1 second' where account_key = $1",
    [accountKey(email), seconds],
  );
}

async function stored(email: string): Promise<{ failures: number; waitMs: number } | undefined> {
  const result = await db.query(
    `select failures, extract(epoch from (blocked_until - last_failure_at)) * 1000 as wait_ms
     from login_throttle where account_key = $1`,
    [accountKey(email)],
  );
  const row = result.rows[0];
  return row ? { failures: row.failures, waitMs: Number(row.wait_ms) } : undefined;
}

function expectThrottled(response: ApiResponse, atMostSeconds: number): void {
  expect(response.status).toBe(429);
  expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  const retryAfter = Number(response.headers.get("retry-after"));
  expect(retryAfter).toBeGreaterThanOrEqual(Math.max(1, atMostSeconds - 10));
  expect(retryAfter).toBeLessThanOrEqual(atMostSeconds);
  expect(response.body).toMatchObject({ status: 429, title: "Too Many Requests" });
}

describe("POST /auth/token after failed attempts", () => {
  it("judges 6 failures (401), then makes the account wait: 429 with Retry-After, even to the right password", async () => {
    const email = await newAccount();
    expect(await statuses(email, "wrong-password-1", 6)).toEqual([401, 401, 401, 401, 401, 401]);
    expect(await stored(email)).toEqual({ failures: 6, waitMs: 1_000 });
    await stillWaiting(email);
    expectThrottled(await signIn(email, "wrong-password-1"), 60);
    expectThrottled(await signIn(email, PASSWORD), 60);
  });

  it("doubles the wait with each further failure, up to 5 minutes", async () => {
    const email = await newAccount();
    await statuses(email, "wrong-password-1", 6);
    for (const waitMs of [2_000, 4_000, 8_000]) {
      await waitPasses(email);
      expect((await signIn(email, "wrong-password-1")).status).toBe(401);
      expect((await stored(email))?.waitMs).toBe(waitMs);
    }
    await db.query("update login_throttle set failures = 60 where account_key = $1", [
      accountKey(email),
    ]);
    await waitPasses(email);
    expect((await signIn(email, "wrong-password-1")).status).toBe(401);
    expect(await stored(email)).toEqual({ failures: 61, waitMs: 300_000 });
    expectThrottled(await signIn(email, "wrong-password-1"), 300);
  });

  it("does not count attempts made while the account waits", async () => {
    const email = await newAccount();
    await statuses(email, "wrong-password-1", 6);
    await stillWaiting(email);
    expect(await statuses(email, "wrong-password-1", 5)).toEqual([429, 429, 429, 429, 429]);
    expect((await stored(email))?.failures).toBe(6);
  });

  it("resets after a successful sign-in", async () => {
    const email = await newAccount();
    await statuses(email, "wrong-password-1", 6);
    await waitPasses(email);
    expect((await signIn(email, PASSWORD)).status).toBe(200);
    expect(await stored(email)).toBeUndefined();
    expect(await statuses(email, "wrong-password-1", 6)).toEqual([401, 401, 401, 401, 401, 401]);
  });

  it("forgets failures an hour after the last one", async () => {
    const email = await newAccount();
    await statuses(email, "wrong-password-1", 6);
    await db.query(
      "update login_throttle set last_failure_at = now() - interval '61 minutes', blocked_until = now() where account_key = $1",
      [accountKey(email)],
    );
    expect((await signIn(email, "wrong-password-1")).status).toBe(401);
    expect((await stored(email))?.failures).toBe(1);
  });

  it("throttles each account on its own", async () => {
    const [throttled, other] = [await newAccount(), await newAccount()];
    await statuses(throttled, "wrong-password-1", 6);
    await stillWaiting(throttled);
    expect((await signIn(other, PASSWORD)).status).toBe(200);
  });

  it("is shared by every instance of the service", async () => {
    const email = await newAccount();
    await statuses(email, "wrong-password-1", 6);
    await stillWaiting(email);
    expectThrottled(await signIn(email, PASSWORD, second), 60);
  });

  it("throttles an email without an account the same way, revealing nothing", async () => {
    const unknown = "nobody-here@example.com";
    expect(await statuses(unknown, "wrong-password-1", 6)).toEqual([401, 401, 401, 401, 401, 401]);
    expect(await stored(unknown)).toEqual({ failures: 6, waitMs: 1_000 });
    await stillWaiting(unknown);
    expectThrottled(await signIn(unknown, "wrong-password-1"), 60);
  });

  it("counts every judged attempt of concurrent guesses, on both instances", async () => {
    const email = await newAccount();
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        signIn(email, "wrong-password-1", i % 2 ? second : first),
      ),
    );
    const judged = answers.filter((a) => a.status === 401).length;
    expect(judged).toBeGreaterThanOrEqual(6);
    expect(answers.every((a) => a.status === 401 || a.status === 429)).toBe(true);
    expect((await stored(email))?.failures).toBe(judged);
  });
});
