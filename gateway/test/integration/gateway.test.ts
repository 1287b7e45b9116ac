import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { loadContract } from "@portico/contracts";
import { createLogger } from "@portico/kit";
import { createGateway, type Gateway } from "../../src/app.js";
import { loadGatewayConfig } from "../../src/config.js";
import {
  closedPortUrl,
  type FakeJwks,
  type FakeUpstream,
  serve,
  startJwks,
  startUpstream,
} from "../support/servers.js";

const PUBLIC_URL = "https://api.portico.test";
const UPSTREAM_TIMEOUT_MS = 300;
const PRODUCT_ID = "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10";

let users: FakeUpstream;
let products: FakeUpstream;
let jwks: FakeJwks;
let gateway: Gateway;
let server: { url: string; close: () => Promise<void> };
let userToken: string;
let adminToken: string;

beforeAll(async () => {
  [users, products, jwks] = await Promise.all([
    startUpstream("users"),
    startUpstream("products"),
    startJwks(),
  ]);
  const config = loadGatewayConfig(
    {
      PORT: "0",
      LOG_LEVEL: "silent",
      JWKS_URL: jwks.url,
      USERS_URL: users.url,
      PRODUCTS_URL: products.url,
      // Nothing listens there: the notifications service is down.
      NOTIFICATIONS_URL: await closedPortUrl(),
      // Nor does the ML service's.
      ML_URL: await closedPortUrl(),
      PUBLIC_URL,
      UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
      // Quick checks, so an instance marked down by a test is back for the next one.
      UPSTREAM_HEALTH_INTERVAL_MS: "50",
    },
    { exit: false },
  );
  gateway = createGateway({ config, logger: createLogger("gateway", "silent") });
  server = await serve(gateway.listener);
  userToken = await jwks.sign({ sub: "user-1", role: "user", email: "ada@example.com" });
  adminToken = await jwks.sign({ sub: "admin-1", role: "admin", email: "root@example.com" });
});

afterAll(async () => {
  await server.close();
  await gateway.close();
  await Promise.all([users.close(), products.close(), jwks.close()]);
});

beforeEach(() => {
  users.received.length = 0;
  products.received.length = 0;
  const reset = (upstream: FakeUpstream, service: string) => {
    upstream.respond = (_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json", "X-Upstream": service });
      res.end(JSON.stringify({ service }));
    };
  };
  reset(users, "users");
  reset(products, "products");
});

function call(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, init);
}

interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: { location: string; field: string; message: string }[];
}

async function problemOf(response: Response): Promise<Problem> {
  expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  return (await response.json()) as Problem;
}

