/**
 * `GET /events` (Server-Sent Events) end to end at the gateway: real NATS JetStream (the
 * `NOTIFICATIONS` stream, events published as the notifications service's relay publishes them),
 * a JWK Set signing real tokens, stand-in upstreams. Covers authentication, live delivery per
 * user, resuming with `Last-Event-ID` without gaps or duplicates, heartbeats and shutdown.
 */
import { randomUUID } from "node:crypto";
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
import { createGateway, type Gateway } from "../../src/app.js";
import { loadGatewayConfig } from "../../src/config.js";
import {
  gatewayRequestDuration,
  gatewayRequests,
  sseConnections,
} from "../../src/observability/metrics.js";
import { contractServices } from "../../src/operations/table.js";
import { upstreamEnvVar } from "../../src/operations/upstream-list.js";
import {
  type FakeJwks,
  type FakeUpstream,
  serve,
  startJwks,
  startUpstream,
} from "../support/servers.js";
import { openEventStream, problemOf } from "../support/sse.js";

type Notification = EventPayloads["notifications.notification.created"]["notification"];

const HEARTBEAT_MS = 250;
const log = createLogger("events-test", "silent");

let upstream: FakeUpstream;
let jwks: FakeJwks;
let nc: NatsConnection;
let gateway: Gateway;
let server: { url: string; close: () => Promise<void> };
const ada = { id: randomUUID(), token: "" };
const grace = { id: randomUUID(), token: "" };

function config(extra: Record<string, string> = {}) {
  return loadGatewayConfig(
    {
      PORT: "0",
      LOG_LEVEL: "silent",
      JWKS_URL: jwks.url,
      // One stand-in for every service of the contract.
      ...Object.fromEntries(
        contractServices(loadContract("public")).map((name) => [
          upstreamEnvVar(name),
          upstream.url,
        ]),
      ),
      SSE_HEARTBEAT_MS: String(HEARTBEAT_MS),
      ...extra,
    },
    { exit: false },
  );
}

beforeAll(async () => {
  [upstream, jwks] = await Promise.all([startUpstream("services"), startJwks()]);
  nc = await connectNats(process.env.NATS_URL ?? "", "events-test", log);
  // As the notifications and products services do at start (the gateway only reads them).
  await ensureStream(nc, STREAMS.notifications);
  await ensureStream(nc, STREAMS.products);
  gateway = createGateway({
    config: config({ NATS_URL: process.env.NATS_URL ?? "" }),
    logger: log,
  });
  server = await serve(gateway.listener);
  expect(await gateway.live.ready).toBe(true);
  ada.token = await jwks.sign({ sub: ada.id, role: "user", email: "ada@example.com" });
  grace.token = await jwks.sign({ sub: grace.id, role: "user", email: "grace@example.com" });
});

afterAll(async () => {
  await server?.close();
  await gateway?.close();
  await nc?.drain();
  await Promise.all([upstream?.close(), jwks?.close()]);
});

/** Publishes a new notification for `userId` as the notifications relay does. */
async function notify(userId: string): Promise<{ sequence: number; notification: Notification }> {
  const notification: Notification = {
    id: randomUUID(),
    type: "back_in_stock",
    title: "Espresso cup is back in stock",
    body: "Espresso cup is back in stock (3 available).",
    productId: randomUUID(),
    createdAt: new Date().toISOString(),
    readAt: null,
  };
  const subject = "notifications.notification.created";
  const envelope = newEnvelope("notifications", subject, userId, { userId, notification });
  const ack = await jetstream(nc).publish(subject, JSON.stringify(envelope), {
    msgID: envelope.id,
  });
  return { sequence: ack.seq, notification };
}

