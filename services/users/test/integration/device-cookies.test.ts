/**
 * Device cookies keep the account's owner out of the lockout others cause (issue 9, finding 10;
 * OWASP "Slow Down Online Guessing Attacks with Device Cookies"), on a real database shared by two
 * instances: a successful sign-in sets the cookie; a client presenting it for that account is
 * throttled on its own failures only, while every other client (no cookie, or one that is forged,
 * altered or for another account) shares the account's throttle. Time is moved in the stored
 * deadline rather than waited for.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type pg from "pg";
import { createDeviceCookies, DEVICE_COOKIE_NAME } from "../../src/security/device-cookie.js";
import { accountKey, deviceKey } from "../../src/security/login-throttle.js";
import { PASSWORD, type SignInBench, startSignInBench } from "./sign-in-support.js";
import type { ApiResponse, RunningUsers } from "./support.js";

const WRONG = "wrong-password-1";
let bench: SignInBench;
let second: RunningUsers;
let db: pg.Client;

beforeAll(async () => {
  bench = await startSignInBench("devices");
  ({ second, db } = bench);
});

afterAll(async () => {
  await bench?.stop();
});

const newAccount = () => bench.newAccount();

/** Signs in, presenting `cookie` (a `name=value` pair) when given. */
function signIn(
  email: string,
  password: string,
  options: { cookie?: string; via?: RunningUsers; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const headers = { ...options.headers, ...(options.cookie ? { cookie: options.cookie } : {}) };
  return bench.signIn(email, password, { via: options.via, headers });
}

/** The `device=...` pair of a response's `Set-Cookie` (what a browser sends back). */
function deviceCookieOf(response: ApiResponse): string {
  expect(response.status).toBe(200);
  const setCookie = response.headers.get("set-cookie") ?? "";
  expect(setCookie.startsWith(`${DEVICE_COOKIE_NAME}=`)).toBe(true);
  return setCookie.split(";")[0] as string;
}

/** Signs in with the right password from a new device; resolves to its cookie pair. */
async function knownDevice(email: string): Promise<string> {
  return deviceCookieOf(await signIn(email, PASSWORD));
}

/** The nonce inside a device cookie pair (its second dot-separated part). */
function nonceOf(cookie: string): Buffer {
  return Buffer.from(cookie.split("=")[1]?.split(".")[1] ?? "", "base64url");
}

async function fail(email: string, times: number, cookie?: string): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < times; i++) result.push((await signIn(email, WRONG, { cookie })).status);
  return result;
}

/** The throttle row `key` waits another minute from now (as if attempts came faster). */
async function stillWaiting(key: Buffer): Promise<void> {
  await db.query(
    "update login_throttle set blocked_until = now() + interval '60 seconds' where account_key = $1",
    [key],
  );
}

async function failuresOf(key: Buffer): Promise<number | undefined> {
  const result = await db.query("select failures from login_throttle where account_key = $1", [
    key,
  ]);
  return result.rows[0]?.failures;
}

/** Throttles the account for every client without a device cookie of it. */
async function throttleAccount(email: string): Promise<void> {
  expect(await fail(email, 6)).toEqual([401, 401, 401, 401, 401, 401]);
  await stillWaiting(accountKey(email));
  expect((await signIn(email, PASSWORD)).status).toBe(429);
}

describe("POST /auth/token device cookies", () => {
  it("sets an HttpOnly, SameSite=Strict cookie for /auth/token on success, lasting 180 days, Secure over HTTPS", async () => {
    const email = await newAccount();
    const plain = (await signIn(email, PASSWORD)).headers.get("set-cookie") ?? "";
    expect(plain).toMatch(/^device=[\w-]+\.[\w-]+\.\d+\.[\w-]+; /);
    expect(plain).toContain("; Max-Age=15552000");
    expect(plain).toContain("; Path=/auth/token");
    expect(plain).toContain("; HttpOnly");
    expect(plain).toContain("; SameSite=Strict");
    // Development over http://127.0.0.1: no Secure, or the browser would drop it.
    expect(plain).not.toContain("Secure");
    const overHttps = await signIn(email, PASSWORD, { headers: { "x-forwarded-proto": "https" } });
    expect(overHttps.headers.get("set-cookie")).toContain("; Secure");
    // A failure sets none.
    expect((await signIn(email, WRONG)).headers.get("set-cookie")).toBeNull();
  });

  it("lets the owner's known device sign in while the account is throttled for everyone else, on every instance", async () => {
    const email = await newAccount();
    const cookie = await knownDevice(email);
    await throttleAccount(email);
    const signedIn = await signIn(email, PASSWORD, { cookie });
    expect(signedIn.status).toBe(200);
    // A new nonce each time; the other instance knows the device too.
    const renewed = deviceCookieOf(signedIn);
    expect(renewed).not.toBe(cookie);
    expect((await signIn(email, PASSWORD, { cookie: renewed, via: second })).status).toBe(200);
    // The owner's success does not lift the wait the others earned.
    expect(await failuresOf(accountKey(email))).toBe(6);
    expect((await signIn(email, PASSWORD)).status).toBe(429);
  });

  it("counts a forged, altered or other account's cookie as no cookie", async () => {
    const [email, other] = [await newAccount(), await newAccount()];
    const cookie = await knownDevice(email);
    const othersCookie = await knownDevice(other);
    await throttleAccount(email);
    const [name, value] = cookie.split("=") as [string, string];
    const parts = value.split(".");
    const lastMacChar = parts[3]?.at(-1) === "A" ? "B" : "A";
    const altered = [
      `${name}=${parts.slice(0, 3).join(".")}.${parts[3]?.slice(0, -1)}${lastMacChar}`,
      `${name}=${parts[0]}.${Buffer.alloc(16, 7).toString("base64url")}.${parts[2]}.${parts[3]}`,
      `${name}=${parts.slice(0, 2).join(".")}.${Number(parts[2]) + 1}.${parts[3]}`,
    ];
    const forged = createDeviceCookies("an-attacker-guess-at-the-key-32-chars!!")
      .issue(email, { secure: false })
      .split(";")[0] as string;
    for (const bad of [...altered, forged, othersCookie, `${name}=garbage`]) {
      const answer = await signIn(email, PASSWORD, { cookie: bad });
      expect([bad, answer.status]).toEqual([bad, 429]);
    }
    // The other account's own device still works there.
    expect((await signIn(other, PASSWORD, { cookie: othersCookie })).status).toBe(200);
  });

  it("throttles a known device that keeps failing on its own, without touching the account's throttle", async () => {
    const email = await newAccount();
    const cookie = await knownDevice(email);
    expect(await fail(email, 6, cookie)).toEqual([401, 401, 401, 401, 401, 401]);
    expect(await failuresOf(deviceKey(nonceOf(cookie)))).toBe(6);
    expect(await failuresOf(accountKey(email))).toBeUndefined();
    await stillWaiting(deviceKey(nonceOf(cookie)));
    const throttled = await signIn(email, PASSWORD, { cookie });
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(throttled.body).toMatchObject({
      detail: expect.stringContaining("from this device"),
    });
    // Other clients of the account are judged as before.
    expect((await signIn(email, PASSWORD)).status).toBe(200);
  });
});
