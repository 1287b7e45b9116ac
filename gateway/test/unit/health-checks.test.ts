import { describe, expect, it } from "@jest/globals";
import { startHealthChecks } from "../../src/upstreams/health-checks.js";
import { UpstreamPool } from "../../src/upstreams/upstream-pool.js";

const thresholds = { unhealthyAfter: 1, healthyAfter: 2 };

describe("startHealthChecks", () => {
  it("checks /healthz of every instance at once, then every interval, until stopped", async () => {
    const pool = new UpstreamPool(
      "users",
      [new URL("http://u1:8081"), new URL("http://u2:8081/base")],
      thresholds,
    );
    const checked: string[] = [];
    let u2Up = false;
    const checks = startHealthChecks([pool], {
      intervalMs: 20,
      timeoutMs: 5,
      probe: async (url, timeoutMs) => {
        checked.push(`${url.href} ${timeoutMs}`);
        if (url.host === "u2:8081" && !u2Up) throw new Error("unreachable (ECONNREFUSED)");
      },
    });

    await checks.firstRound;
    expect(checked).toEqual(["http://u1:8081/healthz 5", "http://u2:8081/base/healthz 5"]);
    expect(pool.instances.map((i) => i.state)).toEqual(["healthy", "unhealthy"]);
    expect(pool.instances[1]?.reason).toBe("unreachable (ECONNREFUSED)");

    u2Up = true;
    const deadline = Date.now() + 2_000;
    while (pool.instances[1]?.state !== "healthy" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(pool.instances[1]?.state).toBe("healthy");

    checks.stop();
    const count = checked.length;
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(checked.length).toBeLessThanOrEqual(count + 2);
  });
});
