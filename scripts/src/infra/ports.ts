import { createServer } from "node:net";

/**
 * Asks the OS for a free TCP port on `host` (default 127.0.0.1) by listening on port 0 and closing
 * again. Another process may take the port before the caller binds it; the window is small.
 */
export async function getFreePort(host = "127.0.0.1"): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") {
    throw new Error(`could not read the port of a server listening on ${host}`);
  }
  return address.port;
}

/** Whether nothing listens on `host:port` yet (binding succeeds); errors other than EADDRINUSE throw. */
export async function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, resolve);
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") return false;
    throw error;
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return true;
}
