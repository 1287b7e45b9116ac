/**
 * `subscribe()` against a scripted Server-Sent Events server (node:http): typed events, the
 * bearer token in the header, reconnection after the server's `retry` with `Last-Event-ID`, and
 * the refusals that end a subscription.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "@jest/globals";
import {
  createPorticoClient,
  type NotificationStreamEvent,
  type StreamEvent,
  StreamRefusedError,
} from "../src/index.js";

const notification = {
  id: "0192f0c3-2222-7b3e-9f43-2d8a5c1e4b10",
  type: "back_in_stock" as const,
  title: "Espresso cup is back in stock",
  body: "Espresso cup is back in stock (3 available).",
  productId: "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10",
  createdAt: "2026-11-21T10:00:00.000Z",
  readAt: null,
};

/** How the scripted server answers its n-th connection (0-based). */
type Script = (req: IncomingMessage, res: ServerResponse, connection: number) => void;

let server: Server | undefined;
const requests: IncomingMessage[] = [];

async function serveScript(script: Script): Promise<string> {
  requests.length = 0;
  server = createServer((req, res) => {
    requests.push(req);
    script(req, res, requests.length - 1);
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function openStream(res: ServerResponse): void {
  res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
  res.write("retry: 50\n\n");
}

const notificationFrame = (id: number) =>
  `event: notification\nid: ${id}\ndata: ${JSON.stringify({ ...notification, title: `n${id}` })}\n\n`;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** Collects events until `count` arrived. */
function collector(count: number) {
  const events: StreamEvent[] = [];
  let done: () => void = () => undefined;
  const reached = new Promise<void>((resolve) => {
    done = resolve;
  });
  return {
    events,
    reached,
    onEvent: (event: StreamEvent) => {
      events.push(event);
      if (events.length >= count) done();
    },
  };
}

describe("subscribe()", () => {
  it("sends the token in a header and yields typed notification and heartbeat events", async () => {
    const url = await serveScript((_req, res) => {
      openStream(res);
      res.write(notificationFrame(7));
      res.write(': a comment\n\nevent: heartbeat\ndata: {"at":"2026-11-21T10:00:15.000Z"}\n\n');
      res.write('event: unknown\ndata: {"ignored":true}\n\n');
    });
    const client = createPorticoClient({ baseUrl: `${url}/`, token: "t0k3n" });
    const received = collector(2);

    const subscription = await client.subscribe(received.onEvent);
    await received.reached;
    subscription.close();
    await subscription.closed;

    expect(requests[0]?.url).toBe("/events");
    expect(requests[0]?.headers.authorization).toBe("Bearer t0k3n");
    expect(requests[0]?.headers.accept).toBe("text/event-stream");
    expect(requests[0]?.headers["last-event-id"]).toBeUndefined();
    const [first, second] = received.events;
    expect(first).toEqual({
      event: "notification",
      id: "7",
      data: { ...notification, title: "n7" },
    });
    expect(second).toEqual({ event: "heartbeat", data: { at: "2026-11-21T10:00:15.000Z" } });
    // Narrowing on `event` gives the contract's types.
    if (first?.event === "notification") {
      const title: string = first.data.title;
      const typed: NotificationStreamEvent = first;
      expect([title, typed.id]).toEqual(["n7", "7"]);
    }
    expect(subscription.lastEventId).toBe("7");
  });

  it("reconnects after the server's retry delay, resuming with Last-Event-ID", async () => {
    const url = await serveScript((_req, res, connection) => {
      openStream(res);
      if (connection === 0) {
        res.end(`${notificationFrame(1)}${notificationFrame(2)}`);
        return;
      }
      res.write(notificationFrame(3));
    });
    const client = createPorticoClient({ baseUrl: url, token: "t" });
    const received = collector(3);
    let opened = 0;
    const subscription = await client.subscribe(received.onEvent, {
      lastEventId: "0",
      onOpen: () => {
        opened += 1;
      },
    });
    await received.reached;
    subscription.close();
    await subscription.closed;

    expect(requests.map((r) => r.headers["last-event-id"])).toEqual(["0", "2"]);
    expect(received.events.map((e) => (e.event === "notification" ? e.id : e.event))).toEqual([
      "1",
      "2",
      "3",
    ]);
    expect(opened).toBe(2);
  });

  it("rejects at once when the gateway refuses the stream, with its Problem", async () => {
    const url = await serveScript((_req, res) => {
      res.writeHead(401, { "Content-Type": "application/problem+json" });
      res.end(JSON.stringify({ type: "about:blank", title: "Unauthorized", status: 401 }));
    });
    const client = createPorticoClient({ baseUrl: url });
    const error = await client.subscribe(() => undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamRefusedError);
    expect((error as StreamRefusedError).status).toBe(401);
    expect((error as StreamRefusedError).problem?.title).toBe("Unauthorized");
    expect(requests[0]?.headers.authorization).toBeUndefined();
  });

  it("ends with the refusal when a reconnection is refused for good", async () => {
    const url = await serveScript((_req, res, connection) => {
      if (connection === 0) {
        openStream(res);
        res.end(notificationFrame(5));
        return;
      }
      res.writeHead(401, { "Content-Type": "application/problem+json" });
      res.end(JSON.stringify({ title: "Unauthorized", status: 401, detail: "expired" }));
    });
    const client = createPorticoClient({ baseUrl: url, token: "soon-expired" });
    const subscription = await client.subscribe(() => undefined);
    const error = await subscription.closed.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamRefusedError);
    expect((error as StreamRefusedError).message).toBe("expired");
    expect(requests[1]?.headers["last-event-id"]).toBe("5");
  });

  it("stops when its signal aborts, without reconnecting", async () => {
    const url = await serveScript((_req, res) => openStream(res));
    const client = createPorticoClient({ baseUrl: url, token: "t" });
    const abort = new AbortController();
    const subscription = await client.subscribe(() => undefined, { signal: abort.signal });
    abort.abort();
    await expect(subscription.closed).resolves.toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(requests).toHaveLength(1);
  });
});
