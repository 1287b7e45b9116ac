import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "@jest/globals";
import { DEVELOPMENT_DEVICE_COOKIE_KEY, readConfig } from "../../src/config.js";

const base = {
  PORT: "8081",
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/users",
  NATS_URL: "nats://127.0.0.1:4222",
};

const DEVICE_COOKIE_KEY_32 = "k".repeat(32);

function pkcs8Pem(namedCurve: string): string {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve });
  return privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

describe("readConfig", () => {
  it("applies the defaults and does not require JWKS_URL", () => {
    const config = readConfig(base, { exit: false });
    expect(config.NODE_ENV).toBe("development");
    expect(config.TOKEN_TTL_SECONDS).toBe(3600);
    expect(config.JWT_ISSUER).toBe("portico");
    expect(config.JWT_AUDIENCE).toBe("portico-api");
    expect(config.JWT_PRIVATE_KEY).toBeUndefined();
    expect(config.ADMIN_EMAILS.size).toBe(0);
    expect("JWKS_URL" in config).toBe(false);
  });

  it("parses ADMIN_EMAILS case-insensitively", () => {
    const config = readConfig(
      { ...base, ADMIN_EMAILS: "Root@Example.com, ops@example.org" },
      {
        exit: false,
      },
    );
    expect([...config.ADMIN_EMAILS]).toEqual(["root@example.com", "ops@example.org"]);
  });

  it("fails in production without JWT_PRIVATE_KEY", () => {
    expect(() => readConfig({ ...base, NODE_ENV: "production" }, { exit: false })).toThrow(
      /JWT_PRIVATE_KEY: required when NODE_ENV=production/,
    );
  });

  it("accepts a P-256 PKCS#8 key in production, with \\n escapes as in .env files", () => {
    const pem = pkcs8Pem("prime256v1");
    const config = readConfig(
      {
        ...base,
        NODE_ENV: "production",
        JWT_PRIVATE_KEY: pem.replace(/\n/g, "\\n"),
        DEVICE_COOKIE_KEY: DEVICE_COOKIE_KEY_32,
      },
      { exit: false },
    );
    expect(config.JWT_PRIVATE_KEY).toBe(pem.trim());
  });

  it("rejects a key on another curve or no PEM at all", () => {
    expect(() =>
      readConfig({ ...base, JWT_PRIVATE_KEY: pkcs8Pem("secp384r1") }, { exit: false }),
    ).toThrow(/JWT_PRIVATE_KEY: must be the PKCS#8 PEM of a P-256/);
    expect(() => readConfig({ ...base, JWT_PRIVATE_KEY: "secret" }, { exit: false })).toThrow(
      /JWT_PRIVATE_KEY/,
    );
  });

  it("signs device cookies with the public development key outside production only", () => {
    expect(readConfig(base, { exit: false }).DEVICE_COOKIE_KEY).toBe(DEVELOPMENT_DEVICE_COOKIE_KEY);
    const production = { ...base, NODE_ENV: "production", JWT_PRIVATE_KEY: pkcs8Pem("prime256v1") };
    expect(() => readConfig(production, { exit: false })).toThrow(
      /DEVICE_COOKIE_KEY: required when NODE_ENV=production/,
    );
    expect(() =>
      readConfig(
        { ...production, DEVICE_COOKIE_KEY: DEVELOPMENT_DEVICE_COOKIE_KEY },
        { exit: false },
      ),
    ).toThrow(/DEVICE_COOKIE_KEY: must not be the development default/);
    expect(
      readConfig({ ...production, DEVICE_COOKIE_KEY: DEVICE_COOKIE_KEY_32 }, { exit: false })
        .DEVICE_COOKIE_KEY,
    ).toBe(DEVICE_COOKIE_KEY_32);
  });

  it("refuses a device cookie key shorter than 32 characters", () => {
    expect(() => readConfig({ ...base, DEVICE_COOKIE_KEY: "short" }, { exit: false })).toThrow(
      /DEVICE_COOKIE_KEY: must be at least 32 characters/,
    );
  });

  it("rejects a token lifetime that is not a positive number of seconds within a day", () => {
    expect(() => readConfig({ ...base, TOKEN_TTL_SECONDS: "0" }, { exit: false })).toThrow(
      /TOKEN_TTL_SECONDS/,
    );
    expect(() => readConfig({ ...base, TOKEN_TTL_SECONDS: "soon" }, { exit: false })).toThrow(
      /TOKEN_TTL_SECONDS/,
    );
  });

  it("accepts a glibc mmap threshold glibc would use and refuses one it would ignore", () => {
    expect(readConfig({ ...base, MALLOC_MMAP_THRESHOLD_: "1048576" }, { exit: false })).toEqual(
      expect.objectContaining({ MALLOC_MMAP_THRESHOLD_: 1_048_576 }),
    );
    for (const ignored of ["1MiB", "-1", String(64 * 1024 * 1024)]) {
      expect(() =>
        readConfig({ ...base, MALLOC_MMAP_THRESHOLD_: ignored }, { exit: false }),
      ).toThrow(/MALLOC_MMAP_THRESHOLD_/);
    }
  });
});
