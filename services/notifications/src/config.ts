/**
 * Environment of the notifications service: the kit's service variables, the SMTP relay the
 * outbox sender delivers through, and the schedules of its jobs.
 */
import { cronError, loadConfig, serviceConfigShape } from "@portico/kit";
import { z } from "zod";

/** A cron pattern variable (croner syntax, read in UTC), with croner's message when invalid. */
function cronPattern(fallback: string) {
  return z
    .string()
    .trim()
    .default(fallback)
    .superRefine((pattern, ctx) => {
      const error = cronError(pattern);
      if (error) ctx.addIssue({ code: "custom", message: error });
    });
}

/** Every variable the service reads (see `.env.example`). */
export const configShape = {
  ...serviceConfigShape,
  /** SMTP relay, `smtp://host:port` (or `smtps://…`; credentials as `user:pass@`). */
  SMTP_URL: z.url({ protocol: /^smtps?$/ }),
  /** The `From` of every email (RFC 5322 mailbox). */
  MAIL_FROM: z.string().trim().min(1).default("Portico <no-reply@portico.local>"),
  /** When the daily digest runs: cron pattern (croner; 5 fields, or 6 with seconds first). */
  DIGEST_CRON: cronPattern("0 8 * * *"),
  /** IANA time zone of DIGEST_CRON and of the digest's calendar day. */
  DIGEST_TIMEZONE: z
    .string()
    .trim()
    .default("UTC")
    .superRefine((zone, ctx) => {
      const error = cronError("0 8 * * *", zone);
      if (error) ctx.addIssue({ code: "custom", message: `not an IANA time zone: ${error}` });
    }),
  /** When failed emails whose back-off has elapsed are requeued (cron pattern, UTC). */
  EMAIL_RETRY_CRON: cronPattern("* * * * *"),
  /** Deliveries of an event to a consumer before it is dead-lettered (positive integer). */
  EVENT_MAX_DELIVER: z.coerce.number().int().min(1).max(100).default(5),
  /**
   * Seconds before each redelivery of an event, comma-separated (JetStream back-off; the last
   * repeats, the first is also the ack wait), e.g. `5,15,60,180`.
   */
  EVENT_BACKOFF_SECONDS: z
    .string()
    .trim()
    .default("5,15,60,180")
    .transform((list, ctx) => {
      const seconds = list.split(",").map((s) => Number(s.trim()));
      if (seconds.some((s) => !Number.isFinite(s) || s <= 0 || s > 86_400)) {
        ctx.addIssue({
          code: "custom",
          message: "must be positive numbers of seconds, comma-separated",
        });
        return z.NEVER;
      }
      return seconds;
    }),
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
