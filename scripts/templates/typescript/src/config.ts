/** The __name__ service's environment: the kit's service variables (see `.env.example`). */
import { loadConfig, serviceConfigShape } from "@portico/kit";
import { z } from "zod";

/** Every variable the service reads: the kit's service variables, PORT __port__ by default. */
export const configShape = {
  ...serviceConfigShape,
  PORT: z.coerce.number().int().min(0).max(65535).default(__port__),
};

/** The validated configuration. */
export type Config = z.infer<z.ZodObject<typeof configShape>>;

/**
 * Reads and validates the configuration from `env`.
 * @throws Error listing every invalid variable when `exit` is false (otherwise exits with 1).
 */
export function readConfig(
  env: NodeJS.ProcessEnv = process.env,
  options: { exit?: boolean } = {},
): Config {
  return loadConfig(configShape, env, options);
}