const eventsUrl = () => `${server.url}/events`;
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe("GET /events", () => {
  it("refuses a request without a valid token with a 401 Problem", async () => {
    for (const headers of [{}, bearer("not-a-token")]) {
      const stream = await openEventStream(eventsUrl(), headers);
      expect(stream.status).toBe(401);
      expect(stream.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(stream.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect(problemOf(stream)).toMatchObject({ status: 401, instance: "/events" });
    }
  });

  it("streams a notification created after subscribing to its user only", async () => {
    const stream = await openEventStream(eventsUrl(), bearer(ada.token));
    try {
      expect(stream.status).toBe(200);
      expect(stream.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
      expect(stream.headers.get("cache-control")).toBe("no-cache");

      const forGrace = await notify(grace.id);
      const forAda = await notify(ada.id);
      const event = await stream.waitFor((e) => e.event === "notification");

      expect(event.id).toBe(String(forAda.sequence));
      expect(JSON.parse(event.data)).toEqual(forAda.notification);
      const delivered = stream.events.filter((e) => e.event === "notification");
      expect(delivered.map((e) => e.id)).toEqual([String(forAda.sequence)]);
      expect(delivered.map((e) => e.id)).not.toContain(String(forGrace.sequence));
      expect(stream.retry).toBe(3_000);
    } finally {
      stream.close();
    }
  });

  it("resumes after Last-Event-ID with every later notification once, then live", async () => {
    const first = await openEventStream(eventsUrl(), bearer(ada.token));
    const n1 = await notify(ada.id);
    const n2 = await notify(ada.id);
    await first.waitFor((e) => e.id === String(n2.sequence));
    first.close();

    // While the client is away: two of Ada's notifications and one of Grace's.
    const n3 = await notify(ada.id);
    await notify(grace.id);
    const n4 = await notify(ada.id);

    const resumed = await openEventStream(eventsUrl(), {
      ...bearer(ada.token),
      "Last-Event-ID": String(n1.sequence),
    });
    try {
      expect(resumed.status).toBe(200);
      await resumed.waitFor((e) => e.id === String(n4.sequence));
      const n5 = await notify(ada.id);
      await resumed.waitFor((e) => e.id === String(n5.sequence));
      await delay(300); // anything extra (a duplicate) would arrive by now

      const received = resumed.events.filter((e) => e.event === "notification");
      expect(received.map((e) => JSON.parse(e.data).id)).toEqual(
        [n2, n3, n4, n5].map((n) => n.notification.id),
      );
      expect(received.map((e) => Number(e.id))).toEqual([n2, n3, n4, n5].map((n) => n.sequence));
    } finally {
      resumed.close();
    }
  });

  it("loses and repeats nothing when notifications keep coming while it resumes", async () => {
    const before = await notify(ada.id);
    const published: number[] = [];
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        published.push((await notify(ada.id)).sequence);
        await notify(grace.id);
      }
    })();
    await delay(50);
    const resumed = await openEventStream(eventsUrl(), {
      ...bearer(ada.token),
      "Last-Event-ID": String(before.sequence),
    });
    try {
      await delay(300);
      publishing = false;
      await publisher;
      const last = published.at(-1) ?? 0;
      await resumed.waitFor((e) => e.id === String(last));
      await delay(200);

      const ids = resumed.events.filter((e) => e.event === "notification").map((e) => Number(e.id));
      expect(published.length).toBeGreaterThan(3);
      expect(ids).toEqual(published);
    } finally {
      resumed.close();
    }
  });

  it("does not skip new events when Last-Event-ID is beyond the stream (it was recreated)", async () => {
    const stream = await openEventStream(eventsUrl(), {
      ...bearer(ada.token),
      "Last-Event-ID": "9999999999",
    });
    try {
      expect(stream.status).toBe(200);
      await delay(100); // the (empty) replay is done
      const next = await notify(ada.id);
      await stream.waitFor((e) => e.id === String(next.sequence));
    } finally {
      stream.close();
    }
  });

  it("sends heartbeat events without an id while nothing happens", async () => {
    const stream = await openEventStream(eventsUrl(), bearer(grace.token));
    try {
      await stream.waitFor(() => stream.events.filter((e) => e.event === "heartbeat").length >= 2);
      const heartbeats = stream.events.filter((e) => e.event === "heartbeat");
      for (const heartbeat of heartbeats) {
        expect(heartbeat.id).toBeUndefined();
        expect(JSON.parse(heartbeat.data)).toEqual({ at: expect.any(String) });
        expect(Number.isNaN(Date.parse(JSON.parse(heartbeat.data).at))).toBe(false);
      }
    } finally {
      stream.close();
    }
  });

  it("takes the token from ?access_token= on this operation only", async () => {
    const stream = await openEventStream(`${eventsUrl()}?access_token=${ada.token}`);
    try {
      expect(stream.status).toBe(200);
      const n = await notify(ada.id);
      await stream.waitFor((e) => e.id === String(n.sequence));
    } finally {
      stream.close();
    }

    const forged = await openEventStream(`${eventsUrl()}?access_token=forged`);
    expect(forged.status).toBe(401);
    expect(problemOf(forged).instance).toBe("/events");

    const elsewhere = await fetch(`${server.url}/products?access_token=${ada.token}`);
    expect(elsewhere.status).toBe(400);
    expect(JSON.stringify(await elsewhere.json())).toContain("access_token");
  });

  it("answers 400 naming query.access_token to one out of its contract bounds, header or not", async () => {
    for (const value of ["", "a".repeat(4097)]) {
      const stream = await openEventStream(
        `${eventsUrl()}?access_token=${value}`,
        bearer(ada.token),
      );
      expect(stream.status).toBe(400);
      expect(problemOf(stream)).toMatchObject({
        instance: "/events",
        errors: [expect.objectContaining({ location: "query", field: "access_token" })],
      });
    }
  });

  it("answers 400 to a Last-Event-ID that is not a sequence number", async () => {
    const stream = await openEventStream(eventsUrl(), {
      ...bearer(ada.token),
      "Last-Event-ID": "abc",
    });
    expect(stream.status).toBe(400);
    expect(JSON.stringify(problemOf(stream))).toMatch(/last-event-id/i);
  });

  it("counts open streams in the SSE gauge and ends them all at shutdown", async () => {
    const open = async () => (await sseConnections.get()).values[0]?.value ?? 0;
    const baseline = await open();
    const streams = await Promise.all([
      openEventStream(eventsUrl(), bearer(ada.token)),
      openEventStream(eventsUrl(), bearer(grace.token)),
    ]);
    expect(await open()).toBe(baseline + 2);

    gateway.endStreams();
    await Promise.all(streams.map((stream) => stream.ended));
    expect(await open()).toBe(baseline);
  });

  it("counts ended streams as requests but keeps their lifetimes out of the latency histogram", async () => {
    const labels = { operation_id: "streamEvents", upstream: "gateway", method: "GET" };
    const sample = async (metric: typeof gatewayRequests | typeof gatewayRequestDuration) =>
      (await metric.get()).values
        .filter((v) => v.labels.operation_id === labels.operation_id)
        .filter((v) => {
          const name = (v as { metricName?: string }).metricName;
          return name === undefined || name.endsWith("_count"); // the histogram's sample count
        })
        .reduce((sum, v) => sum + v.value, 0);
    const [requestsBefore, durationsBefore] = [
      await sample(gatewayRequests),
      await sample(gatewayRequestDuration),
    ];
    const stream = await openEventStream(eventsUrl(), bearer(ada.token));
    stream.close();
    await stream.ended;
    await new Promise((resolve) => setTimeout(resolve, 50)); // the server sees the close
    expect(await sample(gatewayRequests)).toBe(requestsBefore + 1);
    expect(await sample(gatewayRequestDuration)).toBe(durationsBefore);
  });
});

describe("GET /events without NATS", () => {
  it("answers 503 with Retry-After", async () => {
    const offline = createGateway({ config: config(), logger: log });
    const offlineServer = await serve(offline.listener);
    try {
      const stream = await openEventStream(`${offlineServer.url}/events`, bearer(ada.token));
      expect(stream.status).toBe(503);
      expect(stream.headers.get("retry-after")).toBe("5");
      expect(problemOf(stream)).toMatchObject({ status: 503 });
      expect(await offline.live.ready).toBe(false);
    } finally {
      await offlineServer.close();
      await offline.close();
    }
  });
});
