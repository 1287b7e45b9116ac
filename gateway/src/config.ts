/**
 * The gateway's environment, validated once at start-up. The upstream variables are derived from
 * the public contract: one `<SERVICE>_URL` per service that owns an operation, all required, each
 * the base URL of one instance or a comma-separated list of instances to balance across.
 */
import { loadContract } from "@portico/contracts";
import { baseConfigShape, loadConfig } from "@portico/kit";
import { z } from "zod";
import { contractServices, parseUpstreamList, upstreamEnvVar } from "./routes.js";

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
  return { ...parsed, PUBLIC_URL: publicUrl, upstreams };
}
