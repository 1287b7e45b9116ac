import { describe, expect, it } from "@jest/globals";
import { accessTokenClaims } from "../../src/domain/claims.js";

const subject = {
  id: "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10",
  email: "ada@example.com",
  role: "admin" as const,
};
const policy = { issuer: "portico", audience: "portico-api", ttlSeconds: 900 };

describe("accessTokenClaims", () => {
  it("carries issuer, audience, subject, role and email", () => {
    const claims = accessTokenClaims(subject, policy, 1_800_000_000);
    expect(claims).toEqual({
      iss: "portico",
      aud: "portico-api",
      sub: subject.id,
      role: "admin",
      email: "ada@example.com",
      iat: 1_800_000_000,
      exp: 1_800_000_900,
    });
  });

  it("uses whole seconds and expires ttlSeconds after issue", () => {
    const claims = accessTokenClaims(subject, policy, 1_800_000_000.75);
    expect(claims.iat).toBe(1_800_000_000);
    expect(claims.exp - claims.iat).toBe(900);
  });
});