describe("forwarding a valid request", () => {
  it("sends the exact original JSON bytes and Content-Length to the owning upstream", async () => {
    // Unusual spacing, key order and non-ASCII text: a re-serialised body would differ.
    const body = `{ "name" : "Zoë Ångström ✓",\n  "email":"zoe@example.com",  "password": "correct-horse-battery" }`;
    users.respond = (_req, res) => {
      res.writeHead(201, { "Content-Type": "application/json", Location: "/users/u-1" });
      res.end('{"id":"u-1"}');
    };

    const response = await call("/users", {
      method: "POST",
      headers: { "Content-Type": "application/json; charset=utf-8" },
      body,
    });

    expect(response.status).toBe(201);
    expect(response.headers.get("location")).toBe("/users/u-1");
    expect(await response.text()).toBe('{"id":"u-1"}');
    expect(products.received).toHaveLength(0);
    expect(users.received).toHaveLength(1);
    const [received] = users.received;
    expect(received?.method).toBe("POST");
    expect(received?.url).toBe("/users");
    expect(received?.body.equals(Buffer.from(body, "utf8"))).toBe(true);
    expect(received?.headers["content-length"]).toBe(String(Buffer.byteLength(body, "utf8")));
    expect(received?.headers["content-type"]).toBe("application/json; charset=utf-8");
  });

  it("sends the exact x-www-form-urlencoded bytes of a token request", async () => {
    const body = "grant_type=password&username=ada%40example.com&password=p%C3%A4ss+w%26rd";

    const response = await call("/auth/token", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body,
    });

    expect(response.status).toBe(200);
    const [received] = users.received;
    expect(received?.url).toBe("/auth/token");
    expect(received?.body.toString("utf8")).toBe(body);
    expect(received?.headers["content-length"]).toBe(String(Buffer.byteLength(body)));
    expect(received?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
  });

  it("sends a chunked body upstream with its Content-Length", async () => {
    const body = '{"email":"ada@example.com","password":"correct-horse-battery","name":"Ada"}';
    const bytes = new TextEncoder().encode(body);
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, 10));
        controller.enqueue(bytes.slice(10));
        controller.close();
      },
    });

    const response = await call("/users", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: chunked,
      duplex: "half",
    } as RequestInit);

    expect(response.status).toBe(200);
    const [received] = users.received;
    expect(received?.body.toString("utf8")).toBe(body);
    expect(received?.headers["content-length"]).toBe(String(bytes.length));
    expect(received?.headers["transfer-encoding"]).toBeUndefined();
  });

  it("routes by the contract's owner and keeps path, query and Authorization", async () => {
    const response = await call(`/products/${PRODUCT_ID}/stock`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
      body: '{"quantity":3}',
    });
    const listed = await call("/products?limit=5&inStock=true");

    expect(response.status).toBe(200);
    expect(listed.status).toBe(200);
    expect(users.received).toHaveLength(0);
    expect(products.received.map((r) => `${r.method} ${r.url}`)).toEqual([
      `PUT /products/${PRODUCT_ID}/stock`,
      "GET /products?limit=5&inStock=true",
    ]);
    expect(products.received[0]?.headers.authorization).toBe(`Bearer ${adminToken}`);
  });

  it("sets X-Forwarded-For, -Proto and -Host", async () => {
    await call("/products", { headers: { "X-Forwarded-For": "203.0.113.7" } });

    const headers = products.received[0]?.headers ?? {};
    expect(headers["x-forwarded-for"]).toBe("203.0.113.7,127.0.0.1");
    expect(headers["x-forwarded-proto"]).toBe("http");
    expect(headers["x-forwarded-host"]).toBe(new URL(server.url).host);
  });

  it("forwards and echoes the caller's X-Request-Id", async () => {
    const response = await call("/products", { headers: { "X-Request-Id": "trace-42" } });

    expect(response.headers.get("x-request-id")).toBe("trace-42");
    expect(products.received[0]?.headers["x-request-id"]).toBe("trace-42");
  });

  it("forwards a generated X-Request-Id when the caller sent none", async () => {
    const response = await call("/products");

    const id = response.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(products.received[0]?.headers["x-request-id"]).toBe(id);
  });

  it("passes upstream responses through unchanged, Problem bodies included", async () => {
    const upstreamProblem =
      '{"type":"https://portico.dev/problems/conflict","title":"Conflict","status":409,"detail":"Taken."}';
    users.respond = (_req, res) => {
      res.writeHead(409, {
        "Content-Type": "application/problem+json",
        "X-Upstream-Detail": "kept",
      });
      res.end(upstreamProblem);
    };

    const response = await call("/users", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: '{"email":"ada@example.com","password":"correct-horse-battery","name":"Ada"}',
    });

    expect(response.status).toBe(409);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.headers.get("x-upstream-detail")).toBe("kept");
    expect(await response.text()).toBe(upstreamProblem);
  });

  it("reuses a kept-alive connection to the upstream", async () => {
    await call("/products");
    await call("/products");

    const [first, second] = products.received;
    expect(first?.headers.connection).toBe("keep-alive");
    expect(second?.remotePort).toBe(first?.remotePort);
  });
});

