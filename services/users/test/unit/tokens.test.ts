import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "@jest/globals";
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import {
  generateSigningKey,
  publicJwkSet,
  signingKeyFromJwk,
  signingKeyFromPem,
} from "../../src/security/signing-key.js";
import { createTokenIssuer } from "../../src/security/token-issuer.js";

const policy = { issuer: "portico", audience: "portico-api", ttlSeconds: 600 };
const subject = {
  id: "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10",
  email: "ada@example.com",
  role: "user" as const,
};

describe("signing keys", () => {
  it("names a key by the RFC 7638 thumbprint of its public JWK and publishes no private part", async () => {
    const key = await generateSigningKey();
    const { kty, crv, x, y } = key.publicJwk;
    expect(key.kid).toBe(await calculateJwkThumbprint({ kty, crv, x, y }));
    const [published] = publicJwkSet([key]).keys;
    expect(published).toEqual({
      kty: "EC",
      crv: "P-256",
      x,
      y,
      kid: key.kid,
      alg: "ES256",
      use: "sig",
    });
    expect(published).not.toHaveProperty("d");
  });

  it("loads the same key, with the same kid, from its stored JWK", async () => {
    const key = await generateSigningKey();
    const reloaded = await signingKeyFromJwk(key.privateJwk);
    expect(reloaded.kid).toBe(key.kid);
    expect(reloaded.publicJwk).toEqual(key.publicJwk);
  });

  it("loads a PKCS#8 PEM", async () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const key = await signingKeyFromPem(pem);
    expect(key.kid).toBe(await calculateJwkThumbprint(key.publicJwk));
  });

  it("refuses a JWK that is not an EC P-256 private key", async () => {
    const key = await generateSigningKey();
    await expect(signingKeyFromJwk(key.publicJwk)).rejects.toThrow(/EC P-256 private JWK/);
  });
});

describe("createTokenIssuer", () => {
  it("signs ES256 tokens with kid that verify against the published JWK Set", async () => {
    const key = await generateSigningKey();
    const issue = createTokenIssuer(key, policy, () => 1_800_000_000_500);
    const token = await issue(subject);
    expect(token.expiresIn).toBe(600);
    expect(decodeProtectedHeader(token.accessToken)).toEqual({
      alg: "ES256",
      typ: "JWT",
      kid: key.kid,
    });
    const { payload } = await jwtVerify(token.accessToken, createLocalJWKSet(publicJwkSet([key])), {
      issuer: "portico",
      audience: "portico-api",
      currentDate: new Date(1_800_000_100_000),
    });
    expect(payload).toMatchObject({ sub: subject.id, role: "user", email: "ada@example.com" });
    expect(payload.iat).toBe(1_800_000_000);
    expect(payload.exp).toBe(1_800_000_600);
  });

  it("produces tokens another key's JWK Set rejects", async () => {
    const issue = createTokenIssuer(await generateSigningKey(), policy);
    const other = await generateSigningKey();
    const token = await issue(subject);
    await expect(
      jwtVerify(token.accessToken, createLocalJWKSet(publicJwkSet([other])), policy),
    ).rejects.toThrow();
  });
});
