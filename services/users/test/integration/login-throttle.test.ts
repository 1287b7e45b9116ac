/**
 * Password guessing is throttled per account (issue 9, finding 10), on a real database shared by
 * two instances of the service: after 5 failures the account waits 1 s, then 2 s, 4 s ... at most
 * 5 minutes (429 Problem with Retry-After, the right password included); attempts while it waits
 * are not counted; a success resets; an email without an account behaves the same. Time passing is
 * simulated by moving the stored deadline, not by waiting.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import pg from "pg";
import { accountKey } from "../../src/security/login-throttle.js";
import {
  type ApiResponse,
  createTestDatabase,
  dropTestDatabase,
  type RunningUsers,
  register,
  request,
  startUsers,
  testConfig,
} from "./support.js";

const PASSWORD = "correct-horse-battery";
let databaseUrl: string;
let first: RunningUsers;
let second: RunningUsers;
let db: pg.Client;

beforeAll(async () => {
  databaseUrl = await createTestDatabase("users_throttle");
  first = await startUsers(testConfig(databaseUrl));
  second = await startUsers(testConfig(databaseUrl));
  db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await first?.stop();
  await second?.stop();
  if (databaseUrl) await dropTestDatabase(databaseUrl);
});

let accounts = 0;
/** Registers a fresh account; resolves to its email. */
async function newAccount(): Promise<string> {
  const email = `throttle-${++accounts}@example.com`;
  expect((await register(first.baseUrl, { email, password: PASSWORD, name: "T" })).status).toBe(
    201,
  );
  return email;
}

function signIn(email: string, password: string, via = first): Promise<ApiResponse> {
  return request(via.baseUrl, "POST", "/auth/token", {
    body: { grant_type: "password", username: email, password },
  });
}

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

async function storedFailures(email: string): Promise<number | undefined> {
  const result = await db.query("select failures from login_throttle where account_key = $1", [
    accountKey(email),
  ]);
  return result.rows[0]?.failures as number | undefined;
}

function expectThrottled(response: ApiResponse, retryAfterSeconds: number): void {
  expect(response.status).toBe(429);
  expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(response.headers.get("retry-after")).toBe(String(retryAfterSeconds));
  expect(response.body).toMatchObject({ status: 429, title: "Too Many Requests" });
}

describe("POST /auth/token after failed attempts", () => {
  it("answers 401 to 6 failures, then 429 with Retry-After, even to the right password", async () => {
    const email = await newAccount();
    expect(await statuses(email, "wrong-password-1", 6)).toEqual([401, 401, 401, 401, 401, 401]);
    expectThrottled(await signIn(email, "wrong-password-1"), 1);
    expectThrottled(await signIn(email, PASSWORD), 1);
  });

  it("doubles the wait with each further failure, up to 5 minutes", async () => {
    const email = await newAccount();
    await statuses(email, "wrong-password-1", 6);
    for (const seconds of [1, 2, 4, 8]) {
      expectThrottled(await signIn(email, "wrong-password-1"), seconds);
      await waitPasses(email);
      expect((await signIn(email, "wrong-password-1")).status).toBe(401);
    }
    await db.query("update login_throttle set failures = 60 where account_key = $1", [
      accountKey(email),
    ]);
    await waitPasses(email);
    expect((await signIn(email, "wrong-password-1")).status).toBe(401);
    expectThrottled(await signIn(email, "wrong-password-1"), 300);
  });

  it("does not count attempts made while the account waits", async () => {
    const email = await newAccount();
    await statuses(email, "wrong-password-1", 6);
    const before = await storedFailures(email);
    expect(await statuses(email, "wrong-password-1", 5)).toEqual([429, 429, 429, 429, 429]);
    expect(await storedFailures(email)).toBe(before);
  });

  it("resets after a successful sign-in", async () => {
    const email = await newAccount();
    await statuses(email, "wrong-password-1", 6);
    await waitPasses(email);
    expect((await signIn(email, PASSWORD)).status).toBe(200);
    expect(await storedFailures(email)).toBeUndefined();
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
    expect(await storedFailures(email)).toBe(1);
  });

  it("throttles each account on its own", async () => {
    const [throttled, other] = [await newAccount(), await newAccount()];
    await statuses(throttled, "wrong-password-1", 7);
    expect((await signIn(other, PASSWORD)).status).toBe(200);
  });

  it("is shared by every instance of the service", async () => {
    const email = await newAccount();
    await statuses(email, "wrong-password-1", 6);
    expectThrottled(await signIn(email, PASSWORD, second), 1);
  });

  it("throttles an email without an account the same way, revealing nothing", async () => {
    const unknown = "nobody-here@example.com";
    expect(await statuses(unknown, "wrong-password-1", 6)).toEqual([401, 401, 401, 401, 401, 401]);
    expectThrottled(await signIn(unknown, "wrong-password-1"), 1);
  });

  it("counts concurrent guesses one by one", async () => {
    const email = await newAccount();
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => signIn(email, "wrong-password-1")),
    );
    const counted = answers.map((a) => a.status).sort();
    // The first six are judged (401); at most one more slips in as the wait of 1 s may end.
    expect(counted.filter((s) => s === 401).length).toBeGreaterThanOrEqual(6);
    expect(counted.filter((s) => s === 401).length).toBeLessThanOrEqual(7);
    expect(counted.filter((s) => s !== 401).every((s) => s === 429)).toBe(true);
  });
});
