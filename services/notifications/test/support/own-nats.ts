/**
 * A nats-server of one test file's own. Test files run in parallel, and on the shared server
 * (jest's NATS_URL) the users and products services of other files answer the same query
 * subjects as this file's stand-ins: a real users instance answers "no such user" for an id only
 * the stand-in knows, sometimes first. A file that stands in for another service's queries
 * therefore runs on a server where nothing else answers.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectNats, type Logger, type NatsConnection } from "@portico/kit";
import { startNats } from "@portico/scripts/infra/nats";

/** A running private nats-server (JetStream on) and a connection to it. */
export interface OwnNats {
  /** Client URL of the server, e.g. `nats://127.0.0.1:41234`. */
  url: string;
  /** A connection named after the test file. */
  nc: NatsConnection;
  /** Drains the connection, stops the server and removes its store. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a nats-server with JetStream in a temporary store and connects to it as `clientName`.
 * @throws InfraError when nats-server is missing or not ready in time.
 */
export async function startOwnNats(clientName: string, log: Logger): Promise<OwnNats> {
  const dir = await mkdtemp(join(tmpdir(), `${clientName}-nats-`));
  const server = await startNats({ storeDir: dir });
  const nc = await connectNats(server.url, clientName, log);
  let stopped: Promise<void> | undefined;
  return {
    url: server.url,
    nc,
    stop: () => {
      stopped ??= (async () => {
        await nc.drain().catch(() => undefined);
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
