/**
 * Resilience per upstream with real node:http servers: an idempotent GET (and a PUT, body
 * included) retried on another instance after a 503, a POST never retried, bounded retries that
 * forward the last answer, the circuit breaker opening (503 + Retry-After without calling the
 * upstream), half-opening and closing as `/readyz` shows, per-operation timeouts from the
 * contract, and the `/metrics` series the traffic left.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { loadContract } from "@portico/contracts";
import { contractServices } from "../../src/operations/table.js";
import {
  allHealthy,
  answer,
  type RunningGateway,
  startGateway,
  startUpstreams,
  type Upstreams,
} from "../support/gateway.js";
import type { FakeUpstream, Responder } from "../support/servers.js";

const PRODUCT_ID = "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10";
const PUBLIC = loadContract("public");

let upstreams: Upstreams;
let adminToken: string;
let userToken: string;
const running: RunningGateway[] = [];

async function gatewayWith(
  env: Record<string, string>,
  contract: Record<string, unknown> = PUBLIC,
): Promise<RunningGateway> {
  const started = await startGateway(upstreams, env, contract);
  running.push(started);
  return started;
}

function products(): FakeUpstream[] {
  return upstreams.services.get("products") ?? [];
}

beforeAll(async () => {
  upstreams = await startUpstreams(PUBLIC);
  adminToken = await upstreams.jwks.sign({
    sub: "admin-1",
    role: "admin",
    email: "root@example.com",
  });
  userToken = await upstreams.jwks.sign({ sub: "user-1", role: "user", email: "ada@example.com" });
});

afterAll(async () => {
  await upstreams.close();
});

beforeEach(() => {
  upstreams.reset();
});

afterEach(async () => {
  for (const gateway of running.splice(0)) await gateway.close();
});

describe("retries", () => {
  it("retries an idempotent GET on another instance after a 503, and succeeds", async () => {
    const { url, gateway } = await gatewayWith({ UPSTREAM_RETRIES: "2" });
    expect(await allHealthy(gateway)).toBe(true);
    const [failing, working] = products();
    if (!failing || !working) throw new Error("two products instances expected");
    failing.respond = answer(503, { title: "Service Unavailable", status: 503 });

    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await fetch(`${url}/products`)).status);

    expect(statuses).toEqual([200, 200, 200, 200]);
    // Every request reached the working instance exactly once; the failing one was tried first
    // on some of them and never answered the client.
    expect(working.received).toHaveLength(4);
    expect(failing.received.length).toBeGreaterThanOrEqual(1);
  });

  it("re-sends the same body bytes when it retries a PUT", async () => {
    const { url, gateway } = await gatewayWith({ UPSTREAM_RETRIES: "2" });
    expect(await allHealthy(gateway)).toBe(true);
    const [first, second] = products();
    if (!first || !second) throw new Error("two products instances expected");
    // Whichever instance is tried first answers 503, the other one 200.
    let calls = 0;
    const flaky: Responder = (req, res) => {
      calls += 1;
      (calls === 1 ? answer(503) : answer(200, { stock: 7 }))(req, res);
    };
    first.respond = flaky;
    second.respond = flaky;
    const body = '{ "quantity" : 7 }';

    const response = await fetch(`${url}/products/${PRODUCT_ID}/stock`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
      body,
    });

    expect(response.status).toBe(200);
    const received = [...first.received, ...second.received];
    expect(received).toHaveLength(2);
    expect(received.map((r) => r.body.toString())).toEqual([body, body]);
    expect(received.map((r) => r.headers["x-forwarded-for"])).toEqual(["127.0.0.1", "127.0.0.1"]);
  });

  it("never retries a POST: the upstream sees it exactly once and its 503 is forwarded", async () => {
    const { url, gateway } = await gatewayWith({ UPSTREAM_RETRIES: "2" });
    expect(await allHealthy(gateway)).toBe(true);
    for (const upstream of products()) {
      upstream.respond = answer(503, { title: "Service Unavailable", status: 503, detail: "busy" });
    }

    const response = await fetch(`${url}/products`, {
      method: "POST",
      headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
      body: '{"name":"Lamp","price":{"amount":1999,"currency":"EUR"}}',
    });

    expect(response.status).toBe(503);
    expect(((await response.json()) as { detail: string }).detail).toBe("busy");
    expect(products().flatMap((u) => u.received)).toHaveLength(1);
  });

  it("stops after the bounded retries and forwards the last answer", async () => {
    const { url } = await gatewayWith({ UPSTREAM_RETRIES: "2", UPSTREAM_BREAKER_FAILURES: "50" });
    const users = upstreams.only("users");
    users.respond = answer(502, { title: "Bad Gateway", status: 502, detail: "last" });

    const response = await fetch(`${url}/users/me`, {
      headers: { Authorization: `Bearer ${userToken}` },
    });

    expect(response.status).toBe(502);
    expect(((await response.json()) as { detail: string }).detail).toBe("last");
    // The first attempt and two retries, on the only instance.
    expect(users.received).toHaveLength(3);
  });

  it("does not retry once the response started: a break mid-body cuts the client's response", async () => {
    const { url } = await gatewayWith({ UPSTREAM_RETRIES: "2" });
    const users = upstreams.only("users");
    users.respond = (_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.write('{"id":"u-1","na');
      setTimeout(() => res.socket?.destroy(), 50);
    };

    const response = await fetch(`${url}/users/me`, {
      headers: { Authorization: `Bearer ${userToken}` },
    });

    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow();
    expect(users.received).toHaveLength(1);
  });

  it("does not retry a request that timed out", async () => {
    const { url } = await gatewayWith({ UPSTREAM_RETRIES: "2", UPSTREAM_TIMEOUT_MS: "200" });
    const users = upstreams.only("users");
    users.respond = () => {
      // Never answers.
    };

    const response = await fetch(`${url}/users/me`, {
      headers: { Authorization: `Bearer ${userToken}` },
    });

    expect(response.status).toBe(504);
    expect(users.received).toHaveLength(1);
  });
});

/** The `/readyz` body's breaker states. */
async function breakers(url: string): Promise<Record<string, string>> {
  const response = await fetch(`${url}/readyz`);
  return ((await response.json()) as { breakers: Record<string, string> }).breakers;
}