describe("rejecting an invalid request at the edge", () => {
  const register = (body: string) =>
    call("/users", { method: "POST", headers: { "Content-Type": "application/json" }, body });

  it.each([
    [
      "a field of the wrong type",
      '{"email":42,"password":"correct-horse-battery","name":"Ada"}',
      "email",
    ],
    ["a missing field", '{"email":"ada@example.com","name":"Ada"}', "password"],
    [
      "an unknown property",
      '{"email":"ada@example.com","password":"correct-horse-battery","name":"Ada","role":"admin"}',
      "role",
    ],
  ])("answers 400 naming the field for %s", async (_case, body, field) => {
    const response = await register(body);

    expect(response.status).toBe(400);
    const problem = await problemOf(response);
    expect(problem.status).toBe(400);
    expect(problem.errors?.some((e) => e.location === "body" && e.field.includes(field))).toBe(
      true,
    );
    expect(users.received).toHaveLength(0);
  });

  it("answers 400 naming the body for malformed JSON", async () => {
    const response = await register('{"email": "ada@example.com",');

    expect(response.status).toBe(400);
    const problem = await problemOf(response);
    expect(problem.detail).toMatch(/not valid JSON/);
    expect(problem.errors).toEqual([
      expect.objectContaining({ location: "body", field: "", message: expect.any(String) }),
    ]);
    expect(users.received).toHaveLength(0);
  });

  it("answers 400 for an invalid form field", async () => {
    const response = await call("/auth/token", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "grant_type=client_credentials&username=ada%40example.com&password=x",
    });

    expect(response.status).toBe(400);
    const problem = await problemOf(response);
    expect(problem.errors?.map((e) => e.field)).toContain("grant_type");
    expect(users.received).toHaveLength(0);
  });

  it("answers 415 for a media type the operation does not accept", async () => {
    const response = await call("/users", {
      method: "POST",
      headers: { "Content-Type": "text/plain" },
      body: "hello",
    });

    expect(response.status).toBe(415);
    expect((await problemOf(response)).status).toBe(415);
    expect(users.received).toHaveLength(0);
  });

  it("answers 413 for a body over 1 MB", async () => {
    const body = JSON.stringify({
      email: "a@example.com",
      password: "x".repeat(1_100_000),
      name: "A",
    });

    const response = await register(body);

    expect(response.status).toBe(413);
    expect((await problemOf(response)).status).toBe(413);
    expect(users.received).toHaveLength(0);
  });

  it("answers 400 naming the query parameter for an invalid query", async () => {
    const response = await call("/products?limit=many");

    expect(response.status).toBe(400);
    const problem = await problemOf(response);
    expect(problem.errors).toContainEqual(
      expect.objectContaining({ location: "query", field: "limit" }),
    );
    expect(products.received).toHaveLength(0);
  });

  it("answers 404 for a route the contract does not declare", async () => {
    const response = await call("/nowhere");

    expect(response.status).toBe(404);
    const problem = await problemOf(response);
    expect(problem.instance).toBe("/nowhere");
  });

  it("answers 405 with Allow for a method the path does not declare", async () => {
    const response = await call("/users/me", { method: "DELETE" });

    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toMatch(/GET/i);
    expect((await problemOf(response)).status).toBe(405);
    expect(users.received).toHaveLength(0);
  });

  it("answers 401 without a bearer token", async () => {
    const response = await call("/users/me");

    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await problemOf(response)).status).toBe(401);
    expect(users.received).toHaveLength(0);
  });

  it.each([
    ["garbage", async () => "not-a-jwt"],
    ["the wrong issuer", () => jwks.sign({ sub: "u", role: "user", email: "" }, { issuer: "x" })],
  ])("answers 401 for a token that is %s", async (_case, token) => {
    const response = await call("/users/me", {
      headers: { Authorization: `Bearer ${await token()}` },
    });

    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await problemOf(response)).status).toBe(401);
    expect(users.received).toHaveLength(0);
  });

  it("answers 403 for a user token on an admin operation", async () => {
    const response = await call("/products", {
      method: "POST",
      headers: { Authorization: `Bearer ${userToken}`, "Content-Type": "application/json" },
      body: '{"name":"Lamp","price":{"amount":1999,"currency":"EUR"}}',
    });

    expect(response.status).toBe(403);
    expect((await problemOf(response)).status).toBe(403);
    expect(products.received).toHaveLength(0);
  });

  it("lets a user token through to a user operation", async () => {
    const response = await call("/users/me", { headers: { Authorization: `Bearer ${userToken}` } });

    expect(response.status).toBe(200);
    expect(users.received.map((r) => r.url)).toEqual(["/users/me"]);
  });
});

