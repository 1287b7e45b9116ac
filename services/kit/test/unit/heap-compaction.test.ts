/**
 * The compacting collection after start-up (heap-compaction.ts): it returns fragmented
 * old-generation pages, and leaves no `gc` function and no changed V8 flag behind.
 */
import { getHeapSpaceStatistics } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "@jest/globals";
import { compactHeap } from "../../src/heap-compaction.js";

const oldSpaceBytes = () =>
  getHeapSpaceStatistics().find((space) => space.space_name === "old_space")?.space_size ?? 0;

describe("compactHeap", () => {
  it("releases the old-generation pages that only a few survivors kept", () => {
    // ~40 MiB of small objects promoted to the old generation, then nine in ten of them dropped:
    // every page keeps a few survivors, so only compaction can give pages back.
    const held: { all?: unknown[] } = { all: [] };
    const survivors: unknown[] = [];
    for (let n = 0; n < 400_000; n++) {
      const item = { n, padding: [n, n, n, n, n, n, n, n] };
      held.all?.push(item);
      if (n % 10 === 0) survivors.push(item);
    }
    expect(compactHeap()).toBe(true); // promotes them
    delete held.all;
    const before = oldSpaceBytes();
    expect(compactHeap()).toBe(true);
    expect(before - oldSpaceBytes()).toBeGreaterThan(20 * 2 ** 20);
    expect(survivors).toHaveLength(40_000);
  });

  it("leaves no gc function in this or a later context", () => {
    compactHeap();
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe("undefined");
    expect(runInNewContext("typeof gc")).toBe("undefined");
  });
});
