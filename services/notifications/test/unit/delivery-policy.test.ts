import { describe, expect, it } from "@jest/globals";
import {
  afterFailedAttempt,
  describeDeliveryError,
  MAX_DELIVERY_ATTEMPTS,
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

  it("gives up at the fifth failed attempt by default", () => {
    expect(MAX_DELIVERY_ATTEMPTS).toBe(5);
    expect(afterFailedAttempt(5, { baseDelayMs: 1_000 })).toEqual({
      status: "failed",
      attempts: 5,
    });
    expect(afterFailedAttempt(2, { baseDelayMs: 1, maxAttempts: 2 }).status).toBe("failed");
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
