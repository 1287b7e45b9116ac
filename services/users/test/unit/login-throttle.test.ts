import { describe, expect, it } from "@jest/globals";
import {
  delaySchedule,
  DEFAULT_LOGIN_THROTTLE_POLICY as policy,
  throttleDelayMs,
  tooManyLoginAttempts,
} from "../../src/security/login-throttle.js";

describe("throttleDelayMs", () => {
  it("lets 5 failures through, then waits 1 s doubling up to 5 minutes", () => {
    expect([0, 1, 5].map((n) => throttleDelayMs(n, policy))).toEqual([0, 0, 0]);
    expect([6, 7, 8, 9, 14].map((n) => throttleDelayMs(n, policy))).toEqual([
      1_000, 2_000, 4_000, 8_000, 256_000,
    ]);
    expect(throttleDelayMs(15, policy)).toBe(300_000);
    expect(throttleDelayMs(1_000_000, policy)).toBe(300_000);
  });
});

describe("delaySchedule", () => {
  it("lists the wait of each count until it reaches the cap", () => {
    const schedule = delaySchedule(policy);
    expect(schedule.slice(0, 7)).toEqual([0, 0, 0, 0, 0, 1_000, 2_000]);
    expect(schedule.at(-1)).toBe(300_000);
    expect(schedule.at(-2)).toBe(256_000);
  });
});

describe("tooManyLoginAttempts", () => {
  it("is a 429 whose Retry-After rounds the wait up to whole seconds, at least 1", () => {
    expect(tooManyLoginAttempts(1_200)).toMatchObject({
      status: 429,
      headers: { "Retry-After": "2" },
    });
    expect(tooManyLoginAttempts(3).headers["Retry-After"]).toBe("1");
  });
});
