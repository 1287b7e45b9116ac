import { createHash } from "node:crypto";
import { describe, expect, it } from "@jest/globals";
import {
  apiKeyPrefix,
  generateApiKey,
  hashApiKeySecret,
  parseApiKey,
  secretMatches,
} from "../../src/domain/api-keys.js";

describe("generateApiKey", () => {
  it("makes a psk_ key of a 16-hex-digit lookup id and a 32-byte base64url secret", () => {
    const { key, lookupId } = generateApiKey();
    expect(key).toMatch(/^psk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(key.startsWith(`psk_${lookupId}_`)).toBe(true);
    const secret = key.slice(`psk_${lookupId}_`.length);
    expect(Buffer.from(secret, "base64url")).toHaveLength(32);
  });

  it("stores the SHA-256 of the secret, never the secret", () => {
    const { key, lookupId, secretHash } = generateApiKey();
    const secret = key.slice(`psk_${lookupId}_`.length);
    expect(secretHash).toBe(createHash("sha256").update(secret).digest("base64url"));
    expect(secretHash).not.toContain(secret);
  });

  it("draws a different key every time", () => {
    const keys = new Set(Array.from({ length: 100 }, () => generateApiKey().key));
    expect(keys.size).toBe(100);
  });
});

describe("parseApiKey", () => {
  it("splits a key into its lookup id and secret", () => {
    const { key, lookupId } = generateApiKey();
    expect(parseApiKey(key)).toEqual({ lookupId, secret: key.slice(21) });
  });

  it.each([
    ["another prefix", "pk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
    ["an upper-case lookup id", "psk_0123456789ABCDEF_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
    ["a short secret", "psk_0123456789abcdef_AAAA"],
    ["a trailing character", "psk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="],
    ["an empty string", ""],
  ])("refuses %s", (_case, key) => {
    expect(parseApiKey(key)).toBeUndefined();
  });
});

describe("secretMatches", () => {
  it("is true only for the secret that was hashed", () => {
    const hash = hashApiKeySecret("s3cret");
    expect(secretMatches("s3cret", hash)).toBe(true);
    expect(secretMatches("s3creT", hash)).toBe(false);
    expect(secretMatches("s3cret", "short")).toBe(false);
  });
});

describe("apiKeyPrefix", () => {
  it("is the public start of the key", () => {
    expect(apiKeyPrefix("0123456789abcdef")).toBe("psk_0123456789abcdef");
  });
});
