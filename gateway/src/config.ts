/**
 * The gateway's environment, validated once at start-up. The upstream variables are derived from
 * the public contract: one `<SERVICE>_URL` per service that owns an operation, all required.
 */
import { loadContract } from "@portico/contracts";
import { baseConfigShape, loadConfig } from "@portico/kit";
import { z } from "zod";
import { contractServices, upstreamEnvVar } from "./routes.js";

/** Variables of the gateway besides the upstream URLs. */
export const gatewayConfigShape = {
  ...baseConfigShape,
  /** URL of the users service's JWK Set (RFC 7517), used to verify access tokens at the edge. */
  JWKS_URL: z.url({ protocol: /^https?$/ }),
  /** The gateway's own public base URL, advertised in `/openapi.json` `servers`. */
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** How long an upstream may stay silent before the gateway answers 504, in ms. */
  UPSTREAM_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
};

/** The gateway's validated configuration. */
export type GatewayConfig = Omit<z.infer<z.ZodObject<typeof gatewayConfigShape>>, "PUBLIC_URL"> & {
  /** `PUBLIC_URL` without a trailing slash; defaults to `http://127.0.0.1:<PORT>`. */
  PUBLIC_URL: string;
  /** Upstream base URL of each service of the contract, keyed by service name. */
  upstreams: Record<string, string>;
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
    services.map((service) => [upstreamEnvVar(service), z.url({ protocol: /^https?$/ })]),
  );
  // The upstream keys are only known at run time; zod keeps them in the parsed object.
  const parsed = loadConfig({ ...upstreamShape, ...gatewayConfigShape }, env, options) as z.infer<
    z.ZodObject<typeof gatewayConfigShape>
  > &
    Record<string, unknown>;
  const upstreams = Object.fromEntries(
    services.map((service) => [service, String(parsed[upstreamEnvVar(service)])]),
  );
  const publicUrl = (parsed.PUBLIC_URL ?? `http://127.0.0.1:${parsed.PORT}`).replace(/\/+$/, "");
  return { ...parsed, PUBLIC_URL: publicUrl, upstreams };
}
