/**
 * Environment of the notifications service: the kit's service variables plus the SMTP relay the
 * outbox sender delivers through.
 */
import { loadConfig, serviceConfigShape } from "@portico/kit";
import { z } from "zod";

/** Every variable the service reads (see `.env.example`). */
export const notificationsConfigShape = {
  ...serviceConfigShape,
  /** SMTP relay, `smtp://host:port` (or `smtps://…`; credentials as `user:pass@`). */
  SMTP_URL: z.url({ protocol: /^smtps?$/ }),
  /** The `From` of every email (RFC 5322 mailbox). */
  MAIL_FROM: z.string().trim().min(1).default("Portico <no-reply@portico.local>"),
};

/** The validated configuration. */
export type NotificationsConfig = z.infer<z.ZodObject<typeof notificationsConfigShape>>;

/**
 * Reads and validates the configuration from `env`.
 * @throws Error listing every invalid variable when `exit` is false (otherwise exits with 1).
 */
export function readConfig(
  env: NodeJS.ProcessEnv = process.env,
  options: { exit?: boolean } = {},
): NotificationsConfig {
  return loadConfig(notificationsConfigShape, env, options);
}
