import { describe, expect, it } from "@jest/globals";
import { UpstreamTimeoutError, upstreamProblem } from "../../src/proxy.js";

describe("upstreamProblem", () => {
  it("answers 504 for an upstream timeout", () => {
    const problem = upstreamProblem(new UpstreamTimeoutError("products", 300), "products");

    expect(problem.status).toBe(504);
    expect(problem.message).toBe("The products service did not answer in time.");
  });

  it("answers 502 for a refused or reset connection, without internals", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 10.0.0.7:8082"), {
      code: "ECONNREFUSED",
    });

    const problem = upstreamProblem(refused, "products");

    expect(problem.status).toBe(502);
    expect(problem.message).toBe("The products service is unavailable.");
  });
});
