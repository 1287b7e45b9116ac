/**
 * Environment configuration, validated once at start-up with zod. A wrong or missing variable
 * stops the process with one clear line per problem and exit code 1.
 */
import { z } from "zod";

const milliseconds = (max: number) => z.coerce.number().int().min(1).max(max).optional();

/**
 * Timeouts of a process's HTTP server, in milliseconds (unset: the defaults of
 * `httpServerTimeouts` in server.ts). Slow or idle clients cannot hold connections for long:
 * - `HTTP_HEADERS_TIMEOUT_MS` (default 10 000): the request line and headers must arrive within it;
 * - `HTTP_REQUEST_TIMEOUT_MS` (default 30 000): the whole request, body included, must arrive
 *   within it; at least the headers timeout;
 * - `HTTP_KEEP_ALIVE_TIMEOUT_MS` (default 65 000): an idle keep-alive connection is closed after
 *   it (longer than the 60 s idle timeout of common load balancers and of the gateway's pools).
 * A request that misses its deadline is answered 408 Problem and its connection closed.
 */
export const httpServerConfigShape = {
  HTTP_HEADERS_TIMEOUT_MS: milliseconds(600_000),
  HTTP_REQUEST_TIMEOUT_MS: milliseconds(3_600_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: milliseconds(600_000),
};

/** Variables every TypeScript service reads. */
export const baseConfigShape = {
  ...httpServerConfigShape,
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65535),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  /** `pretty` (short coloured lines) or `json`; unset: pretty in development, else json (logger.ts). */
  LOG_FORMAT: z.enum(["pretty", "json"]).optional(),
  /** Required `iss` of access tokens. */
  JWT_ISSUER: z.string().min(1).default("portico"),
  /** Required `aud` of access tokens. */
  JWT_AUDIENCE: z.string().min(1).default("portico-api"),
};

/** Variables of a service with a database, NATS and token verification. */
export const serviceConfigShape = {
  ...baseConfigShape,
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  NATS_URL: z.string().min(1),
  /** URL of the users service's JWK Set. */
  JWKS_URL: z.url(),
  /** Copies of each JetStream stream on a NATS cluster (read by `ensureStream`; default 1). */
  NATS_STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).optional(),
};

/**
 * Parses `env` with `schema`; on failure prints each invalid variable and exits with code 1
 * (unless `exit` is false, when it throws instead — for tests).
 * @throws Error listing every invalid variable, when `exit` is false.
 */
export function loadConfig<S extends z.ZodRawShape>(
  shape: S,
  env: NodeJS.ProcessEnv = process.env,
  { exit = true } = {},
): z.infer<z.ZodObject<S>> {
  const result = z.object(shape).safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map(
    (issue) => `  ${issue.path.join(".") || "(env)"}: ${issue.message}`,
  );
  const message = `Invalid configuration:\n${lines.join("\n")}`;
  if (!exit) throw new Error(message);
  process.stderr.write(`${message}\nSee .env.example for every variable.\n`);
  process.exit(1);
}
