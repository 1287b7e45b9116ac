/**
 * HTTP server lifecycle: listen with deliberate timeouts for slow and idle clients, then on
 * SIGTERM/SIGINT stop accepting, let in-flight requests finish (up to a grace period), and close
 * the resources the service opened, in order.
 */
import { createServer, type RequestListener, type Server, type ServerResponse } from "node:http";
import { answerClientErrorsWithProblems } from "./client-errors.js";
import { httpServerConfigShape, loadConfig } from "./config.js";
import { compactHeapSoonOnce } from "./heap-compaction.js";
import type { Logger } from "./logger.js";
import { hardenServer, protocolGuard } from "./protocol.js";

/** Timeouts of an HTTP server, in milliseconds (see `httpServerConfigShape` in config.ts). */
export interface HttpServerTimeouts {
  /** The request line and headers must arrive within it (Node's `server.headersTimeout`). */
  headersTimeoutMs: number;
  /** The whole request must arrive within it (`server.requestTimeout`); >= headersTimeoutMs. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after it (`server.keepAliveTimeout`). */
  keepAliveTimeoutMs: number;
}

/** The defaults: headers within 10 s, the request within 30 s, idle keep-alive 65 s. */
export const DEFAULT_HTTP_SERVER_TIMEOUTS: HttpServerTimeouts = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 65_000,
};

/**
 * The timeouts that `HTTP_HEADERS_TIMEOUT_MS`, `HTTP_REQUEST_TIMEOUT_MS` and
 * `HTTP_KEEP_ALIVE_TIMEOUT_MS` in `env` ask for, the defaults for those unset. Pure; the gateway
 * and every service read the same variables.
 * @throws Error naming the variables when one is not a whole number of milliseconds in range, or
 *   the headers timeout exceeds the request timeout.
 */
export function httpServerTimeouts(env: NodeJS.ProcessEnv = process.env): HttpServerTimeouts {
  const parsed = loadConfig(httpServerConfigShape, env, { exit: false });
  const timeouts = {
    headersTimeoutMs:
      parsed.HTTP_HEADERS_TIMEOUT_MS ?? DEFAULT_HTTP_SERVER_TIMEOUTS.headersTimeoutMs,
    requestTimeoutMs:
      parsed.HTTP_REQUEST_TIMEOUT_MS ?? DEFAULT_HTTP_SERVER_TIMEOUTS.requestTimeoutMs,
    keepAliveTimeoutMs:
      parsed.HTTP_KEEP_ALIVE_TIMEOUT_MS ?? DEFAULT_HTTP_SERVER_TIMEOUTS.keepAliveTimeoutMs,
  };
  if (timeouts.headersTimeoutMs > timeouts.requestTimeoutMs) {
    throw new Error(
      `Invalid configuration:\n  HTTP_HEADERS_TIMEOUT_MS (${timeouts.headersTimeoutMs}) must not exceed HTTP_REQUEST_TIMEOUT_MS (${timeouts.requestTimeoutMs})`,
    );
  }
  return timeouts;
}

/**
 * A `node:http` server for `app` with `timeouts` set. Node checks the headers and request
 * deadlines every `connectionsCheckingInterval` (30 s by default, which would let a 10 s deadline
 * run to 40 s), so the server checks at a quarter of the headers timeout, at most every second.
 * Every request first passes the protocol rules of `protocol.ts` (Host, HTTP version, CONNECT).
 */
export function createHttpServer(
  app: RequestListener,
  timeouts: HttpServerTimeouts = DEFAULT_HTTP_SERVER_TIMEOUTS,
): Server {
  const server = createServer(
    {
      headersTimeout: timeouts.headersTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(10, Math.min(1_000, timeouts.headersTimeoutMs / 4)),
    },
    protocolGuard(app),
  );
  server.keepAliveTimeout = timeouts.keepAliveTimeoutMs;
  answerClientErrorsWithProblems(server);
  hardenServer(server);
  return server;
}

/** A running HTTP server. */
export interface RunningServer {
  server: Server;
  /** The bound port (useful when listening on port 0). */
  port: number;
  /** Graceful shutdown; idempotent. */
  close: () => Promise<void>;
}

/**
 * Listens and installs the shutdown handlers. A second after the process's first server listens,
 * one compacting garbage collection returns what start-up left (see `heap-compaction.ts`).
 * @param app what answers each request: an Express app or any `node:http` request listener.
 * @param options.onClose closers run after the server stops, in order (NATS drain, DB pool end).
 * @param options.graceMs how long in-flight requests may take after shutdown starts, in ms.
 * @param options.exitOnSignal exit the process after a signal-triggered shutdown (default true).
 * @param options.timeouts the server's timeouts (default: from the environment, see
 *   {@link httpServerTimeouts}).
 * @throws Error when the port cannot be bound, or the timeouts in the environment are invalid.
 */
export async function listen(
  app: RequestListener,
  options: {
    port: number;
    host: string;
    log: Logger;
    onClose?: (() => Promise<void>)[];
    graceMs?: number;
    exitOnSignal?: boolean;
    timeouts?: HttpServerTimeouts;
  },
): Promise<RunningServer> {
  const timeouts = options.timeouts ?? httpServerTimeouts();
  const server = await new Promise<Server>((resolve, reject) => {
    const s = createHttpServer(app, timeouts);
    s.once("error", reject);
    s.listen(options.port, options.host, () => {
      s.off("error", reject);
      resolve(s);
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  options.log.info({ port, host: options.host }, "listening");
  const cancelCompaction = compactHeapSoonOnce();

  let closing: Promise<void> | undefined;
  // A keep-alive connection whose request was in flight when shutdown began only turns idle
  // after its response; close it then rather than holding shutdown for the whole grace period.
  server.on("request", (_req, res: ServerResponse) => {
    res.once("finish", () => {
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
  });
  const close = () => {
    closing ??= (async () => {
      cancelCompaction();
      options.log.info("shutting down");
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), options.graceMs ?? 10_000);
      await stopped;
      clearTimeout(timer);
      for (const closer of options.onClose ?? []) {
        await closer().catch((err: unknown) => options.log.error({ err }, "error while closing"));
      }
      options.log.info("stopped");
    })();
    return closing;
  };
  const onSignal = () => {
    close().then(
      () => options.exitOnSignal !== false && process.exit(0),
      () => process.exit(1),
    );
  };
  const signals = ["SIGTERM", "SIGINT"] as const;
  for (const signal of signals) process.once(signal, onSignal);
  // A server closed by the caller (tests, embedding) must not keep its signal handlers around.
  server.once("close", () => {
    for (const signal of signals) process.off(signal, onSignal);
  });
  return { server, port, close };
}
