/**
 * The JWK Set (RFC 7517) the gateway verifies access tokens with, fetched from any of the users
 * service's instances: each URL is tried in turn until one yields the key, so tokens still verify
 * while an instance is down (jose caches each set and refetches on an unknown `kid`).
 */
import { jwksFetch } from "@portico/kit/core";
import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from "jose";

/**
 * A key resolver for jose's `jwtVerify` over the JWK Sets at `urls` (tried in order; every users
 * instance serves the same keys).
 * @throws from the returned function the last set's error when none yields a key.
 */
export function failoverJwks(urls: readonly string[]): JWTVerifyGetKey {
  const sets = urls.map((url) =>
    createRemoteJWKSet(new URL(url), {
      cooldownDuration: 5_000,
      timeoutDuration: 2_000,
      [customFetch]: jwksFetch,
    }),
  );
  return async (header, token) => {
    let lastError: unknown = new Error("no JWK Set URL");
    for (const keys of sets) {
      try {
        return await keys(header, token);
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  };
}
