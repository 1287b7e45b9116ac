import { describe, expect, it } from "@jest/globals";
import { resolveUnder } from "../../src/upstreams/probe.js";
import { instanceReports, upstreamCheck } from "../../src/upstreams/readiness.js";
import { UpstreamPool } from "../../src/upstreams/upstream-pool.js";

describe("resolveUnder", () => {
  it.each([
    ["http://users:8081", "http://users:8081/healthz"],
    ["http://users:8081/", "http://users:8081/healthz"],
    ["http://edge/users", "http://edge/users/healthz"],
  ])("resolves healthz under %s", (base, expected) => {
    expect(resolveUnder(new URL(base), "healthz").href).toBe(expected);
  });
});

describe("upstream readiness", () => {
  const pool = () =>
    new UpstreamPool("products", [new URL("http://p1:8082"), new URL("http://p2:8082")], {
      unhealthyAfter: 1,
      healthyAfter: 1,
    });

  it("is ok while one instance is healthy, and reports each instance without its address", () => {
    const products = pool();
    const [first, second] = products.instances;
    if (!first || !second) throw new Error("two instances expected");
    products.recordCheck(first, { ok: true });
    products.recordCheck(second, { ok: false, reason: "unreachable (ECONNREFUSED)" });

    expect(upstreamCheck(products)).toBe("ok");
    expect(instanceReports(products)).toEqual([
      { instance: 1, state: "healthy" },
      { instance: 2, state: "unhealthy", reason: "unreachable (ECONNREFUSED)" },
    ]);
  });

  it("names why no instance is healthy", () => {
    const products = pool();
    const [first, second] = products.instances;
    if (!first || !second) throw new Error("two instances expected");
    products.markDown(first, "connection failed (ECONNREFUSED)");

    expect(upstreamCheck(products)).toBe(
      "no healthy instance (connection failed (ECONNREFUSED); unknown)",
    );
    expect(JSON.stringify(instanceReports(products))).not.toContain("p1");
  });
});
