import { type Logger, pino } from "pino";

export type { Logger } from "pino";

/**
 * The process logger: JSON lines on stdout (pino), `service` on every line.
 * @param level pino level name (`trace`…`fatal`, or `silent`).
 */
export function createLogger(service: string, level = "info"): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    redact: ["req.headers.authorization", "req.headers.cookie", "password"],
  });
}
