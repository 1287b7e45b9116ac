/**
 * The gateway's event-driven cache of `getProduct`: a stand-in products service (strong ETags,
 * 304s, a request counter), real NATS JetStream carrying `products.*` events. A cached product is
 * served without the upstream until an event about it arrives; then the next read shows the new
 * value. Errors are never cached.
 */
import { createHash, randomUUID } from "node:crypto";
import { get as httpGet, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { loadContract, STREAMS } from "@portico/contracts";
import {
  connectNats,
  createEventPublisher,
  createLogger,
  type EventPublisher,
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
  type ReceivedRequest,
  serve,
  startJwks,
  startUpstream,
} from "../support/servers.js";

interface Product {
  id: string;
  name: string;
  description: string;
  price: { amount: number; currency: string };
  stock: number;
  createdAt: string;
  updatedAt: string;
}

const log = createLogger("product-cache-test", "silent");
/** The stand-in's catalogue. */
const catalogue = new Map<string, Product>();
/** Status the stand-in answers for an id instead of the product (e.g. a 500). */
const failures = new Map<string, number>();

let services: FakeUpstream;
let jwks: FakeJwks;
let nc: NatsConnection;
let events: EventPublisher;
let gateway: Gateway;
let server: { url: string; close: () => Promise<void> };
let adminToken: string;

const etagOf = (body: string) =>
  `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;

/** The stand-in products service: strong ETag, `If-None-Match` → 304, 404 for unknown ids. */
function answer(req: ReceivedRequest, res: ServerResponse): void {
  const id = /^\/products\/([^/?]+)/.exec(req.url)?.[1] ?? "";
  const failure = failures.get(id);
  if (failure) {
    res.writeHead(failure, { "Content-Type": "application/problem+json" });
    res.end(JSON.stringify({ status: failure }));
    return;
  }
  const product = catalogue.get(id);
  if (!product) {
    res.writeHead(404, { "Content-Type": "application/problem+json" });
    res.end(JSON.stringify({ status: 404 }));
    return;
  }
  if (req.method === "PATCH") {
    Object.assign(product, JSON.parse(req.body.toString()), {
      updatedAt: new Date().toISOString(),
    });
  }
  const body = JSON.stringify(product);
  const headers = {
    "Content-Type": "application/json",
    ETag: etagOf(body),
    "Cache-Control": "public, max-age=0, must-revalidate",
  };
  if (req.headers["if-none-match"] === headers.ETag) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, headers).end(body);
}

function newProduct(name: string): Product {
  const now = new Date().toISOString();
  const product = {
    id: randomUUID(),
    name,
    description: "",
    price: { amount: 1000, currency: "EUR" },
    stock: 1,
    createdAt: now,
    updatedAt: now,
  };
  catalogue.set(product.id, product);
  return product;
}

/** The GET requests for `id` the stand-in received. */
const upstreamReads = (id: string) =>
  services.received.filter((r) => r.method === "GET" && r.url === `/products/${id}`).length;

const read = (id: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/products/${id}`, { headers });

/**
 * A GET with exactly `headers`, as a browser's HTTP cache revalidates a stored response (`fetch`
 * adds `Cache-Control: no-cache` to any request carrying `If-None-Match`).
 */
function revalidate(
  id: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(`${server.url}/products/${id}`, { headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
  });
}

/** Publishes `products.product.updated` for `product` as the products relay does. */
async function announceUpdate(product: Product): Promise<void> {
  const { id, name, description, price, stock } = product;
  await events.publish("products.product.updated", id, {
    product: { id, name, description, price, stock },
  });
}

/** Reads `id` until the answer is no longer a cache hit (the invalidation arrived). */
async function readUntilMiss(id: string, timeoutMs = 5_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await read(id);
    if (response.headers.get("cache-status") !== "portico-gateway; hit") return response;
    if (Date.now() > deadline) throw new Error(`product ${id} still cached after ${timeoutMs} ms`);
    await delay(20);
  }
}

function gatewayConfig(extra: Record<string, string> = {}) {
  return loadGatewayConfig(
    {
      PORT: "0",
      LOG_LEVEL: "silent",
      JWKS_URL: jwks.url,
      ...Object.fromEntries(
        contractServices(loadContract("public")).map((name) => [
          upstreamEnvVar(name),
          services.url,
        ]),
      ),
      ...extra,
    },
    { exit: false },
  );
}

