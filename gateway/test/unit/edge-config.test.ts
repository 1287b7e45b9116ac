import { describe, expect, it } from "@jest/globals";
import { loadContract } from "@portico/contracts";
import { z } from "zod";
import { loadGatewayConfig } from "../../src/config.js";
import { edgeConfigShape } from "../../src/edge/edge-config.js";
import { rateLimitKey, rateLimitPolicy } from "../../src/edge/rate-limit.js";
import { contractServices } from "../../src/operations/table.js";
import { upstreamEnvVar } from "../../src/operations/upstream-list.js";

const edge = z.object(edgeConfigShape);

/** The gateway's required variables: a port, a JWK Set and every upstream of the contract. */
const REQUIRED: Record<string, string> = {
  PORT: "8080",
  JWKS_URL: "http://127.0.0.1:8081/.well-known/jwks.json",
  ...Object.fromEntries(
    contractServices(loadContract("public")).map((s) => [upstreamEnvVar(s), "http://127.0.0.1:9"]),
  ),
};

describe("the edge variables", () => {
  it("default to in-memory limits, a 30 s deadline, no CORS, no trusted proxy and no NATS", () => {
    expect(edge.parse({})).toEqual({
      API_KEY_CACHE_TTL_MS: 5_000,
      RATE_LIMIT_WINDOW_MS: 60_000,
      RATE_LIMIT_MAX: 1_200,
      RATE_LIMIT_ANONYMOUS_MAX: 600,
      RATE_LIMIT_STORE: "memory",
      REQUEST_TIMEOUT_MS: 30_000,
      CORS_ORIGINS: [],
      TRUST_PROXY: false,
    });
  });

  it.each([
    ["false", false],
    ["true", true],
    ["2", 2],
    ["loopback, 10.0.0.0/8", "loopback,10.0.0.0/8"],
    ["192.168.1.10,fd00::/8", "192.168.1.10,fd00::/8"],
  ])("read TRUST_PROXY=%s as Express's trust proxy %p", (value, expected) => {
    expect(edge.parse({ TRUST_PROXY: value }).TRUST_PROXY).toEqual(expected);
  });

  it.each(["everyone", "10.0.0.0/33", "300.1.1.1"])("refuse TRUST_PROXY=%s", (value) => {
    expect(edge.safeParse({ TRUST_PROXY: value }).success).toBe(false);
  });

  it("read CORS_ORIGINS as a list of origins, trailing slashes dropped, * kept", () => {
    expect(
      edge.parse({ CORS_ORIGINS: "https://app.example/, http://127.0.0.1:5173" }).CORS_ORIGINS,
    ).toEqual(["https://app.example", "http://127.0.0.1:5173"]);
    expect(edge.parse({ CORS_ORIGINS: "*" }).CORS_ORIGINS).toEqual(["*"]);
  });

  it.each(["app.example", "https://app.example/path"])("refuse CORS origin %s", (value) => {
    expect(edge.safeParse({ CORS_ORIGINS: value }).success).toBe(false);
  });

  it("take 0 as no limit and refuse negative limits", () => {
    expect(edge.parse({ RATE_LIMIT_MAX: "0" }).RATE_LIMIT_MAX).toBe(0);
    expect(edge.safeParse({ RATE_LIMIT_MAX: "-1" }).success).toBe(false);
    expect(edge.safeParse({ RATE_LIMIT_WINDOW_MS: "0" }).success).toBe(false);
    expect(edge.safeParse({ RATE_LIMIT_STORE: "redis" }).success).toBe(false);
  });
});

describe("loadGatewayConfig with the edge variables", () => {
  it("refuses the NATS rate-limit store without NATS_URL, naming both", () => {
    expect(() =>
      loadGatewayConfig({ ...REQUIRED, RATE_LIMIT_STORE: "nats" }, { exit: false }),
    ).toThrow(/RATE_LIMIT_STORE: nats needs NATS_URL/);
  });

  it("accepts the NATS store with NATS_URL", () => {
    const config = loadGatewayConfig(
      { ...REQUIRED, RATE_LIMIT_STORE: "nats", NATS_URL: "nats://127.0.0.1:4222" },
      { exit: false },
    );
    expect(config.RATE_LIMIT_STORE).toBe("nats");
    expect(config.NATS_URL).toBe("nats://127.0.0.1:4222");
  });
});

describe("rateLimitKey", () => {
  it("keys users by subject, service accounts by key id, anonymous callers by address", () => {
    expect(rateLimitKey({ kind: "user", id: "u-1" }, "127.0.0.1")).toBe("user:u-1");
    expect(rateLimitKey({ kind: "apiKey", id: "k-1" }, "127.0.0.1")).toBe("key:k-1");
    expect(rateLimitKey({ kind: "anonymous" }, "203.0.113.7")).toBe("ip:203.0.113.7");
  });

  it("keys IPv6 clients by their /56 prefix", () => {
    const a = rateLimitKey({ kind: "anonymous" }, "2001:db8:abcd:12ff::1");
    const b = rateLimitKey({ kind: "anonymous" }, "2001:db8:abcd:1200::2");
    expect(a).toBe(b);
    expect(a).toBe("ip:2001:db8:abcd:1200::/56");
  });

  it("names the policy a caller falls under", () => {
    expect(rateLimitPolicy({ kind: "anonymous" })).toBe("anonymous");
    expect(rateLimitPolicy({ kind: "apiKey", id: "k" })).toBe("principal");
  });
});
