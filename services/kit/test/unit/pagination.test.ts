import { describe, expect, it } from "@jest/globals";
import { v7 as uuidv7 } from "uuid";
import { decodeCursor, encodeCursor, keysetCursorAfter, toPage } from "../../src/pagination.js";
import { HttpProblem } from "../../src/problem.js";

const key = { createdAt: new Date("2026-11-21T09:30:00.123Z"), id: "0192f0c1-7c1a-7b3e" };

/** The problem `decodeCursor` throws for `cursor`. */
function rejectionOf(cursor: string): HttpProblem {
  try {
    decodeCursor(cursor);
  } catch (err) {
    if (err instanceof HttpProblem) return err;
    throw err;
  }
  throw new Error(`decodeCursor accepted ${cursor}`);
}

describe("encodeCursor / decodeCursor", () => {
  it("round-trips a keyset position, millisecond-exact", () => {
    const decoded = decodeCursor(encodeCursor(key));
    expect(decoded).toEqual(key);
    expect(decoded.createdAt.getTime()).toBe(key.createdAt.getTime());
  });

  it("produces base64url: no characters that need escaping in a query string", () => {
    const cursor = encodeCursor({ createdAt: key.createdAt, id: "???>>>~~~" });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor).id).toBe("???>>>~~~");
  });

  it.each([
    ["garbage", "not-a-cursor!!"],
    ["base64 of non-JSON", Buffer.from("hello").toString("base64url")],
    ["a JSON object", Buffer.from('{"id":"x"}').toString("base64url")],
    ["an invalid date", Buffer.from('["yesterday","x"]').toString("base64url")],
    ["a numeric id", Buffer.from('["2026-11-21T09:30:00Z",7]').toString("base64url")],
    ["an empty string", ""],
    ["a tampered cursor", `${encodeCursor(key).slice(0, -3)}AAA`],
  ])("rejects %s with a 400 naming the cursor query parameter", (_case, cursor) => {
    const problem = rejectionOf(cursor);
    expect(problem.status).toBe(400);
    expect(problem.errors).toEqual([
      { location: "query", field: "cursor", message: "is not a valid cursor" },
    ]);
  });
});

describe("toPage", () => {
  const rows = [3, 2, 1].map((n) => ({
    createdAt: new Date(Date.UTC(2026, 0, n)),
    id: `id-${n}`,
    name: `row ${n}`,
  }));
  const toName = (row: { name: string }) => row.name;

  it("gives the next cursor, at the last item shown, when more rows than the limit came back", () => {
    const page = toPage(rows, 2, toName);
    expect(page.items).toEqual(["row 3", "row 2"]);
    expect(page.nextCursor).not.toBeNull();
    expect(decodeCursor(page.nextCursor as string)).toEqual({
      createdAt: rows[1]?.createdAt,
      id: "id-2",
    });
  });

  it("gives no next cursor when exactly the limit came back", () => {
    expect(toPage(rows, 3, toName)).toEqual({
      items: ["row 3", "row 2", "row 1"],
      nextCursor: null,
    });
  });

  it("gives no next cursor when fewer rows than the limit came back, or none", () => {
    expect(toPage(rows.slice(0, 1), 2, toName).nextCursor).toBeNull();
    expect(toPage([], 2, toName)).toEqual({ items: [], nextCursor: null });
  });
});

function problemOf(fn: () => unknown): HttpProblem {
  try {
    fn();
  } catch (err) {
    if (err instanceof HttpProblem) return err;
    throw err;
  }
  throw new Error("expected an HttpProblem");
}

describe("keysetCursorAfter", () => {
  it("is undefined without a cursor and round-trips one it issued", () => {
    expect(keysetCursorAfter(undefined)).toBeUndefined();
    const key = { createdAt: new Date("2026-11-21T09:30:00.123Z"), id: uuidv7() };
    expect(keysetCursorAfter(encodeCursor(key))).toEqual(key);
  });

  it("rejects a cursor whose id is not a UUID with a 400 naming cursor", () => {
    const cursor = encodeCursor({ createdAt: new Date(), id: "1; drop table notifications" });
    const problem = problemOf(() => keysetCursorAfter(cursor));
    expect(problem.status).toBe(400);
    expect(problem.errors).toEqual([
      expect.objectContaining({ location: "query", field: "cursor" }),
    ]);
  });
});
