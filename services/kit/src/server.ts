/**
 * HTTP server lifecycle: listen, then on SIGTERM/SIGINT stop accepting, let in-flight requests
 * finish (up to a grace period), and close the resources the service opened, in order.
 */
import { createServer, type RequestListener, type Server, type ServerResponse } from "node:http";
import { answerClientErrorsWithProblems } from "./client-errors.js";
import type { Logger } from "./logger.js";

/** A running HTTP server. */
export interface RunningServer {
  server: Server;
  /** The bound port (useful when listening on port 0). */
  port: number;
  /** Graceful shutdown; idempotent. */
  close: () => Promise<void>;
}

/**
 * Listens and installs the shutdown handlers.
 * @param app what answers each request: an Express app or any `node:http` request listener.
 * @param options.onClose closers run after the server stops, in order (NATS drain, DB pool end).
 * @param options.graceMs how long in-flight requests may take after shutdown starts, in ms.
 * @param options.exitOnSignal exit the process after a signal-triggered shutdown (default true).
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
  },
): Promise<RunningServer> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = createServer(app);
    s.once("error", reject);
    s.listen(options.port, options.host, () => {
      s.off("error", reject);
      resolve(s);
    });
  });
  server.keepAliveTimeout = 65_000;
  answerClientErrorsWithProblems(server);
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  options.log.info({ port, host: options.host }, "listening");

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
