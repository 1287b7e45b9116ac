/**
 * Test support for services built on the kit (`@portico/kit/testing`): access tokens signed the
 * way the users service signs them, and a JSON-over-HTTP request helper. Used by tests only.
 */

import { createLocalJWKSet, exportJWK, generateKeyPair, type JSONWebKeySet, SignJWT } from "jose";
import { v7 as uuidv7 } from "uuid";
import type { Principal, TokenVerifier } from "./auth.js";
import { createTokenVerifier } from "./auth.js";

/** Mints ES256 access tokens (RFC 7519) and verifies them, without the users service. */
export interface TestIssuer {
  /** A kit verifier that trusts this issuer's key (give it to `createApp`). */
  verifyToken: TokenVerifier;
  /** The public key as a JWK Set (RFC 7517), e.g. to serve at a JWKS URL. */
  jwks: JSONWebKeySet;
  /**
   * A token for `userId` (default: a new UUID v7) with `role` (default `user`) and `email`.
   * @param claims.expiresIn a jose time span such as `"5m"` (default) or `"-1m"` (expired).
   */
  tokenFor(claims?: Partial<Principal> & { expiresIn?: string }): Promise<string>;
}

/**
 * A fresh ES256 key pair and the issuer built on it.
 * @param options.issuer `iss` (default `portico`), options.audience `aud` (default `portico-api`).
 */
export async function createTestIssuer(
  options: { issuer?: string; audience?: string; kid?: string } = {},
): Promise<TestIssuer> {
  const issuer = options.issuer ?? "portico";
  const audience = options.audience ?? "portico-api";
  const kid = options.kid ?? `test-${uuidv7()}`;
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" }] };
  return {
    verifyToken: createTokenVerifier({ jwks: createLocalJWKSet(jwks), issuer, audience }),
    jwks,
    tokenFor: ({ userId = uuidv7(), role = "user", email, expiresIn = "5m" } = {}) =>
      new SignJWT({ role, email: email ?? `${userId.slice(0, 8)}@example.com` })
        .setProtectedHeader({ alg: "ES256", kid })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(userId)
        .setIssuedAt()
        .setExpirationTime(expiresIn)
        .sign(privateKey),
  };
}

/** A response with its body parsed as JSON (undefined when empty); `any` unless typed. */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary response bodies
export interface TestResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** Options of {@link requestJson}. */
export interface TestRequestOptions {
  /** Bearer token for the `Authorization` header. */
  token?: string;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is, as `application/json` unless `headers` says otherwise (for malformed bodies). */
  raw?: string;
  headers?: Record<string, string>;
}

/** Sends `method path` to `baseUrl` and parses the response body as JSON. */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary response bodies
export async function requestJson<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  options: TestRequestOptions = {},
): Promise<TestResponse<T>> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.json !== undefined || options.raw !== undefined) {
    headers["content-type"] = "application/json";
    body = options.raw ?? JSON.stringify(options.json);
  }
  Object.assign(headers, options.headers);
  const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body ? { body } : {}) });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (text ? JSON.parse(text) : undefined) as T,
  };
}