describe("circuit breaker", () => {
  it("opens after N failures, answers 503 with Retry-After without calling, half-opens and closes", async () => {
    const { url } = await gatewayWith({
      UPSTREAM_RETRIES: "0",
      UPSTREAM_BREAKER_FAILURES: "3",
      UPSTREAM_BREAKER_HALF_OPEN_MS: "1000",
    });
    const notifications = upstreams.only("notifications");
    notifications.respond = answer(503);
    const list = () =>
      fetch(`${url}/notifications`, { headers: { Authorization: `Bearer ${userToken}` } });

    for (let i = 0; i < 3; i += 1) expect((await list()).status).toBe(503);
    expect(notifications.received).toHaveLength(3);
    expect(await breakers(url)).toMatchObject({ notifications: "open", products: "closed" });

    const refused = await list();
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(refused.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(((await refused.json()) as { detail: string }).detail).toBe(
      "The notifications service is failing; requests to it are paused for a moment.",
    );
    // Failing fast: the upstream was not called.
    expect(notifications.received).toHaveLength(3);

    await new Promise((resolve) => setTimeout(resolve, 1_100));
    let release = () => {};
    notifications.respond = (req, res) => {
      release = () => answer(200, { items: [], nextCursor: null })(req, res);
    };
    const trial = list();
    const deadline = Date.now() + 5_000;
    while (notifications.received.length < 4 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect((await breakers(url)).notifications).toBe("half-open");
    release();

    expect((await trial).status).toBe(200);
    expect((await breakers(url)).notifications).toBe("closed");
    notifications.respond = answer(200, { items: [], nextCursor: null });
    expect((await list()).status).toBe(200);
  });

  it("opens again when the half-open trial fails", async () => {
    const { url } = await gatewayWith({
      UPSTREAM_RETRIES: "0",
      UPSTREAM_BREAKER_FAILURES: "2",
      UPSTREAM_BREAKER_HALF_OPEN_MS: "300",
    });
    const notifications = upstreams.only("notifications");
    notifications.respond = answer(502);
    const list = () =>
      fetch(`${url}/notifications`, { headers: { Authorization: `Bearer ${userToken}` } });
    for (let i = 0; i < 2; i += 1) await list();
    expect((await breakers(url)).notifications).toBe("open");

    await new Promise((resolve) => setTimeout(resolve, 350));
    const trial = await list();

    expect(trial.status).toBe(502);
    expect(notifications.received).toHaveLength(3);
    expect((await breakers(url)).notifications).toBe("open");
    expect((await list()).status).toBe(503);
    expect(notifications.received).toHaveLength(3);
  });
});

describe("per-operation timeouts", () => {
  it("applies x-portico-timeout-ms of the contract to that operation only", async () => {
    const contract = structuredClone(PUBLIC) as {
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    const getProduct = contract.paths["/products/{productId}"]?.get;
    if (!getProduct) throw new Error("getProduct expected in the public contract");
    getProduct["x-portico-timeout-ms"] = 150;
    const { url, gateway } = await gatewayWith(
      { UPSTREAM_TIMEOUT_MS: "3000", UPSTREAM_RETRIES: "0" },
      contract,
    );
    expect(await allHealthy(gateway)).toBe(true);
    for (const upstream of products()) {
      upstream.respond = (req, res) => {
        setTimeout(() => answer(200, { id: PRODUCT_ID })(req, res), 500);
      };
    }

    const started = performance.now();
    const slowRead = await fetch(`${url}/products/${PRODUCT_ID}`);
    const elapsedMs = performance.now() - started;
    const list = await fetch(`${url}/products`);

    expect(slowRead.status).toBe(504);
    expect(elapsedMs).toBeGreaterThanOrEqual(140);
    expect(elapsedMs).toBeLessThan(490);
    // The default (3 s) applies to the other operations.
    expect(list.status).toBe(200);
  });
});

describe("/readyz and /metrics", () => {
  it("lists every upstream's breaker, closed at start", async () => {
    const { url } = await gatewayWith({});

    expect(await breakers(url)).toEqual(
      Object.fromEntries(contractServices(PUBLIC).map((service) => [service, "closed"])),
    );
  });

  it("exposes request, retry, breaker, rate-limit and SSE series after some traffic", async () => {
    const { url, gateway } = await gatewayWith({ UPSTREAM_RETRIES: "1" });
    expect(await allHealthy(gateway)).toBe(true);
    const [failing] = products();
    if (!failing) throw new Error("a products instance expected");
    failing.respond = answer(503);
    for (let i = 0; i < 2; i += 1) await fetch(`${url}/products`);
    await fetch(`${url}/nowhere`);

    const response = await fetch(`${url}/metrics`);
    const text = await response.text();

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text).toMatch(
      /^portico_gateway_requests_total\{operation_id="listProducts",upstream="products",method="GET",status="200"\} [1-9]\d*$/m,
    );
    expect(text).toMatch(
      /^portico_gateway_request_duration_seconds_bucket\{le="0\.005",operation_id="listProducts",upstream="products",method="GET"\} \d+$/m,
    );
    expect(text).toMatch(
      /^portico_gateway_requests_total\{operation_id="unmatched",upstream="none",method="GET",status="404"\} [1-9]\d*$/m,
    );
    expect(text).toMatch(
      /^portico_gateway_upstream_retries_total\{upstream="products"\} [1-9]\d*$/m,
    );
    expect(text).toMatch(/^portico_gateway_breaker_state\{upstream="products"\} 0$/m);
    expect(text).toContain("# TYPE portico_gateway_rate_limit_rejections_total counter");
    expect(text).toContain("# TYPE portico_gateway_sse_connections gauge");
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    // Probes and scrapes are not counted as traffic.
    expect(text).not.toMatch(/operation_id="unmatched",upstream="none",method="GET",status="200"/);
  });
});
