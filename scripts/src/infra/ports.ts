import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Ports handed to processes started later (services, nats-server, PostgreSQL) lie below the
 * kernel's ephemeral port range (Linux `net.ipv4.ip_local_port_range`, 32768-60999 by default;
 * IANA's dynamic range, 49152-65535, elsewhere). A port found by listening on port 0 and closing
 * again lies inside it, where the kernel gives it to the next `listen(0)` of any process (Linux
 * draws from the ~7 000 odd ports of the range's lower half): in a test run another worker's
 * server took a service's port between the check and the service's bind, answered the
 * orchestrator's readiness probe and the requests meant for the service, which died with
 * EADDRINUSE. Below the range neither `listen(0)` nor an outgoing connection lands.
 */
const FIRST_PORT = 20_000;
const END_PORT = 32_768;
/** Where each port handed out is claimed, for every process of the machine (file name: the port). */
const CLAIMS = join(tmpdir(), "portico-port-claims");

/** Whether a process with `pid` is running (signal 0 checks without signalling). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Claims `port` for this process unless a running process (this one included) claimed it before,
 * so no two processes (jest workers, concurrent test runs) are handed the same port: a file in the
 * claims folder naming this process, made whole under a name of its own and linked into place
 * (link fails when the name exists). The claim of a process that ended is taken over.
 * @returns whether this process claimed the port now.
 */
export function claimPort(port: number): boolean {
  mkdirSync(CLAIMS, { recursive: true });
  const file = join(CLAIMS, String(port));
  const draft = `${file}.${process.pid}`;
  writeFileSync(draft, String(process.pid));
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(draft, file);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      let owner: number;
      try {
        owner = Number(readFileSync(file, "utf8"));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") continue; // just taken over
        throw error;
      }
      if (owner === process.pid || (owner > 0 && isRunning(owner))) return false;
      rmSync(file, { force: true });
    }
    return false;
  } finally {
    rmSync(draft, { force: true });
  }
}

/**
 * A free TCP port on `host` (default 127.0.0.1) for a process to bind later: below the ephemeral
 * range (see above), claimed for this process, and free when checked.
 * @throws Error when no port between 20000 and 32767 is both unclaimed and free.
 */
export async function getFreePort(host = "127.0.0.1"): Promise<number> {
  const span = END_PORT - FIRST_PORT;
  const start = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    const port = FIRST_PORT + ((start + i) % span);
    if (claimPort(port) && (await isPortFree(port, host))) return port;
  }
  throw new Error(`no free port on ${host} between ${FIRST_PORT} and ${END_PORT - 1}`);
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
