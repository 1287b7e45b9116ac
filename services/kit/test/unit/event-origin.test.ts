import type { IncomingMessage } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "@jest/globals";
import { currentEventOrigin, withEventOrigin, withRequestOrigin } from "../../src/event-origin.js";

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/** The origin seen after an await inside `fn`'s async continuation. */
async function originAfterAwait(ms = 0) {
  await sleep(ms);
  return currentEventOrigin();
}

function request(method: string, headers: Record<string, string> = {}): IncomingMessage {
  return { method, headers } as unknown as IncomingMessage;
}

describe("withEventOrigin", () => {
  it("keeps the origin across awaits and none outside", async () => {
    const origin = { requestId: "r-1" };
    await expect(withEventOrigin(origin, () => originAfterAwait())).resolves.toBe(origin);
    expect(currentEventOrigin()).toBeUndefined();
  });

  it("keeps each of two overlapping origins after the other settles", async () => {
    const first = { requestId: "first" };
    const second = { requestId: "second" };
    const [seenByFirst, seenBySecond] = await Promise.all([
      withEventOrigin(first, () => originAfterAwait(5)),
      // Still running when the first settles: the storage must stay enabled for it.
      withEventOrigin(second, () => originAfterAwait(40)),
    ]);
    expect(seenByFirst).toBe(first);
    expect(seenBySecond).toBe(second);
  });

  it("rethrows a synchronous error and serves the next origin as before", async () => {
    expect(() =>
      withEventOrigin({ requestId: "broken" }, () => {
        throw new Error("handler failed");
      }),
    ).toThrow("handler failed");
    const origin = { requestId: "after" };
    await expect(withEventOrigin(origin, () => originAfterAwait())).resolves.toBe(origin);
  });

  it("keeps the origin of a rejected handler until it rejects", async () => {
    const origin = { requestId: "rejects" };
    const seen: unknown[] = [];
    await expect(
      withEventOrigin(origin, async () => {
        seen.push(await originAfterAwait());
        throw new Error("no");
      }),
    ).rejects.toThrow("no");
    expect(seen).toEqual([origin]);
    const next = { requestId: "next" };
    await expect(withEventOrigin(next, () => originAfterAwait())).resolves.toBe(next);
  });
});

describe("withRequestOrigin", () => {
  it("runs a handler of a method that changes state in the request's origin", async () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      await expect(
        withRequestOrigin(request(method, { traceparent: TRACEPARENT }), "r-2", () =>
          originAfterAwait(),
        ),
      ).resolves.toEqual({ requestId: "r-2", traceparent: TRACEPARENT });
    }
  });

  it("drops a malformed traceparent", async () => {
    await expect(
      withRequestOrigin(request("POST", { traceparent: "garbage" }), "r-3", () =>
        originAfterAwait(),
      ),
    ).resolves.toEqual({ requestId: "r-3", traceparent: undefined });
  });

  it("runs a handler of a safe method without an origin", async () => {
    for (const method of ["GET", "HEAD", "OPTIONS", "TRACE"]) {
      await expect(
        withRequestOrigin(request(method), "r-4", () => originAfterAwait()),
      ).resolves.toBeUndefined();
    }
  });
});