/** Resolves once every instance of `service` is healthy again (checks run every 50 ms). */
async function healthyAgain(service: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  const pool = gateway.pools.get(service);
  while (pool?.instances.some((i) => i.state !== "healthy") && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(pool?.instances.map((i) => i.state)).toEqual(["healthy"]);
}

describe("upstream failures", () => {
  it("answers 503 with Retry-After within a second when the only instance is down", async () => {
    const started = performance.now();
    const response = await call("/subscriptions", {
      headers: { Authorization: `Bearer ${userToken}` },
    });
    const elapsedMs = performance.now() - started;

    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    const problem = await problemOf(response);
    expect(problem.detail).toBe("No instance of the notifications service is available.");
    expect(elapsedMs).toBeLessThan(1_000);
  });

  it("answers 504 when the upstream does not answer in time", async () => {
    products.respond = () => {
      // Never answers.
    };

    const started = performance.now();
    const response = await call("/products");
    const elapsedMs = performance.now() - started;

    expect(response.status).toBe(504);
    expect((await problemOf(response)).detail).toBe("The products service did not answer in time.");
    expect(elapsedMs).toBeGreaterThanOrEqual(UPSTREAM_TIMEOUT_MS - 50);
    expect(elapsedMs).toBeLessThan(UPSTREAM_TIMEOUT_MS + 1_000);
  });

  it("answers 502 when the upstream resets the connection", async () => {
    products.respond = (_req, res) => {
      res.socket?.destroy();
    };

    const response = await call("/products");

    expect(response.status).toBe(502);
    expect((await problemOf(response)).status).toBe(502);
    // A reset takes the instance out at once; the health checks bring it back.
    expect(gateway.pools.get("products")?.instances[0]?.state).toBe("unhealthy");
    await healthyAgain("products");
  });
});

describe("the gateway's own endpoints", () => {
  it("serves the public document with servers set to the gateway's public URL", async () => {
    const response = await call("/openapi.json");

    expect(response.status).toBe(200);
    const document = (await response.json()) as Record<string, unknown>;
    expect(document.servers).toEqual([{ url: PUBLIC_URL, description: "This gateway" }]);
    expect(Object.keys(document.paths as object)).toEqual(
      Object.keys(loadContract("public").paths as object),
    );
    // The platform's extensions (owners, timeouts, caches, feeds) and the generator's note are
    // not the API's.
    expect(JSON.stringify(document)).not.toMatch(/"x-portico-|"x-generated"/);
    expect(JSON.stringify(loadContract("public"))).toMatch(/"x-portico-service"/);
    expect(JSON.stringify(loadContract("public"))).toMatch(/"x-generated"/);
  });

  it("serves an HTML API reference at /docs reading /openapi.json, with its scripts", async () => {
    const response = await call("/docs");

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    const page = await response.text();
    expect(page).toContain('src="/docs/scalar.js"');
    expect(page).toContain('src="/docs/start.js"');
    expect(await (await call("/docs/start.js")).text()).toContain("/openapi.json");
  });

  it("answers /healthz", async () => {
    const response = await call("/healthz");

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("reports not ready, naming the unreachable upstream, while one is down", async () => {
    const response = await call("/readyz");

    expect(response.status).toBe(503);
    const body = (await response.json()) as {
      checks: Record<string, string>;
      upstreams: Record<string, unknown[]>;
    };
    expect(body.checks).toMatchObject({ users: "ok", products: "ok", jwks: "ok" });
    expect(body.checks.notifications).toMatch(/^no healthy instance \(.*ECONNREFUSED/);
    expect(body.upstreams.notifications).toEqual([
      { instance: 1, state: "unhealthy", reason: expect.stringMatching(/ECONNREFUSED/) },
    ]);
    expect(body.upstreams.products).toEqual([{ instance: 1, state: "healthy" }]);
  });
});

describe("readiness with every dependency up", () => {
  it("answers 200 ready, listing every instance healthy", async () => {
    const notifications = await startUpstream("notifications");
    const ml = await startUpstream("ml");
    const config = loadGatewayConfig(
      {
        PORT: "0",
        JWKS_URL: jwks.url,
        USERS_URL: users.url,
        PRODUCTS_URL: products.url,
        NOTIFICATIONS_URL: notifications.url,
        ML_URL: ml.url,
        UPSTREAM_HEALTH_INTERVAL_MS: "100",
      },
      { exit: false },
    );
    const ready = createGateway({ config, logger: createLogger("gateway", "silent") });
    const readyServer = await serve(ready.listener);
    try {
      // As an orchestrator's probe does: a check that timed out while jest was busy is retried.
      let response = await fetch(`${readyServer.url}/readyz`);
      for (let tries = 1; response.status !== 200 && tries < 20; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        response = await fetch(`${readyServer.url}/readyz`);
      }

      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        status: "ready",
        checks: { users: "ok", products: "ok", notifications: "ok", ml: "ok", jwks: "ok" },
        upstreams: {
          users: [{ instance: 1, state: "healthy" }],
          products: [{ instance: 1, state: "healthy" }],
          notifications: [{ instance: 1, state: "healthy" }],
          ml: [{ instance: 1, state: "healthy" }],
        },
        breakers: { users: "closed", products: "closed", notifications: "closed", ml: "closed" },
      });
    } finally {
      await readyServer.close();
      await ready.close();
      await notifications.close();
      await ml.close();
    }
  });
});

describe("the fast lane", () => {
  /** The `portico_gateway_fast_lane_requests_total` counts (the scrape itself counts as full). */
  async function lanes(): Promise<{ fast: number; full: number }> {
    const text = await (await call("/metrics")).text();
    const count = (lane: string) =>
      Number(
        new RegExp(
          `^portico_gateway_fast_lane_requests_total\\{lane="${lane}"\\} (\\d+)$`,
          "m",
        ).exec(text)?.[1] ?? 0,
      );
    return { fast: count("fast"), full: count("full") };
  }

  it("takes valid requests to proxied operations, with the full pipeline's headers", async () => {
    const before = await lanes();
    const read = await call(`/products/${PRODUCT_ID}`);
    const body = JSON.stringify({ name: "Kettle", price: { amount: 2599, currency: "EUR" } });
    const write = await call("/products", {
      method: "POST",
      headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
      body,
    });
    const after = await lanes();

    expect([read.status, write.status]).toEqual([200, 200]);
    expect(after.fast - before.fast).toBe(2);
    expect(after.full - before.full).toBe(1); // the second scrape
    for (const response of [read, write]) {
      expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("content-security-policy")).toBe(
        "default-src 'none';frame-ancestors 'none'",
      );
      expect(response.headers.get("ratelimit")).toMatch(/^"(anonymous|principal)"; r=\d+; t=\d+$/);
    }
    expect(products.received.map((r) => r.body.toString("utf8"))).toEqual(["", body]);
  });

  it("hands invalid requests and refused credentials to the full pipeline, which answers them", async () => {
    const before = await lanes();
    const badId = await call("/products/not-a-uuid");
    const forbidden = await call("/products", {
      method: "POST",
      headers: { Authorization: `Bearer ${userToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "Kettle", price: { amount: 2599, currency: "EUR" } }),
    });
    const after = await lanes();

    expect(badId.status).toBe(400);
    expect((await problemOf(badId)).errors?.[0]).toMatchObject({
      location: "path",
      field: "productId",
    });
    expect(forbidden.status).toBe(403);
    expect(after.fast - before.fast).toBe(0);
    expect(after.full - before.full).toBe(3);
    expect(products.received).toHaveLength(0);
  });
});
