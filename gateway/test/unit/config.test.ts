import { describe, expect, it } from "@jest/globals";
import { loadGatewayConfig } from "../../src/config.js";
import { UPSTREAM_ENV, UPSTREAMS } from "../support/upstreams.js";

const ENV: Record<string, string> = {
  PORT: "8080",
  JWKS_URL: "http://127.0.0.1:8081/.well-known/jwks.json",
  ...UPSTREAM_ENV,
};

describe("loadGatewayConfig", () => {
  it("reads an upstream URL per service of the public contract, with defaults", () => {
    const config = loadGatewayConfig(ENV, { exit: false });

    expect(config.upstreams).toEqual(
      Object.fromEntries(Object.entries(UPSTREAMS).map(([service, url]) => [service, [url]])),
    );
    expect(config.JWKS_URL).toEqual([ENV.JWKS_URL]);
    expect(config.PUBLIC_URL).toBe("http://127.0.0.1:8080");
    expect(config.UPSTREAM_TIMEOUT_MS).toBe(10_000);
    expect(config).toMatchObject({
      UPSTREAM_HEALTH_INTERVAL_MS: 2_000,
      UPSTREAM_HEALTH_TIMEOUT_MS: 1_000,
      UPSTREAM_UNHEALTHY_AFTER: 2,
      UPSTREAM_HEALTHY_AFTER: 2,
    });
    expect(config.JWT_ISSUER).toBe("portico");
  });

  it("reads comma-separated instance lists for upstreams and the JWK Set", () => {
    const config = loadGatewayConfig(
      {
        ...ENV,
        PRODUCTS_URL: "http://127.0.0.1:8082, http://127.0.0.1:8182",
        JWKS_URL:
          "http://127.0.0.1:8081/.well-known/jwks.json,http://127.0.0.1:8181/.well-known/jwks.json",
        UPSTREAM_HEALTH_INTERVAL_MS: "500",
        UPSTREAM_UNHEALTHY_AFTER: "3",
      },
      { exit: false },
    );

    expect(config.upstreams.products).toEqual(["http://127.0.0.1:8082", "http://127.0.0.1:8182"]);
    expect(config.JWKS_URL).toEqual([
      "http://127.0.0.1:8081/.well-known/jwks.json",
      "http://127.0.0.1:8181/.well-known/jwks.json",
    ]);
    expect(config.UPSTREAM_HEALTH_INTERVAL_MS).toBe(500);
    expect(config.UPSTREAM_UNHEALTHY_AFTER).toBe(3);
  });

  it("fails naming the variable of a list with a bad or repeated instance", () => {
    expect(() =>
      loadGatewayConfig({ ...ENV, PRODUCTS_URL: "http://a:1,http://a:1" }, { exit: false }),
    ).toThrow(/PRODUCTS_URL: lists http:\/\/a:1\/ twice/);
    expect(() =>
      loadGatewayConfig({ ...ENV, UPSTREAM_HEALTHY_AFTER: "0" }, { exit: false }),
    ).toThrow(/UPSTREAM_HEALTHY_AFTER/);
  });

  it("takes PUBLIC_URL without its trailing slash and UPSTREAM_TIMEOUT_MS in ms", () => {
    const config = loadGatewayConfig(
      { ...ENV, PUBLIC_URL: "https://api.example.com/", UPSTREAM_TIMEOUT_MS: "2500" },
      { exit: false },
    );

    expect(config.PUBLIC_URL).toBe("https://api.example.com");
    expect(config.UPSTREAM_TIMEOUT_MS).toBe(2_500);
  });

  it("fails naming the variable of a service without an upstream URL", () => {
    const { PRODUCTS_URL: _omitted, ...env } = ENV;

    expect(() => loadGatewayConfig(env, { exit: false })).toThrow(/PRODUCTS_URL/);
  });

  it("fails for a malformed upstream URL or timeout", () => {
    expect(() =>
      loadGatewayConfig(
        { ...ENV, USERS_URL: "users:8081", UPSTREAM_TIMEOUT_MS: "-1" },
        { exit: false },
      ),
    ).toThrow(/USERS_URL[\s\S]*UPSTREAM_TIMEOUT_MS|UPSTREAM_TIMEOUT_MS[\s\S]*USERS_URL/);
  });

  it("asks for the upstream of every service the contract names", () => {
    const contract = {
      paths: { "/predictions": { post: { operationId: "predict", "x-portico-service": "ml" } } },
    };

    const { ML_URL: _ml, ...withoutMl } = ENV;
    expect(() => loadGatewayConfig(withoutMl, { exit: false }, contract)).toThrow(/ML_URL/);
    expect(
      loadGatewayConfig({ ...ENV, ML_URL: "http://ml:8084" }, { exit: false }, contract).upstreams,
    ).toEqual({ ml: ["http://ml:8084"] });
  });
});
