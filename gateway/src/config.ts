/**
 * The gateway's environment, validated once at start-up. The upstream variables are derived from
 * the public contract: one `<SERVICE>_URL` per service that owns an operation, all required, each
 * the base URL of one instance or a comma-separated list of instances to balance across.
 */
import { loadContract } from "@portico/contracts";
import { baseConfigShape, loadConfig } from "@portico/kit/core";
import { z } from "zod";
import { edgeConfigShape } from "./edge/edge-config.js";
import { liveConfigShape } from "./events/live-config.js";
import { contractServices } from "./operations/table.js";
import { parseUpstreamList, upstreamEnvVar } from "./operations/upstream-list.js";

/** A comma-separated list of absolute http(s) URLs, as trimmed strings in the given order. */
const urlList = z.string().transform((value, ctx) => {
  const parsed = parseUpstreamList(value);
  if (typeof parsed === "string") {
    ctx.addIssue({ code: "custom", message: parsed });
    return z.NEVER;
  }
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
});

/** A positive integer read from a string. */
const positiveInt = () => z.coerce.number().int().positive();

/** Variables of the gateway besides the upstream URLs. */
export const gatewayConfigShape = {
  ...baseConfigShape,
  /**
   * URL of the users service's JWK Set (RFC 7517), used to verify access tokens at the edge; a
   * comma-separated list (one per users instance) is tried in order until one answers.
   */
  JWKS_URL: urlList,
  /** The gateway's own public base URL, advertised in `/openapi.json` `servers`. */
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** How long an upstream may stay silent before the gateway answers 504, in ms. */
  UPSTREAM_TIMEOUT_MS: positiveInt().default(10_000),
  /** Pause between two active health checks (`GET /healthz`) of every upstream instance, in ms. */
  UPSTREAM_HEALTH_INTERVAL_MS: positiveInt().default(2_000),
  /** How long one health check may take before it counts as failed, in ms. */
  UPSTREAM_HEALTH_TIMEOUT_MS: positiveInt().default(1_000),
  /** Consecutive failed checks after which a healthy instance is taken out of the balancing. */
  UPSTREAM_UNHEALTHY_AFTER: positiveInt().default(2),
  /** Consecutive passed checks after which an unhealthy instance is balanced to again. */
  UPSTREAM_HEALTHY_AFTER: positiveInt().default(2),
  /**
   * Retries of a failed upstream attempt: of idempotent requests after a 502/503/504 or a broken
   * connection, of any request whose connection was refused. 0 disables them.
   */
  UPSTREAM_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
  /** Back-off before the first retry, in ms; doubled for each next one (with jitter). */
  UPSTREAM_RETRY_BASE_MS: positiveInt().default(100),
  /** Longest back-off between two attempts, in ms. */
  UPSTREAM_RETRY_MAX_MS: positiveInt().default(1_000),
  /** Consecutive failed exchanges (502/503/504, timeout, broken connection) that open a breaker. */
  UPSTREAM_BREAKER_FAILURES: positiveInt().default(5),
  /** How long an open breaker answers 503 before it lets a trial request through, in ms. */
  UPSTREAM_BREAKER_HALF_OPEN_MS: positiveInt().default(10_000),
  // NATS, API keys, rate limits, request timeout, CORS, trusted proxies: see edge-config.ts.
  ...edgeConfigShape,
  // The declared caches (x-portico-cache) and the event stream (x-portico-feed): see live-config.ts.
  ...liveConfigShape,
};

type ParsedGatewayEnv = z.infer<z.ZodObject<typeof gatewayConfigShape>>;

/** The gateway's validated configuration. */
export type GatewayConfig = Omit<ParsedGatewayEnv, "PUBLIC_URL"> & {
  /** `PUBLIC_URL` without a trailing slash; defaults to `http://127.0.0.1:<PORT>`. */
  PUBLIC_URL: string;
  /** Base URL of each instance of each service of the contract, keyed by service name. */
  upstreams: Record<string, string[]>;
};

/**
 * Reads the gateway's configuration from `env`. On failure prints one line per invalid variable
 * (a missing `<SERVICE>_URL` included) and exits with code 1, or throws when `exit` is false.
 * @param contract the public document whose services need upstream URLs.
 * @throws Error listing every invalid variable, when `options.exit` is false.
 */
export function loadGatewayConfig(
  env: NodeJS.ProcessEnv = process.env,
  options: { exit?: boolean } = {},
  contract: Record<string, unknown> = loadContract("public"),
): GatewayConfig {
  const services = contractServices(contract);
  const upstreamShape = Object.fromEntries(
    services.map((service) => [upstreamEnvVar(service), urlList]),
  );
  // The upstream keys are only known at run time; zod keeps them in the parsed object.
  const parsed = loadConfig(
    { ...upstreamShape, ...gatewayConfigShape },
    env,
    options,
  ) as ParsedGatewayEnv & Record<string, unknown>;
  const upstreams = Object.fromEntries(
    services.map((service) => [service, parsed[upstreamEnvVar(service)] as string[]]),
  );
  const publicUrl = (parsed.PUBLIC_URL ?? `http://127.0.0.1:${parsed.PORT}`).replace(/\/+$/, "");
  if (parsed.RATE_LIMIT_STORE === "nats" && !parsed.NATS_URL) {
    const message = "Invalid configuration:\n  RATE_LIMIT_STORE: nats needs NATS_URL";
    if (options.exit === false) throw new Error(message);
    process.stderr.write(`${message}\nSee .env.example for every variable.\n`);
    process.exit(1);
  }
  return { ...parsed, PUBLIC_URL: publicUrl, upstreams };
}
