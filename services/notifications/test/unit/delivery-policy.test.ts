import { describe, expect, it } from "@jest/globals";
import {
  afterFailedAttempt,
  describeDeliveryError,
  MAX_DELIVERY_ATTEMPTS,
  SCHEDULED_RETRY,
} from "../../src/domain/delivery-policy.js";

describe("afterFailedAttempt", () => {
  it("doubles the delay after each failure", () => {
    const delays = [1, 2, 3, 4].map((n) => afterFailedAttempt(n, { baseDelayMs: 1_000 }));
    expect(delays).toEqual([
      { status: "pending", attempts: 1, retryInMs: 1_000 },
      { status: "pending", attempts: 2, retryInMs: 2_000 },
      { status: "pending", attempts: 3, retryInMs: 4_000 },
      { status: "pending", attempts: 4, retryInMs: 8_000 },
    ]);
  });

  it("caps the delay", () => {
    expect(afterFailedAttempt(4, { baseDelayMs: 1_000, maxDelayMs: 5_000 })).toMatchObject({
      retryInMs: 5_000,
    });
  });

  it("stops retrying on its own at the fifth failed attempt by default", () => {
    expect(MAX_DELIVERY_ATTEMPTS).toBe(5);
    expect(afterFailedAttempt(5, { baseDelayMs: 1_000 }).status).toBe("failed");
    expect(afterFailedAttempt(2, { baseDelayMs: 1, maxAttempts: 2 }).status).toBe("failed");
  });

  it("leaves failed emails to the retry job with a doubling back-off, then gives up", () => {
    expect(SCHEDULED_RETRY).toEqual({
      baseDelayMs: 60_000,
      maxDelayMs: 3_600_000,
      maxTotalAttempts: 12,
    });
    const outcomes = [5, 6, 7, 11, 12, 13].map((n) => afterFailedAttempt(n, { baseDelayMs: 1 }));
    expect(outcomes).toEqual([
      { status: "failed", attempts: 5, retryInMs: 60_000 },
      { status: "failed", attempts: 6, retryInMs: 120_000 },
      { status: "failed", attempts: 7, retryInMs: 240_000 },
      { status: "failed", attempts: 11, retryInMs: 3_600_000 },
      { status: "failed", attempts: 12 },
      { status: "failed", attempts: 13 },
    ]);
    const scheduled = { baseDelayMs: 10, maxDelayMs: 25, maxTotalAttempts: 4 };
    expect(afterFailedAttempt(2, { baseDelayMs: 1, maxAttempts: 2, scheduled })).toEqual({
      status: "failed",
      attempts: 2,
      retryInMs: 10,
    });
    expect(afterFailedAttempt(3, { baseDelayMs: 1, maxAttempts: 2, scheduled }).retryInMs).toBe(20);
    expect(afterFailedAttempt(4, { baseDelayMs: 1, maxAttempts: 2, scheduled })).toEqual({
      status: "failed",
      attempts: 4,
    });
  });
});

describe("describeDeliveryError", () => {
  it("keeps one line of at most 500 characters", () => {
    expect(describeDeliveryError(new Error("550 mailbox\n  unavailable"))).toBe(
      "550 mailbox unavailable",
    );
    const long = describeDeliveryError(new Error("x".repeat(2_000)));
    expect(long).toHaveLength(500);
    expect(long.endsWith("...")).toBe(true);
  });

  it("describes non-errors and empty messages", () => {
    expect(describeDeliveryError("timeout")).toBe("timeout");
    expect(describeDeliveryError(new Error(""))).toBe("unknown error");
  });
});
