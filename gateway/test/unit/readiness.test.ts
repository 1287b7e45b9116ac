import { describe, expect, it } from "@jest/globals";
import { resolveUnder } from "../../src/readiness.js";

describe("resolveUnder", () => {
  it.each([
    ["http://users:8081", "http://users:8081/healthz"],
    ["http://users:8081/", "http://users:8081/healthz"],
    ["http://edge/users", "http://edge/users/healthz"],
  ])("resolves healthz under %s", (base, expected) => {
    expect(resolveUnder(new URL(base), "healthz").href).toBe(expected);
  });
});
