/**
 * The gateway's event-fed side across a NATS outage, on this file's own nats-server (killed and
 * restarted on the same port and store): the product cache goes off while NATS is away and
 * comes back empty — a product changed meanwhile is read fresh, never served from before the
 * outage — and an open event stream survives and delivers notifications published after it.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { jetstream } from "@nats-io/jetstream";
import { type EventPayloads, loadContract, STREAMS } from "@portico/contracts";
import {
  connectNats,
  createLogger,
  ensureStream,
  type NatsConnection,
  newEnvelope,
} from "@portico/kit";
import { type NatsServer, startNats } from "@portico/scripts/infra/nats";
import { getFreePort } from "@portico/scripts/infra/ports";
import { createGateway, type Gateway } from "../../src/app.js";
import { loadGatewayConfig } from "../../src/config.js";
import { contractServices } from "../../src/operations/table.js";
import { upstreamEnvVar } from "../../src/operations/upstream-list.js";
import {
  type FakeJwks,
  type FakeUpstream,
  type ReceivedRequest,
  serve,
  startJwks,
  startUpstream,
} from "../support/servers.js";
import { openEventStream } from "../support/sse.js";

type Notification = EventPayloads["notifications.notification.created"]["notification"];

const log = createLogger("live-nats-restart-test", "silent");
const product = { id: randomUUID(), name: "Kettle", stock: 1 };

let storeDir: string;
let natsPort: number;
let natsServer: NatsServer;
let nc: NatsConnection;
let services: FakeUpstream;
let jwks: FakeJwks;
let gateway: Gateway;
let server: { url: string; close: () => Promise<void> };

async function killNats(): Promise<void> {
  if (natsServer.pid !== undefined) process.kill(natsServer.pid, "SIGKILL");
  await natsServer.stop();
}

/** Polls `probe` every 50 ms until it returns true. */
async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(50);
  }
}

const cacheStatus = async () =>
  (await fetch(`${server.url}/products/${product.id}`)).headers.get("cache-status");

beforeAll(async () => {
  storeDir = await mkdtemp(join(tmpdir(), "portico-gateway-nats-"));
  natsPort = await getFreePort();
  natsServer = await startNats({ storeDir, port: natsPort });
  nc = await connectNats(natsServer.url, "live-nats-restart-test", log);
  await ensureStream(nc, STREAMS.products, { replicas: 1 });
  await ensureStream(nc, STREAMS.notifications, { replicas: 1 });

  [services, jwks] = await Promise.all([startUpstream("products"), startJwks()]);
  services.respond = (_req: ReceivedRequest, res: ServerResponse) => {
    res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(product));
  };
  const env = {
    PORT: "0",
    LOG_LEVEL: "silent",
    JWKS_URL: jwks.url,
    NATS_URL: natsServer.url,
    SSE_HEARTBEAT_MS: "200",
    ...Object.fromEntries(
      contractServices(loadContract("public")).map((name) => [upstreamEnvVar(name), services.url]),
    ),
  };
  gateway = createGateway({ config: loadGatewayConfig(env, { exit: false }), logger: log });
  server = await serve(gateway.listener);
  expect(await gateway.live.ready).toBe(true);
}, 60_000);

afterAll(async () => {
  await server?.close();
  await gateway?.close();
  await nc?.close();
  await natsServer?.stop();
  await Promise.all([services?.close(), jwks?.close()]);
  await rm(storeDir, { recursive: true, force: true });
}, 60_000);

describe("a NATS outage", () => {
  it("turns the cache off, then back on empty; an open event stream carries on", async () => {
    const userId = randomUUID();
    const token = await jwks.sign({ sub: userId, role: "user", email: "ada@example.com" });
    const stream = await openEventStream(`${server.url}/events`, {
      Authorization: `Bearer ${token}`,
    });
    try {
      await cacheStatus();
      expect(await cacheStatus()).toBe("portico-gateway; hit");

      await killNats();
      await until(
        "the cache to go off",
        async () => (await cacheStatus()) === "portico-gateway; fwd=bypass",
      );
      // Changed while no event could reach the gateway.
      product.stock = 9;

      natsServer = await startNats({ storeDir, port: natsPort });
      await until(
        "the cache to come back",
        async () => (await cacheStatus()) !== "portico-gateway; fwd=bypass",
      );
      const after = await fetch(`${server.url}/products/${product.id}`);
      expect(["portico-gateway; hit", "portico-gateway; fwd=miss"]).toContain(
        after.headers.get("cache-status"),
      );
      expect((await after.json()).stock).toBe(9);

      // The stream stayed open (heartbeats went on) and the feed's consumer came back.
      const notification: Notification = {
        id: randomUUID(),
        type: "back_in_stock",
        title: "Kettle is back in stock",
        body: "Kettle is back in stock (9 available).",
        productId: product.id,
        createdAt: new Date().toISOString(),
        readAt: null,
      };
      const subject = "notifications.notification.created";
      const envelope = newEnvelope("notifications", subject, userId, { userId, notification });
      await until(
        "the client connection to reconnect",
        async () =>
          !nc.isClosed() &&
          (await nc.flush().then(
            () => true,
            () => false,
          )),
      );
      const ack = await jetstream(nc).publish(subject, JSON.stringify(envelope), {
        msgID: envelope.id,
      });
      const delivered = await stream.waitFor((e) => e.id === String(ack.seq), 20_000);
      expect(JSON.parse(delivered.data)).toEqual(notification);
      // And the stream goes on: a heartbeat after that notification (the outage may have taken
      // less than one heartbeat interval, so none need have come before it).
      const seen = stream.events.length;
      const heartbeat = await stream.waitFor(
        (e) => e.event === "heartbeat" && stream.events.indexOf(e) >= seen,
        5_000,
      );
      expect(heartbeat.id).toBeFalsy();
    } finally {
      stream.close();
    }
  }, 90_000);
});
