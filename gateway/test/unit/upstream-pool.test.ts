import { describe, expect, it } from "@jest/globals";
import {
  type StateChange,
  type UpstreamInstance,
  UpstreamPool,
} from "../../src/upstreams/upstream-pool.js";

const URLS = ["http://p1:8082", "http://p2:8082", "http://p3:8082"].map((u) => new URL(u));

function poolOf(count = 3, thresholds = { unhealthyAfter: 2, healthyAfter: 2 }) {
  const changes: string[] = [];
  const pool = new UpstreamPool("products", URLS.slice(0, count), thresholds, (c: StateChange) =>
    changes.push(`${c.instance.ordinal}:${c.from}->${c.to}:${c.cause}`),
  );
  const at = (ordinal: number) => pool.instances[ordinal - 1] as UpstreamInstance;
  return { pool, at, changes };
}

function picks(pool: UpstreamPool, count: number): number[] {
  return Array.from({ length: count }, () => pool.pick()?.ordinal ?? 0);
}

describe("UpstreamPool", () => {
  it("starts every instance unknown and balances round-robin across them", () => {
    const { pool } = poolOf();

    expect(pool.instances.map((i) => i.state)).toEqual(["unknown", "unknown", "unknown"]);
    expect(picks(pool, 7)).toEqual([1, 2, 3, 1, 2, 3, 1]);
    expect(pool.hasHealthy()).toBe(false);
  });

  it("makes an unknown instance healthy on its first passed check", () => {
    const { pool, at, changes } = poolOf();

    pool.recordCheck(at(1), { ok: true });

    expect(at(1).state).toBe("healthy");
    expect(changes).toEqual(["1:unknown->healthy:check"]);
    expect(pool.hasHealthy()).toBe(true);
  });

  it("keeps an unknown instance balanced to until the configured consecutive failures", () => {
    const { pool, at, changes } = poolOf();

    pool.recordCheck(at(2), { ok: false, reason: "answered 503" });
    expect(at(2)).toMatchObject({ state: "unknown", reason: "answered 503" });
    expect(picks(pool, 3)).toEqual([1, 2, 3]);

    pool.recordCheck(at(2), { ok: false, reason: "answered 500" });
    expect(at(2)).toMatchObject({ state: "unhealthy", reason: "answered 500" });
    expect(changes).toEqual(["2:unknown->unhealthy:check"]);
  });

  it("skips unhealthy instances", () => {
    const { pool, at } = poolOf();
    pool.markDown(at(2), "connection failed (ECONNREFUSED)");

    expect(picks(pool, 4)).toEqual([1, 3, 1, 3]);
  });

  it("takes a healthy instance out only after the configured consecutive failures", () => {
    const { pool, at } = poolOf(3, { unhealthyAfter: 3, healthyAfter: 1 });
    pool.recordCheck(at(1), { ok: true });

    pool.recordCheck(at(1), { ok: false, reason: "timeout" });
    pool.recordCheck(at(1), { ok: false, reason: "timeout" });
    pool.recordCheck(at(1), { ok: true });
    pool.recordCheck(at(1), { ok: false, reason: "timeout" });
    pool.recordCheck(at(1), { ok: false, reason: "timeout" });
    expect(at(1).state).toBe("healthy");

    pool.recordCheck(at(1), { ok: false, reason: "no answer within 1000 ms" });
    expect(at(1)).toMatchObject({ state: "unhealthy", reason: "no answer within 1000 ms" });
  });

  it("brings an unhealthy instance back only after the configured consecutive successes", () => {
    const { pool, at, changes } = poolOf(3, { unhealthyAfter: 1, healthyAfter: 3 });
    pool.recordCheck(at(1), { ok: false, reason: "down" });
    expect(at(1).state).toBe("unhealthy");

    pool.recordCheck(at(1), { ok: true });
    pool.recordCheck(at(1), { ok: true });
    pool.recordCheck(at(1), { ok: false, reason: "down again" });
    pool.recordCheck(at(1), { ok: true });
    pool.recordCheck(at(1), { ok: true });
    expect(at(1)).toMatchObject({ state: "unhealthy", reason: "down again" });

    pool.recordCheck(at(1), { ok: true });
    expect(at(1)).toMatchObject({ state: "healthy", reason: undefined });
    expect(changes).toEqual(["1:unknown->unhealthy:check", "1:unhealthy->healthy:check"]);
  });

  it("marks an instance down at once after a failed connection, and restarts its recovery", () => {
    const { pool, at, changes } = poolOf(2, { unhealthyAfter: 5, healthyAfter: 2 });
    pool.recordCheck(at(1), { ok: true });
    pool.recordCheck(at(2), { ok: true });

    pool.markDown(at(1), "connection failed (ECONNREFUSED)");
    expect(at(1)).toMatchObject({ state: "unhealthy", reason: "connection failed (ECONNREFUSED)" });
    expect(picks(pool, 3)).toEqual([2, 2, 2]);

    pool.recordCheck(at(1), { ok: true });
    pool.markDown(at(1), "connection failed (ECONNRESET)");
    pool.recordCheck(at(1), { ok: true });
    expect(at(1).state).toBe("unhealthy");
    pool.recordCheck(at(1), { ok: true });
    expect(at(1).state).toBe("healthy");
    expect(changes.filter((c) => c.startsWith("1:"))).toEqual([
      "1:unknown->healthy:check",
      "1:healthy->unhealthy:connection",
      "1:unhealthy->healthy:check",
    ]);
  });

  it("picks none when every instance is down or already tried", () => {
    const { pool, at } = poolOf(2);
    pool.markDown(at(1), "refused");

    expect(pool.pick(new Set([at(2)]))).toBeUndefined();
    pool.markDown(at(2), "refused");
    expect(pool.pick()).toBeUndefined();
  });

  it("excludes instances already tried for the request", () => {
    const { pool, at } = poolOf();

    expect(pool.pick(new Set([at(1), at(2)]))?.ordinal).toBe(3);
    expect(pool.pick(new Set([at(1)]))?.ordinal).toBe(2);
  });

  it("refuses an empty instance list, a threshold below 1, and a foreign instance", () => {
    expect(() => new UpstreamPool("x", [], { unhealthyAfter: 1, healthyAfter: 1 })).toThrow(
      RangeError,
    );
    expect(() => new UpstreamPool("x", URLS, { unhealthyAfter: 0, healthyAfter: 1 })).toThrow(
      /at least 1/,
    );
    const { pool } = poolOf();
    const other = poolOf().at(1);
    expect(() => pool.markDown(other, "x")).toThrow(/not an instance of products/);
  });
});
