/**
 * Access tokens for tests: an ES256 key pair made here, tokens signed like the users service
 * signs them (iss `portico`, aud `portico-api`, sub, role, email), and the kit verifier over the
 * public key. The users service is not needed.
 */
import { createTokenVerifier, type TokenVerifier } from "@portico/kit";
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from "jose";
import { v7 as uuidv7 } from "uuid";

const ISSUER = "portico";
const AUDIENCE = "portico-api";
const KEY_ID = "products-test";

/** Signs test tokens and verifies them. */
export interface TestAuth {
  /** The verifier to give the app. */
  verifyToken: TokenVerifier;
  /** A fresh 10-minute access token for a new user with `role`. */
  tokenFor(role: "user" | "admin"): Promise<string>;
}

/** A new key pair and the {@link TestAuth} built on it. */
export async function createTestAuth(): Promise<TestAuth> {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const publicJwk = { ...(await exportJWK(publicKey)), kid: KEY_ID, alg: "ES256", use: "sig" };
  return {
    verifyToken: createTokenVerifier({
      jwks: createLocalJWKSet({ keys: [publicJwk] }),
      issuer: ISSUER,
      audience: AUDIENCE,
    }),
    tokenFor: (role) =>
      new SignJWT({ role, email: `${role}@example.com` })
        .setProtectedHeader({ alg: "ES256", kid: KEY_ID })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject(uuidv7())
        .setIssuedAt()
        .setExpirationTime("10m")
        .sign(privateKey),
  };
}
