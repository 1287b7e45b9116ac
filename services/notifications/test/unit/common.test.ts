import { describe, expect, it } from "@jest/globals";
import { HttpProblem } from "@portico/kit";
import { callerId } from "../../src/handlers/common.js";

function problemOf(fn: () => unknown): HttpProblem {
  try {
    fn();
  } catch (err) {
    if (err instanceof HttpProblem) return err;
    throw err;
  }
  throw new Error("expected an HttpProblem");
}

describe("callerId", () => {
  it("returns the principal's user id, and 401 without one", () => {
    expect(callerId({ userId: "u-1", role: "user", email: "a@example.com" })).toBe("u-1");
    expect(problemOf(() => callerId(undefined)).status).toBe(401);
  });
});
