/** The products service's environment (see `.env.example`). */
import { loadConfig, serviceConfigShape } from "@portico/kit";
import { z } from "zod";

/** Every variable the products service reads: the kit's service variables, PORT 8082 by default. */
export const configShape = {
  ...serviceConfigShape,
  PORT: z.coerce.number().int().min(0).max(65535).default(8082),
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
