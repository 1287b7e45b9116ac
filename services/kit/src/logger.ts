/**
 * The process logger (pino): JSON lines on stdout in production and test, short coloured lines
 * (pino-pretty, in-process) in development; `LOG_FORMAT=pretty|json` overrides either way.
 */
import type { Writable } from "node:stream";
import { type Logger, pino } from "pino";
import pinoPretty from "pino-pretty";

type MessageFormatFunc = pinoPretty.MessageFormatFunc;

export type { Logger } from "pino";

/** How log lines are written: one JSON object a line, or a short line for people. */
export type LogFormat = "json" | "pretty";

/** `LOG_FORMAT` when it is `json` or `pretty`; else `pretty` when `NODE_ENV=development`, else `json`. */
export function logFormatOf(env: NodeJS.ProcessEnv = process.env): LogFormat {
  if (env.LOG_FORMAT === "json" || env.LOG_FORMAT === "pretty") return env.LOG_FORMAT;
  return env.NODE_ENV === "development" ? "pretty" : "json";
}

/** Fields of an access line (see access-log.ts) that the pretty line shows in its own way. */
const ACCESS_FIELDS = ["reqId", "method", "path", "status", "durationMs", "operationId"];

type Colors = Parameters<MessageFormatFunc>[3]["colors"];

function statusColour(status: number, colors: Colors): (text: string) => string {
  if (status >= 500 || status === 0) return colors.red;
  if (status >= 400) return colors.yellow;
  if (status >= 300) return colors.cyan;
  return colors.green;
}

/**
 * The message of a pretty line: for an access line `GET /products/1 200 3.1 ms 0192f0c1` (status
 * coloured by class, the request id's first 8 characters dimmed), else the message itself.
 */
export const prettyMessage: MessageFormatFunc = (log, messageKey, _level, { colors }) => {
  const message = String(log[messageKey] ?? "");
  if (typeof log.status !== "number" || typeof log.method !== "string") return message;
  const status = statusColour(log.status, colors)(String(log.status || "aborted"));
  const id = typeof log.reqId === "string" ? ` ${colors.gray(log.reqId.slice(0, 8))}` : "";
  return `${log.method} ${String(log.path)} ${status} ${String(log.durationMs)} ms${id}`;
};

/**
 * The process logger: `service` on every line (`name` and `service`), secrets redacted.
 * @param level pino level name (`trace`…`fatal`, or `silent`).
 * @param options.format default {@link logFormatOf} the environment.
 * @param options.destination where lines go (default stdout); for tests.
 */
export function createLogger(
  service: string,
  level = "info",
  options: { format?: LogFormat; destination?: Writable } = {},
): Logger {
  const settings = {
    name: service,
    level,
    base: { service },
    redact: ["req.headers.authorization", "req.headers.cookie", "password"],
  };
  if ((options.format ?? logFormatOf()) === "json") {
    return options.destination ? pino(settings, options.destination) : pino(settings);
  }
  return pino(
    settings,
    pinoPretty({
      translateTime: "SYS:HH:MM:ss.l",
      ignore: ["pid", "hostname", "service", ...ACCESS_FIELDS].join(","),
      messageFormat: prettyMessage,
      singleLine: true,
      ...(options.destination ? { destination: options.destination, colorize: false } : {}),
    }),
  );
}
