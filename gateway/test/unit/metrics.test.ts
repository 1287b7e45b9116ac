import { describe, expect, it } from "@jest/globals";
import {
  fastLaneRequests,
  gatewayRegistry,
  gatewayRequests,
} from "../../src/observability/metrics.js";

/** The value of `counter`'s series whose labels include `labels` (0 when absent). */
async function seriesValue(
  counter: typeof gatewayRequests | typeof fastLaneRequests,
  labels: Record<string, string>,
): Promise<number> {
  const { values } = await counter.get();
  const found = values.find((v) =>
    Object.entries(labels).every(
      ([name, value]) => (v.labels as Record<string, unknown>)[name] === value,
    ),
  );
  return found?.value ?? 0;
}

describe("the counters counted on every request", () => {
  it("show what their children counted on every read: get() and a scrape", async () => {
    const labels = {
      operation_id: "metricsTestOperation",
      upstream: "metrics-test",
      method: "GET",
      status: "200",
    };
    const child = gatewayRequests.labels(labels);
    child.inc();
    child.inc(2);
    expect(await seriesValue(gatewayRequests, labels)).toBe(3);
    child.inc();
    expect(await gatewayRegistry.metrics()).toMatch(
      /portico_gateway_requests_total\{operation_id="metricsTestOperation",upstream="metrics-test",method="GET",status="200"\} 4/,
    );
  });

  it("take positional label values, and count nothing for a label set never counted", async () => {
    const before = await seriesValue(fastLaneRequests, { lane: "fast" });
    fastLaneRequests.labels("fast").inc();
    expect(await seriesValue(fastLaneRequests, { lane: "fast" })).toBe(before + 1);
    fastLaneRequests.labels("metrics-test-unused");
    expect((await fastLaneRequests.get()).values.map((v) => v.labels.lane)).not.toContain(
      "metrics-test-unused",
    );
  });

  it("keep one child per label set however often it is asked for (no growth per request)", async () => {
    const before = await seriesValue(fastLaneRequests, { lane: "metrics-test-repeated" });
    const children = (fastLaneRequests as unknown as { children: Map<string, unknown> }).children;
    fastLaneRequests.labels("metrics-test-repeated").inc();
    const size = children.size;
    for (let i = 0; i < 1_000; i += 1) fastLaneRequests.labels("metrics-test-repeated").inc();
    fastLaneRequests.labels({ lane: "metrics-test-repeated" }).inc();
    expect(children.size).toBe(size);
    expect(await seriesValue(fastLaneRequests, { lane: "metrics-test-repeated" })).toBe(
      before + 1_002,
    );
  });

  it("refuse an unknown label or a negative step, as prom-client does", () => {
    expect(() => fastLaneRequests.labels({ route: "x" } as never)).toThrow(/not included/);
    expect(() => fastLaneRequests.labels("fast").inc(-1)).toThrow(TypeError);
  });

  it("drop what was counted and not read yet when reset", async () => {
    const child = fastLaneRequests.labels("full");
    child.inc(5);
    fastLaneRequests.reset();
    expect(await seriesValue(fastLaneRequests, { lane: "full" })).toBe(0);
  });
});
