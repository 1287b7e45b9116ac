/** ES256 access tokens for tests, verified by the kit's verifier against a local JWK Set. */
import { createTokenVerifier, type TokenVerifier } from "@portico/kit";
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from "jose";

const ISSUER = "portico";
const AUDIENCE = "portico-api";

/** Mints tokens and verifies them, as the users service and this service would. */
export interface TestIssuer {
  verifyToken: TokenVerifier;
  /** A 5-minute user token for `userId` (`sub`), role `user`. */
  tokenFor(userId: string, email?: string): Promise<string>;
}

/** A fresh key pair and the verifier that trusts it. */
export async function createTestIssuer(): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid: "test-key", alg: "ES256", use: "sig" };
  const verifyToken = createTokenVerifier({
    jwks: createLocalJWKSet({ keys: [publicJwk] }),
    issuer: ISSUER,
    audience: AUDIENCE,
  });
  return {
    verifyToken,
    tokenFor: (userId, email = `${userId.slice(0, 8)}@example.com`) =>
      new SignJWT({ role: "user", email })
        .setProtectedHeader({ alg: "ES256", kid: "test-key" })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject(userId)
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(privateKey),
  };
}