beforeAll(async () => {
  [services, jwks] = await Promise.all([startUpstream("products"), startJwks()]);
  services.respond = answer;
  nc = await connectNats(process.env.NATS_URL ?? "", "product-cache-test", log);
  // As the products and notifications services do at start (the gateway only reads them).
  await ensureStream(nc, STREAMS.products);
  await ensureStream(nc, STREAMS.notifications);
  events = createEventPublisher(nc, "products");
  gateway = createGateway({
    config: gatewayConfig({ NATS_URL: process.env.NATS_URL ?? "" }),
    logger: log,
  });
  server = await serve(gateway.listener);
  expect(await gateway.live.ready).toBe(true);
  adminToken = await jwks.sign({ sub: randomUUID(), role: "admin", email: "root@example.com" });
});

afterAll(async () => {
  await server?.close();
  await gateway?.close();
  await nc?.drain();
  await Promise.all([services?.close(), jwks?.close()]);
});

beforeEach(() => {
  services.received.length = 0;
});

describe("getProduct through the gateway cache", () => {
  it("reads the upstream once, then serves the product from the cache to every caller", async () => {
    const cup = newProduct("Cup");
    const first = await read(cup.id);
    const second = await read(cup.id);
    const signedIn = await read(cup.id, { Authorization: `Bearer ${adminToken}` });

    expect(first.status).toBe(200);
    expect(first.headers.get("cache-status")).toBe("portico-gateway; fwd=miss");
    for (const cached of [second, signedIn]) {
      expect(cached.status).toBe(200);
      expect(cached.headers.get("cache-status")).toBe("portico-gateway; hit");
      expect(cached.headers.get("etag")).toBe(first.headers.get("etag"));
      expect(cached.headers.get("cache-control")).toBe("public, max-age=0, must-revalidate");
      expect(cached.headers.get("content-type")).toBe("application/json");
      expect(cached.headers.get("age")).toMatch(/^\d+$/);
      expect(cached.headers.get("x-request-id")).toBeTruthy();
    }
    expect(await second.json()).toEqual(cup);
    expect(await first.json()).toEqual(cup);
    expect(upstreamReads(cup.id)).toBe(1);
  });

  it("answers a revalidation (If-None-Match) from the cache with 304 and no body", async () => {
    const mug = newProduct("Mug");
    const etag = (await read(mug.id)).headers.get("etag") ?? "";

    const revalidated = await revalidate(mug.id, { "If-None-Match": etag });
    expect(revalidated.status).toBe(304);
    expect(revalidated.headers.etag).toBe(etag);
    expect(revalidated.headers["cache-status"]).toBe("portico-gateway; hit");
    expect(revalidated.body).toBe("");
    const stale = await revalidate(mug.id, { "If-None-Match": '"stale"' });
    expect(stale.status).toBe(200);
    expect(JSON.parse(stale.body)).toEqual(mug);
    expect(upstreamReads(mug.id)).toBe(1);
  });

  it("forwards a request asking for validation at the origin (no-cache), refreshing the entry", async () => {
    const jar = newProduct("Jar");
    const etag = (await read(jar.id)).headers.get("etag") ?? "";
    // fetch() sends Cache-Control: no-cache with a hand-set If-None-Match.
    const conditional = await read(jar.id, { "If-None-Match": etag });
    expect(conditional.status).toBe(304);
    expect(conditional.headers.get("cache-status")).toBe("portico-gateway; fwd=request");
    const reload = await revalidate(jar.id, { "Cache-Control": "max-age=0" });
    expect(reload.status).toBe(200);
    expect(reload.headers["cache-status"]).toBe("portico-gateway; fwd=request");
    expect(upstreamReads(jar.id)).toBe(3);
    expect((await revalidate(jar.id, {})).headers["cache-status"]).toBe("portico-gateway; hit");
  });

  it("passes If-None-Match to the upstream on a miss, which answers 304", async () => {
    const bowl = newProduct("Bowl");
    const etag = etagOf(JSON.stringify(bowl));
    const response = await revalidate(bowl.id, { "If-None-Match": etag });
    expect(response.status).toBe(304);
    expect(response.headers["cache-status"]).toBe("portico-gateway; fwd=miss");
    expect(upstreamReads(bowl.id)).toBe(1);
    // A 304 stores nothing: the next read goes upstream again.
    expect((await read(bowl.id)).headers.get("cache-status")).toBe("portico-gateway; fwd=miss");
  });

  it("drops a product the moment its event arrives: the next read shows the new value", async () => {
    const plate = newProduct("Plate");
    await read(plate.id);
    // Changed at the source without the gateway knowing: the cache still answers the old one.
    Object.assign(plate, { price: { amount: 750, currency: "EUR" } });
    const beforeEvent = await read(plate.id);
    expect(beforeEvent.headers.get("cache-status")).toBe("portico-gateway; hit");
    expect((await beforeEvent.json()).price.amount).toBe(1000);

    await announceUpdate(plate);
    const afterEvent = await readUntilMiss(plate.id);
    expect(afterEvent.status).toBe(200);
    expect((await afterEvent.json()).price.amount).toBe(750);
    const cachedAgain = await read(plate.id);
    expect(cachedAgain.headers.get("cache-status")).toBe("portico-gateway; hit");
    expect((await cachedAgain.json()).price.amount).toBe(750);
    expect(upstreamReads(plate.id)).toBe(2);
  });

  it("keeps the other products when an event is about one", async () => {
    const kept = newProduct("Saucer");
    const changed = newProduct("Teapot");
    await read(kept.id);
    await read(changed.id);

    await announceUpdate(changed);
    await readUntilMiss(changed.id);
    // Events are applied in order: the one about `changed` came, so none about `kept` did.
    expect((await read(kept.id)).headers.get("cache-status")).toBe("portico-gateway; hit");
    expect(upstreamReads(kept.id)).toBe(1);
  });

  it("never caches an error or a response marked no-store", async () => {
    const missing = randomUUID();
    const failing = newProduct("Jug");
    failures.set(failing.id, 500);
    for (let i = 0; i < 2; i += 1) {
      expect((await read(missing)).status).toBe(404);
      expect((await read(failing.id)).status).toBe(500);
    }
    expect(upstreamReads(missing)).toBe(2);
    expect(upstreamReads(failing.id)).toBe(2);

    failures.delete(failing.id);
    const recovered = await read(failing.id);
    expect(recovered.status).toBe(200);
    expect(recovered.headers.get("cache-status")).toBe("portico-gateway; fwd=miss");
    expect((await read(failing.id)).headers.get("cache-status")).toBe("portico-gateway; hit");

    const privateOne = newProduct("Secret");
    const defaultRespond = services.respond;
    services.respond = (_req, res) => {
      res.setHeader("Cache-Control", "no-store");
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(privateOne));
    };
    try {
      await read(privateOne.id);
      expect((await read(privateOne.id)).headers.get("cache-status")).toBe(
        "portico-gateway; fwd=miss",
      );
    } finally {
      services.respond = defaultRespond;
    }
  });

  it("drops a product changed through this gateway as soon as the change is answered", async () => {
    const vase = newProduct("Vase");
    await read(vase.id);
    const patched = await fetch(`${server.url}/products/${vase.id}`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "Tall vase" }),
    });
    expect(patched.status).toBe(200);

    const next = await read(vase.id);
    expect(next.headers.get("cache-status")).toBe("portico-gateway; fwd=miss");
    expect((await next.json()).name).toBe("Tall vase");
  });
});

describe("getProduct without NATS", () => {
  it("bypasses the cache: nothing could invalidate it", async () => {
    const offline = createGateway({ config: gatewayConfig(), logger: log });
    const offlineServer = await serve(offline.listener);
    try {
      const spoon = newProduct("Spoon");
      for (let i = 0; i < 2; i += 1) {
        const response = await fetch(`${offlineServer.url}/products/${spoon.id}`);
        expect(response.status).toBe(200);
        expect(response.headers.get("cache-status")).toBe("portico-gateway; fwd=bypass");
      }
      expect(upstreamReads(spoon.id)).toBe(2);
    } finally {
      await offlineServer.close();
      await offline.close();
    }
  });
});
