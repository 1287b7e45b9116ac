/**
 * The claims of an access token (a JWT, RFC 7519 section 4.1), built without any I/O so the
 * rules are testable on their own.
 */
import type { Role } from "./email.js";

/** The JWS algorithm of every access token (ECDSA P-256 with SHA-256, RFC 7518 section 3.4). */
export const ACCESS_TOKEN_ALG = "ES256";

/** The claims set of a Portico access token. Times are seconds since the Unix epoch. */
export interface AccessTokenClaims {
  iss: string;
  aud: string;
  /** The user id. */
  sub: string;
  role: Role;
  email: string;
  iat: number;
  exp: number;
  [claim: string]: unknown;
}

/** Who a token is issued to. */
export interface TokenSubject {
  id: string;
  email: string;
  role: Role;
}

/** Issuer-wide token settings. */
export interface TokenPolicy {
  issuer: string;
  audience: string;
  /** Lifetime of a token, in seconds. */
  ttlSeconds: number;
}

/**
 * The claims of an access token for `subject`, issued at `nowSeconds` and expiring
 * `policy.ttlSeconds` later.
 * @param nowSeconds current time in whole seconds since the epoch (fractions are dropped).
 */
export function accessTokenClaims(
  subject: TokenSubject,
  policy: TokenPolicy,
  nowSeconds: number,
): AccessTokenClaims {
  const iat = Math.floor(nowSeconds);
  return {
    iss: policy.issuer,
    aud: policy.audience,
    sub: subject.id,
    role: subject.role,
    email: subject.email,
    iat,
    exp: iat + policy.ttlSeconds,
  };
}
