/**
 * Issues access tokens: JWTs (RFC 7519) signed with ES256 (JWS, RFC 7515), the `kid` header
 * naming the key in the published JWK Set.
 */
import { SignJWT } from "jose";
import {
  ACCESS_TOKEN_ALG,
  accessTokenClaims,
  type TokenPolicy,
  type TokenSubject,
} from "../domain/claims.js";
import type { SigningKey } from "./signing-key.js";

/** An issued access token and its lifetime in seconds (the `expires_in` of RFC 6749 5.1). */
export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
}

/** Signs access tokens for users. */
export type TokenIssuer = (subject: TokenSubject) => Promise<IssuedToken>;

/**
 * A token issuer that signs with `key` under `policy`.
 * @param now clock in milliseconds since the epoch (replaceable in tests).
 */
export function createTokenIssuer(
  key: SigningKey,
  policy: TokenPolicy,
  now: () => number = Date.now,
): TokenIssuer {
  return async (subject) => {
    const claims = accessTokenClaims(subject, policy, now() / 1000);
    const accessToken = await new SignJWT(claims)
      .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, typ: "JWT", kid: key.kid })
      .sign(key.privateKey);
    return { accessToken, expiresIn: policy.ttlSeconds };
  };
}
