import { describe, expect, it } from "@jest/globals";
import { encodeCursor, HttpProblem } from "@portico/kit";
import { v7 as uuidv7 } from "uuid";
import { callerId, cursorAfter } from "../../src/handlers/common.js";

function problemOf(fn: () => unknown): HttpProblem {
  try {
    fn();
  } catch (err) {
    if (err instanceof HttpProblem) return err;
    throw err;
  }
  throw new Error("expected an HttpProblem");
}

describe("cursorAfter", () => {
  it("is undefined without a cursor and round-trips one it issued", () => {
    expect(cursorAfter(undefined)).toBeUndefined();
    const key = { createdAt: new Date("2026-11-21T09:30:00.123Z"), id: uuidv7() };
    expect(cursorAfter(encodeCursor(key))).toEqual(key);
  });

  it("rejects a cursor whose id is not a UUID with a 400 naming cursor", () => {
    const cursor = encodeCursor({ createdAt: new Date(), id: "1; drop table notifications" });
    const problem = problemOf(() => cursorAfter(cursor));
    expect(problem.status).toBe(400);
    expect(problem.errors).toEqual([
      expect.objectContaining({ location: "query", field: "cursor" }),
    ]);
  });
});

describe("callerId", () => {
  it("returns the principal's user id, and 401 without one", () => {
    expect(callerId({ userId: "u-1", role: "user", email: "a@example.com" })).toBe("u-1");
    expect(problemOf(() => callerId(undefined)).status).toBe(401);
  });
});
