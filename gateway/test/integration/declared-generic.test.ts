/**
 * The gateway's caching and live push are the contracts' doing, not the gateway's code: a test
 * contract declares a cache on an operation the real contracts do not cache (a public
 * `GET /things/{thingId}` of a stand-in service) and a feed of an event the real contracts do not
 * push (`users.user.registered`, to the registered user), and both work through an unchanged
 * gateway over real NATS JetStream. With two streams feeding `GET /events` (the contracts'
 * notifications and this feed), each event id is the caller's position in both.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { jetstreamManager } from "@nats-io/jetstream";
import { loadContract, STREAMS } from "@portico/contracts";
import {
  connectNats,
  createEventPublisher,
  createLogger,
  ensureStream,
  type NatsConnection,
} from "@portico/kit";
import { createGateway, type Gateway } from "../../src/app.js";
import { loadGatewayConfig } from "../../src/config.js";
import { contractServices } from "../../src/operations/table.js";
import { upstreamEnvVar } from "../../src/operations/upstream-list.js";
import {
  type FakeJwks,
  type FakeUpstream,
  serve,
  startJwks,
  startUpstream,
} from "../support/servers.js";
import { openEventStream } from "../support/sse.js";

const log = createLogger("declared-generic-test", "silent");

/** The public contract plus a cached `getThing` and a feed of `users.user.registered`. */
function testContract(): Record<string, unknown> {
  const contract = structuredClone(loadContract("public")) as {
    paths: Record<string, Record<string, unknown>>;
  };
  contract.paths["/things/{thingId}"] = {
    get: {
      operationId: "getThing",
      summary: "Get a thing",
      security: [],
      parameters: [{ name: "thingId", in: "path", required: true, schema: { type: "string" } }],
      responses: { "200": { description: "The thing." } },
      "x-portico-service": "things",
      "x-portico-cache": {
        key: "thingId",
        invalidatedBy: [{ subjects: ["users.user.registered"], key: "data.userId" }],
      },
      "x-portico-feed": [
        {
          subject: "users.user.registered",
          event: "welcome",
          recipient: "data.userId",
          data: "data",
        },
      ],
    },
  };
  return contract;
}

let things: FakeUpstream;
let others: FakeUpstream;
let jwks: FakeJwks;
let nc: NatsConnection;
let gateway: Gateway;
let server: { url: string; close: () => Promise<void> };
/** What the stand-in answers for each thing. */
const versions = new Map<string, number>();

beforeAll(async () => {
  [things, others, jwks] = await Promise.all([
    startUpstream("things"),
    startUpstream("others"),
    startJwks(),
  ]);
  things.respond = (req, res) => {
    const id = req.url.split("/")[2] ?? "";
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ id, version: versions.get(id) ?? 0 }));
  };
  nc = await connectNats(process.env.NATS_URL ?? "", "declared-generic-test", log);
  await Promise.all(
    [STREAMS.users, STREAMS.notifications, STREAMS.products].map((s) => ensureStream(nc, s)),
  );
  const config = loadGatewayConfig(
    {
      PORT: "0",
      LOG_LEVEL: "silent",
      JWKS_URL: jwks.url,
      NATS_URL: process.env.NATS_URL ?? "",
      ...Object.fromEntries(
        contractServices(loadContract("public")).map((name) => [upstreamEnvVar(name), others.url]),
      ),
    },
    { exit: false },
  );
  gateway = createGateway({
    contract: testContract(),
    // The stand-in service of the test contract is not among the real contracts' services.
    config: { ...config, upstreams: { ...config.upstreams, things: [things.url] } },
    logger: log,
  });
  server = await serve(gateway.listener);
  expect(await gateway.live.ready).toBe(true);
});

afterAll(async () => {
  await server?.close();
  await gateway?.close();
  await nc?.drain();
  await Promise.all([things?.close(), others?.close(), jwks?.close()]);
});

/** Publishes `users.user.registered` for `userId`, as the users service's relay does. */
async function register(userId: string): Promise<number> {
  const before = (await (await jetstreamManager(nc)).streams.info(STREAMS.users.name)).state;
  await createEventPublisher(nc, "users").publish("users.user.registered", userId, {
    userId,
    email: "thing@example.com",
    name: "Thing",
    role: "user",
  });
  return before.last_seq + 1;
}

describe("a cache and a feed declared only in a test contract", () => {
  it("caches the declared operation and drops the entry on the declared event", async () => {
    const id = randomUUID();
    const read = () => fetch(`${server.url}/things/${id}`);
    const first = await read();
    expect(first.headers.get("cache-status")).toBe("portico-gateway; fwd=miss");
    expect(await first.json()).toEqual({ id, version: 0 });
    const second = await read();
    expect(second.headers.get("cache-status")).toBe("portico-gateway; hit");
    expect(await second.json()).toEqual({ id, version: 0 });
    expect(things.received.filter((r) => r.url === `/things/${id}`)).toHaveLength(1);

    versions.set(id, 1);
    await register(id);
    const deadline = Date.now() + 5_000;
    let after = await read();
    while (after.headers.get("cache-status") === "portico-gateway; hit" && Date.now() < deadline) {
      after = await read();
    }
    expect(await after.json()).toEqual({ id, version: 1 });
  });

  it("pushes the declared event to its recipient only, and resumes after it", async () => {
    const userId = randomUUID();
    const token = await jwks.sign({ sub: userId, role: "user", email: "thing@example.com" });
    const stream = await openEventStream(`${server.url}/events`, {
      Authorization: `Bearer ${token}`,
    });
    let firstId: string;
    try {
      expect(stream.status).toBe(200);
      await register(randomUUID()); // someone else's
      const sequence = await register(userId);
      const welcome = await stream.waitFor((event) => event.event === "welcome");
      // Streams in name order: NOTIFICATIONS (nothing yet for this caller), then USERS.
      expect(welcome.id).toBe(`0.${sequence}`);
      expect(JSON.parse(welcome.data)).toMatchObject({ userId, role: "user" });
      expect(stream.events.filter((event) => event.event === "welcome")).toHaveLength(1);
      firstId = welcome.id as string;
    } finally {
      stream.close();
    }

    const later = await register(userId);
    const resumed = await openEventStream(`${server.url}/events`, {
      Authorization: `Bearer ${token}`,
      "Last-Event-ID": firstId,
    });
    try {
      const replayed = await resumed.waitFor((event) => event.event === "welcome");
      expect(replayed.id).toBe(`0.${later}`);
    } finally {
      resumed.close();
    }
  });
});
