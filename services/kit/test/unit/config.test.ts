import { describe, expect, it } from "@jest/globals";
import { z } from "zod";
import { baseConfigShape, loadConfig, serviceConfigShape } from "../../src/config.js";

const validEnv = {
  PORT: "8082",
  DATABASE_URL: "postgres://postgres:pw@127.0.0.1:5432/products",
  NATS_URL: "nats://127.0.0.1:4222",
  JWKS_URL: "http://127.0.0.1:8081/.well-known/jwks.json",
};

/** The message `loadConfig` throws for `env`. */
function errorOf(shape: z.ZodRawShape, env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(shape, env, { exit: false });
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("loadConfig accepted the environment");
}

describe("loadConfig", () => {
  it("applies the defaults and coerces PORT", () => {
    expect(loadConfig(serviceConfigShape, validEnv, { exit: false })).toEqual({
      ...validEnv,
      PORT: 8082,
      NODE_ENV: "development",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      JWT_ISSUER: "portico",
      JWT_AUDIENCE: "portico-api",
    });
  });

  it("keeps given values over the defaults and accepts postgresql://", () => {
    const config = loadConfig(
      serviceConfigShape,
      {
        ...validEnv,
        DATABASE_URL: "postgresql://db/products",
        NODE_ENV: "production",
        LOG_LEVEL: "warn",
        JWT_ISSUER: "issuer",
      },
      { exit: false },
    );
    expect(config).toMatchObject({
      NODE_ENV: "production",
      LOG_LEVEL: "warn",
      JWT_ISSUER: "issuer",
    });
    expect(config.DATABASE_URL).toBe("postgresql://db/products");
  });

  it("ignores variables the shape does not name", () => {
    const config = loadConfig(baseConfigShape, { PORT: "0", PATH: "/usr/bin" }, { exit: false });
    expect(config).not.toHaveProperty("PATH");
    expect(config.PORT).toBe(0);
  });

  it("throws one line naming each invalid or missing variable", () => {
    const message = errorOf(serviceConfigShape, {
      PORT: "eighty",
      NODE_ENV: "staging",
      LOG_LEVEL: "loud",
      DATABASE_URL: "mysql://db/products",
      JWKS_URL: "not a url",
    });
    expect(message.split("\n")[0]).toBe("Invalid configuration:");
    for (const name of ["PORT", "NODE_ENV", "LOG_LEVEL", "DATABASE_URL", "NATS_URL", "JWKS_URL"]) {
      expect(message).toMatch(new RegExp(`^  ${name}: `, "m"));
    }
    expect(message.split("\n")).toHaveLength(7);
  });

  it.each([
    ["a port above 65535", "65536"],
    ["a negative port", "-1"],
    ["a fractional port", "80.5"],
  ])("rejects %s", (_case, port) => {
    expect(errorOf(baseConfigShape, { PORT: port })).toMatch(/^ {2}PORT: /m);
  });

  it("validates a service's own variables next to the shared ones", () => {
    const shape = { ...baseConfigShape, ADMIN_EMAILS: z.string().min(1) };
    const message = errorOf(shape, { PORT: "1" });
    expect(message).toMatch(/^ {2}ADMIN_EMAILS: /m);
    expect(message).not.toMatch(/PORT/);
  });
});

describe("httpServerTimeouts", () => {
  it("applies the defaults, reads the three variables, and refuses what Node would not run", async () => {
    const { httpServerTimeouts, DEFAULT_HTTP_SERVER_TIMEOUTS } = await import(
      "../../src/server.js"
    );
    expect(httpServerTimeouts({})).toEqual(DEFAULT_HTTP_SERVER_TIMEOUTS);
    expect(
      httpServerTimeouts({
        HTTP_HEADERS_TIMEOUT_MS: "5000",
        HTTP_REQUEST_TIMEOUT_MS: "20000",
        HTTP_KEEP_ALIVE_TIMEOUT_MS: "7000",
      }),
    ).toEqual({ headersTimeoutMs: 5000, requestTimeoutMs: 20000, keepAliveTimeoutMs: 7000 });
    expect(() => httpServerTimeouts({ HTTP_HEADERS_TIMEOUT_MS: "0" })).toThrow(
      /HTTP_HEADERS_TIMEOUT_MS/,
    );
    expect(() => httpServerTimeouts({ HTTP_REQUEST_TIMEOUT_MS: "soon" })).toThrow(
      /HTTP_REQUEST_TIMEOUT_MS/,
    );
    expect(() =>
      httpServerTimeouts({ HTTP_HEADERS_TIMEOUT_MS: "40000", HTTP_REQUEST_TIMEOUT_MS: "30000" }),
    ).toThrow(/must not exceed HTTP_REQUEST_TIMEOUT_MS/);
  });
});
