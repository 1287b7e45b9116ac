/**
 * API keys of service accounts: their format, and how they are kept at rest.
 *
 * A key is `psk_<lookup id>_<secret>`: `psk_` ("Portico service key", easy for secret scanners to
 * spot), a 16-hex-digit lookup id (8 random bytes) that finds the row without a scan, and the
 * secret, 32 random bytes in base64url (43 characters). Only the SHA-256 digest of the secret is
 * stored, so the database never holds a usable key.
 *
 * Why a fast hash and not Argon2 (which hashes the passwords): a slow, salted hash exists to make
 * guessing a low-entropy secret expensive once the hashes leak. A 256-bit random secret cannot be
 * guessed at any speed, so a slow hash would add nothing against that, while every API call would
 * pay ~50 ms and 19 MiB of hashing — an easy way to exhaust the service. One SHA-256 of the secret
 * is preimage-resistant, costs a microsecond, and is compared in constant time. (An HMAC with a
 * server-side pepper would also resist a leak of the hashes alone, but needs one more secret to
 * manage; with 256-bit secrets there is nothing left for it to protect.)
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** What every key starts with. */
export const API_KEY_PREFIX = "psk_";

const API_KEY_PATTERN = /^psk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** A freshly generated key, and what is stored of it. */
export interface GeneratedApiKey {
  /** The full key, shown to its creator once. */
  key: string;
  /** 16 hex digits; unique; stored in clear to find the key's row. */
  lookupId: string;
  /** {@link hashApiKeySecret} of the secret part. */
  secretHash: string;
}

/** The parts of a well-formed key. */
export interface ParsedApiKey {
  lookupId: string;
  secret: string;
}

/** The SHA-256 digest of a key's secret part, base64url (RFC 4648 section 5), as stored. */
export function hashApiKeySecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("base64url");
}

/** A new random key (8 + 32 bytes from the CSPRNG) and its stored form. */
export function generateApiKey(): GeneratedApiKey {
  const lookupId = randomBytes(8).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  return {
    key: `${API_KEY_PREFIX}${lookupId}_${secret}`,
    lookupId,
    secretHash: hashApiKeySecret(secret),
  };
}

/** The key's lookup id and secret, or undefined when `key` does not have the format. */
export function parseApiKey(key: string): ParsedApiKey | undefined {
  const match = API_KEY_PATTERN.exec(key);
  return match ? { lookupId: match[1] as string, secret: match[2] as string } : undefined;
}

/** The public start of a key (`psk_<lookup id>`): names it in lists without authenticating. */
export function apiKeyPrefix(lookupId: string): string {
  return `${API_KEY_PREFIX}${lookupId}`;
}

/** Whether `secret` hashes to `secretHash`, compared in constant time. */
export function secretMatches(secret: string, secretHash: string): boolean {
  const actual = Buffer.from(hashApiKeySecret(secret));
  const expected = Buffer.from(secretHash);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
