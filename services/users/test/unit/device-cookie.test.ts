import { describe, expect, it } from "@jest/globals";
import {
  createDeviceCookies,
  DEVICE_COOKIE_MAX_AGE_SECONDS,
} from "../../src/security/device-cookie.js";

const KEY = "unit-test-device-cookie-key-32-chars-long";
const EMAIL = "ada@example.com";

/** The `device=...` pair a browser would send back for a `Set-Cookie` value. */
const pair = (setCookie: string) => setCookie.split(";")[0] as string;

describe("device cookies", () => {
  it("verify for the account they were issued to, among other cookies, with a 16-byte nonce", () => {
    const cookies = createDeviceCookies(KEY);
    const cookie = pair(cookies.issue(EMAIL, { secure: true }));
    const device = cookies.verify({ cookie: `theme=dark; ${cookie}; lang=en` }, EMAIL);
    expect(device?.nonce).toHaveLength(16);
    expect(cookies.verify({ cookie }, "grace@example.com")).toBeUndefined();
  });

  it("carry a new nonce each time", () => {
    const cookies = createDeviceCookies(KEY);
    const [a, b] = [0, 1].map(() =>
      cookies.verify({ cookie: pair(cookies.issue(EMAIL, { secure: false })) }, EMAIL),
    );
    expect(a?.nonce.equals(b?.nonce ?? Buffer.alloc(0))).toBe(false);
  });

  it("say Secure only when asked", () => {
    const cookies = createDeviceCookies(KEY);
    expect(cookies.issue(EMAIL, { secure: true })).toContain("; Secure");
    expect(cookies.issue(EMAIL, { secure: false })).not.toContain("Secure");
  });

  it("are refused when signed with another key, malformed, absent or expired", () => {
    const cookies = createDeviceCookies(KEY);
    const foreign = pair(createDeviceCookies(`${KEY}!`).issue(EMAIL, { secure: false }));
    for (const cookie of [foreign, "device=", "device=a.b.c", "device=a.b.c.d.e", "other=1"]) {
      expect(cookies.verify({ cookie }, EMAIL)).toBeUndefined();
    }
    expect(cookies.verify({}, EMAIL)).toBeUndefined();
    let now = Date.now();
    const clocked = createDeviceCookies(KEY, { now: () => now });
    const cookie = pair(clocked.issue(EMAIL, { secure: false }));
    now += (DEVICE_COOKIE_MAX_AGE_SECONDS - 10) * 1000;
    expect(clocked.verify({ cookie }, EMAIL)).toBeDefined();
    now += 20_000;
    expect(clocked.verify({ cookie }, EMAIL)).toBeUndefined();
  });
});
