import { describe, expect, it } from "@jest/globals";
import {
  instanceDown,
  neverConnected,
  noInstanceProblem,
  UpstreamTimeoutError,
  upstreamProblem,
} from "../../src/upstreams/proxy.js";

const withCode = (code: string) =>
  Object.assign(new Error(`connect ${code} 10.0.0.7:8082`), { code });

describe("upstreamProblem", () => {
  it("answers 504 for an upstream timeout", () => {
    const problem = upstreamProblem(new UpstreamTimeoutError("products", 300), "products");

    expect(problem.status).toBe(504);
    expect(problem.message).toBe("The products service did not answer in time.");
  });

  it("answers 502 for a reset connection, without internals", () => {
    const problem = upstreamProblem(withCode("ECONNRESET"), "products");

    expect(problem.status).toBe(502);
    expect(problem.message).toBe("The products service is unavailable.");
  });
});

describe("noInstanceProblem", () => {
  it("answers 503 with Retry-After in seconds", () => {
    const problem = noInstanceProblem("products", 4);

    expect(problem.status).toBe(503);
    expect(problem.headers).toEqual({ "Retry-After": "4" });
    expect(problem.message).toBe("No instance of the products service is available.");
  });
});

describe("connection failures", () => {
  it.each([
    ["ECONNREFUSED", true, true],
    ["EHOSTUNREACH", true, true],
    ["ENOTFOUND", true, true],
    ["ECONNRESET", false, true],
    ["EPIPE", false, true],
    ["UPSTREAM_TIMEOUT", false, false],
    ["HPE_INVALID_CONSTANT", false, false],
  ])("%s: retried elsewhere %s, instance down %s", (code, retried, down) => {
    expect(neverConnected(withCode(code))).toBe(retried);
    expect(instanceDown(withCode(code))).toBe(down);
  });

  it("treats an error without a code as neither", () => {
    expect(neverConnected(new Error("boom"))).toBe(false);
    expect(instanceDown(undefined)).toBe(false);
  });
});
