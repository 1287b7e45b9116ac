/**
 * The users service's environment, validated once at start-up. The service verifies its own
 * tokens with its own keys, so unlike other services it does not read `JWKS_URL`.
 */
import { loadConfig, serviceConfigShape } from "@portico/kit";
import { z } from "zod";
import { parseEmailList } from "./domain/email.js";
import { isEs256PrivateKeyPem } from "./security/signing-key.js";

const { JWKS_URL: _notReadHere, ...sharedShape } = serviceConfigShape;

const KEY_MESSAGE = "must be the PKCS#8 PEM of a P-256 (ES256) private key";

/** The development-only `DEVICE_COOKIE_KEY`: public, so refused in production. */
export const DEVELOPMENT_DEVICE_COOKIE_KEY = "development-only-device-cookie-key-not-a-secret";

/** `DEVICE_COOKIE_KEY`: an HMAC-SHA256 key, at least 32 characters. */
const deviceCookieKey = (missingMessage?: string) =>
  z.preprocess(
    (value) => (value === "" ? undefined : value),
    z
      .string(missingMessage ? { error: missingMessage } : {})
      .min(32, "must be at least 32 characters (e.g. `openssl rand -base64 32`)"),
  );

/** `JWT_PRIVATE_KEY`: a PEM; `\n` escapes (common in .env files) become newlines. */
const privateKeyPem = (missingMessage?: string) =>
  z.preprocess(
    (value) => (value === "" ? undefined : value),
    z
      .string(missingMessage ? { error: missingMessage } : {})
      .transform((pem) => pem.replace(/\\n/g, "\n").trim())
      .refine(isEs256PrivateKeyPem, KEY_MESSAGE),
  );

/** Variables of the users service (development and test: the signing key is optional). */
export const configShape = {
  ...sharedShape,
  /** Comma-separated emails that register as `admin`, compared case-insensitively. */
  ADMIN_EMAILS: z.string().default("").transform(parseEmailList),
  /** Access token lifetime in seconds. */
  TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(3600),
  /** Signing key; when unset (not allowed in production) the key pair lives in the database. */
  JWT_PRIVATE_KEY: privateKeyPem().optional(),
  /**
   * The signing key before the last rotation: no longer signs, still published in the JWK Set so
   * tokens it signed verify until they expire. Only read with `JWT_PRIVATE_KEY`.
   */
  JWT_PREVIOUS_PRIVATE_KEY: privateKeyPem().optional(),
  /** HMAC key that signs device cookies (security/device-cookie.ts); a public default in development. */
  DEVICE_COOKIE_KEY: deviceCookieKey().default(DEVELOPMENT_DEVICE_COOKIE_KEY),
  /**
   * glibc's mmap threshold in bytes, read by the C library at process start, not by this code
   * (the declaration sets 1 MiB, for Argon2's blocks: see the README). Checked here because glibc
   * ignores a value it cannot use (not a number, above its 32 MiB maximum) without a word.
   */
  MALLOC_MMAP_THRESHOLD_: z.coerce
    .number()
    .int()
    .min(0)
    .max(32 * 1024 * 1024)
    .optional(),
};

/** The validated configuration of the users service. */
export type Config = z.infer<z.ZodObject<typeof configShape>>;

/**
 * Reads the configuration from `env`. In production `JWT_PRIVATE_KEY` is required (a key kept in
 * the database is a development convenience, not a secret store), and so is `DEVICE_COOKIE_KEY`
 * (other than the development default).
 * @throws Error listing every invalid variable, when `exit` is false (otherwise exits with 1).
 */
export function readConfig(
  env: NodeJS.ProcessEnv = process.env,
  options: { exit?: boolean } = {},
): Config {
  const shape =
    env.NODE_ENV === "production"
      ? {
          ...configShape,
          JWT_PRIVATE_KEY: privateKeyPem(`required when NODE_ENV=production (${KEY_MESSAGE})`),
          DEVICE_COOKIE_KEY: deviceCookieKey("required when NODE_ENV=production").refine(
            (key) => key !== DEVELOPMENT_DEVICE_COOKIE_KEY,
            "must not be the development default when NODE_ENV=production",
          ),
        }
      : configShape;
  // The production shape only makes the secrets required.
  return loadConfig(shape as typeof configShape, env, options);
}
