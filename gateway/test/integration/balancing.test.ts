/**
 * Balancing across upstream instances with real node:http servers: round-robin, a closed instance
 * taken out (passively, on the refused connection, whose request is retried on the other
 * instance) and brought back by the active checks once it listens again, 503 with Retry-After
 * when no instance is left, per-instance states on /readyz, and JWK Set failover.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { pino } from "pino";
import { createGateway, type Gateway } from "../../src/app.js";
import { loadGatewayConfig } from "../../src/config.js";
import type { InstanceState } from "../../src/upstreams/upstream-pool.js";
import {
  closedPortUrl,
  type FakeJwks,
  type FakeUpstream,
  serve,
  startJwks,
  startUpstream,
} from "../support/servers.js";

const CHECK_INTERVAL_MS = 150;

let users: FakeUpstream;
let notifications: FakeUpstream;
let ml: FakeUpstream;
/** Two instances of the products service. */
let products: FakeUpstream[];
let jwks: FakeJwks;
let gateway: Gateway;
let server: { url: string; close: () => Promise<void> };
let adminToken: string;
/** The gateway's log lines about instance state changes. */
const stateChanges: { msg: string; instance: string; cause: string; to: string }[] = [];

beforeAll(async () => {
  [users, notifications, ml, jwks] = await Promise.all([
    startUpstream("users"),
    startUpstream("notifications"),
    startUpstream("ml"),
    startJwks(),
  ]);
  products = await Promise.all([startUpstream("products-1"), startUpstream("products-2")]);
  const config = loadGatewayConfig(
    {
      PORT: "0",
      LOG_LEVEL: "silent",
      // The first users instance is down: tokens are verified with the second one's keys.
      JWKS_URL: `${await closedPortUrl()}/.well-known/jwks.json,${jwks.url}`,
      USERS_URL: users.url,
      PRODUCTS_URL: products.map((p) => p.url).join(","),
      NOTIFICATIONS_URL: notifications.url,
      ML_URL: ml.url,
      UPSTREAM_HEALTH_INTERVAL_MS: String(CHECK_INTERVAL_MS),
      // Five failed checks (750 ms) before the active checks would notice a closed instance,
      // so the request that finds it closed is what takes it out.
      UPSTREAM_UNHEALTHY_AFTER: "5",
      UPSTREAM_HEALTHY_AFTER: "2",
    },
    { exit: false },
  );
  const logger = pino(
    { level: "warn" },
    {
      write: (line: string) => {
        const entry = JSON.parse(line);
        if (entry.cause) stateChanges.push(entry);
      },
    },
  );
  gateway = createGateway({ config, logger });
  server = await serve(gateway.listener);
  adminToken = await jwks.sign({ sub: "admin-1", role: "admin", email: "root@example.com" });
  await fetch(`${server.url}/readyz`);
});

afterAll(async () => {
  await server.close();
  await gateway.close();
  await Promise.all([users, notifications, ml, ...products].map((u) => u.close()));
  await jwks.close();
});

beforeEach(() => {
  for (const upstream of products) upstream.received.length = 0;
});

function states(): InstanceState[] {
  return gateway.pools.get("products")?.instances.map((i) => i.state) ?? [];
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const listProducts = () => fetch(`${server.url}/products`);
const createProduct = (name: string) =>
  fetch(`${server.url}/products`, {
    method: "POST",
    headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name, price: { amount: 1999, currency: "EUR" } }),
  });

/** Restarts instance `index` of products on its former port. */
async function reopen(index: number): Promise<void> {
  const port = Number(new URL(products[index]?.url ?? "").port);
  products[index] = await startUpstream(`products-${index + 1}`, port);
}

describe("balancing across the instances of an upstream", () => {
  it("verifies tokens with the JWK Set of a second users instance when the first is down", async () => {
    const response = await createProduct("Lamp");

    expect(response.status).toBe(200);
  });

  it("spreads requests round-robin over both healthy instances", async () => {
    await until(() => states().every((state) => state === "healthy"));
    expect(states()).toEqual(["healthy", "healthy"]);

    const responses = await Promise.all(Array.from({ length: 10 }, () => listProducts()));

    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(products.map((p) => p.received.length)).toEqual([5, 5]);
  });

  it("keeps every request succeeding when one instance closes, then re-adds it", async () => {
    await products[1]?.close();
    // Let the gateway's agent drop its kept-alive sockets to the closed instance.
    await new Promise((resolve) => setTimeout(resolve, 30));

    const names = Array.from({ length: 6 }, (_, i) => `Lamp ${i}`);
    const statuses: number[] = [];
    for (const name of names) statuses.push((await createProduct(name)).status);
    for (let i = 0; i < 6; i += 1) statuses.push((await listProducts()).status);

    expect(statuses).toEqual(Array(12).fill(200));
    // Each POST reached exactly one instance exactly once, though one found its first pick closed.
    const posted = (products[0]?.received ?? [])
      .filter((r) => r.method === "POST")
      .map((r) => JSON.parse(r.body.toString()).name);
    expect(posted).toEqual(names);
    expect(states()).toEqual(["healthy", "unhealthy"]);
    // Taken out by the refused connection itself, not by the (slower) active checks.
    expect(stateChanges).toContainEqual(
      expect.objectContaining({
        msg: "upstream instance is down",
        instance: new URL(products[1]?.url ?? "").href,
        cause: "connection",
      }),
    );
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(
      ((await ready.json()) as { upstreams: Record<string, unknown> }).upstreams,
    ).toMatchObject({
      products: [
        { instance: 1, state: "healthy" },
        { instance: 2, state: "unhealthy", reason: expect.stringMatching(/ECONNREFUSED/) },
      ],
    });

    await reopen(1);
    await until(() => states()[1] === "healthy");
    expect(states()).toEqual(["healthy", "healthy"]);
    for (const upstream of products) upstream.received.length = 0;
    await Promise.all(Array.from({ length: 4 }, () => listProducts()));
    expect(products.map((p) => p.received.length)).toEqual([2, 2]);
  });

  it("answers 503 with Retry-After while no instance is available, and recovers", async () => {
    await Promise.all(products.map((p) => p.close()));
    await until(() => states().every((state) => state === "unhealthy"));

    const response = await listProducts();
    const ready = await fetch(`${server.url}/readyz`);

    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(((await response.json()) as { detail: string }).detail).toBe(
      "No instance of the products service is available.",
    );
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, string> }).checks.products).toMatch(
      /^no healthy instance/,
    );

    await Promise.all([reopen(0), reopen(1)]);
    await until(() => states().every((state) => state === "healthy"));
    expect((await listProducts()).status).toBe(200);
  });
});
