/**
 * The gateway's limits over real HTTP: per-principal rate limits with the draft-8 headers and a
 * 429 Problem (in memory, and shared by two gateways through NATS KV on the real NATS server),
 * the client address behind trusted proxies, the whole-request timeout (504), CORS preflights
 * and security headers. Upstreams are recording `node:http` servers.
 */

import { randomUUID as uuidv7 } from "node:crypto";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { pino } from "pino";
import {
  type FakeServices,
  type RunningGateway,
  startFakeServices,
  startGateway,
} from "../support/edge-gateway.js";
import { closedPortUrl } from "../support/servers.js";

let services: FakeServices;
const gateways: RunningGateway[] = [];

beforeAll(async () => {
  services = await startFakeServices();
});

afterAll(async () => {
  for (const running of gateways) await running.close();
  await services.close();
});

/** A gateway on the fake services with `env` on top; closed after the file. */
async function gatewayWith(env: Record<string, string>): Promise<RunningGateway> {
  const running = await startGateway({ ...services.env, ...env });
  gateways.push(running);
  return running;
}

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> | undefined;
}

async function get(
  base: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${base}${path}`, { headers });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body:
      text && response.headers.get("content-type")?.includes("json") ? JSON.parse(text) : undefined,
  };
}

const bearer = async (sub: string, role = "user") => ({
  authorization: `Bearer ${await services.jwks.sign({ sub, role })}`,
});

describe("rate limits (in memory)", () => {
  let running: RunningGateway;

  beforeAll(async () => {
    running = await gatewayWith({
      RATE_LIMIT_MAX: "3",
      RATE_LIMIT_ANONYMOUS_MAX: "2",
      RATE_LIMIT_WINDOW_MS: "60000",
    });
  });

  it("answers an anonymous client's requests over the limit with a 429 Problem and Retry-After", async () => {
    const first = await get(running.url, "/products");
    expect(first.status).toBe(200);
    expect(first.headers.get("ratelimit")).toMatch(/^"anonymous"; r=1; t=(60|59)$/);
    expect(first.headers.get("ratelimit-policy")).toMatch(/^"anonymous"; q=2; w=60; pk=:[^:]+:$/);
    expect((await get(running.url, "/products")).status).toBe(200);

    const limited = await get(running.url, "/products");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers.get("ratelimit")).toMatch(/^"anonymous"; r=0; t=\d+$/);
    expect(limited.body).toMatchObject({
      type: "https://portico.dev/problems/too-many-requests",
      title: "Too Many Requests",
      status: 429,
      instance: "/products",
      detail: `Too many requests: at most 2 per 60 s for this client address. Retry after ${retryAfter} s.`,
    });
  });

  it("never forwards a limited request", async () => {
    const products = services.upstreams.get("products");
    const before = products?.received.length;
    expect((await get(running.url, "/products")).status).toBe(429);
    expect(products?.received.length).toBe(before);
  });

  it("counts each signed-in user on their own, with the principal policy", async () => {
    const ada = await bearer(`ada-${uuidv7()}`);
    const bob = await bearer(`bob-${uuidv7()}`);
    for (let i = 1; i <= 3; i++) {
      const answer = await get(running.url, "/users/me", ada);
      expect(answer.status).toBe(200);
      expect(answer.headers.get("ratelimit")).toMatch(new RegExp(`^"principal"; r=${3 - i}; `));
    }
    expect((await get(running.url, "/users/me", ada)).status).toBe(429);
    // The anonymous budget of this address is spent too, but Bob has his own.
    expect((await get(running.url, "/users/me", bob)).status).toBe(200);
  });

  it("counts a request with an invalid token against its address, and still answers 401 when allowed", async () => {
    const fresh = await gatewayWith({ RATE_LIMIT_ANONYMOUS_MAX: "1" });
    const forged = { authorization: "Bearer not.a.token" };
    const first = await get(fresh.url, "/users/me", forged);
    expect(first.status).toBe(401);
    expect(first.headers.get("ratelimit")).toMatch(/^"anonymous"; r=0;/);
    expect((await get(fresh.url, "/users/me", forged)).status).toBe(429);
  });

  it("is off when both limits are 0", async () => {
    const unlimited = await gatewayWith({ RATE_LIMIT_MAX: "0", RATE_LIMIT_ANONYMOUS_MAX: "0" });
    const answer = await get(unlimited.url, "/products");
    expect(answer.status).toBe(200);
    expect(answer.headers.get("ratelimit")).toBeNull();
  });
});

describe("the client address behind proxies (TRUST_PROXY)", () => {
  const from = (address: string) => ({ "x-forwarded-for": address });

  it("ignores X-Forwarded-For by default: every client behind it shares the peer's budget", async () => {
    const running = await gatewayWith({ RATE_LIMIT_ANONYMOUS_MAX: "1" });
    expect((await get(running.url, "/products", from("203.0.113.1"))).status).toBe(200);
    expect((await get(running.url, "/products", from("203.0.113.2"))).status).toBe(429);
  });

  it("counts each forwarded client on its own when the proxy is trusted", async () => {
    const running = await gatewayWith({ RATE_LIMIT_ANONYMOUS_MAX: "1", TRUST_PROXY: "loopback" });
    expect((await get(running.url, "/products", from("203.0.113.1"))).status).toBe(200);
    expect((await get(running.url, "/products", from("203.0.113.1"))).status).toBe(429);
    expect((await get(running.url, "/products", from("203.0.113.2"))).status).toBe(200);
  });
});

describe("rate limits shared through NATS KV", () => {
  let a: RunningGateway;
  let b: RunningGateway;

  beforeAll(async () => {
    // One-hour windows: a test never straddles two of them (the counters are per window).
    const env = {
      NATS_URL: process.env.NATS_URL as string,
      RATE_LIMIT_STORE: "nats",
      RATE_LIMIT_MAX: "4",
      RATE_LIMIT_WINDOW_MS: "3600000",
    };
    [a, b] = await Promise.all([gatewayWith(env), gatewayWith(env)]);
    await Promise.all([a.gateway.nats?.ready, b.gateway.nats?.ready]);
  });

  it("counts a principal's requests across both gateways", async () => {
    const ada = await bearer(`ada-${uuidv7()}`);
    const statuses: number[] = [];
    for (const running of [a, b, a, b])
      statuses.push((await get(running.url, "/users/me", ada)).status);
    expect(statuses).toEqual([200, 200, 200, 200]);

    const onA = await get(a.url, "/users/me", ada);
    const onB = await get(b.url, "/users/me", ada);
    expect([onA.status, onB.status]).toEqual([429, 429]);
    expect(onB.headers.get("ratelimit-policy")).toMatch(/^"principal"; q=4; w=3600; /);
    expect(Number(onB.headers.get("retry-after"))).toBeLessThanOrEqual(3600);
  });

  it("counts concurrent requests on both gateways exactly (compare-and-set)", async () => {
    const bob = await bearer(`bob-${uuidv7()}`);
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => get((i % 2 === 0 ? a : b).url, "/users/me", bob)),
    );
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(4);
    expect(statuses.filter((s) => s === 429)).toHaveLength(6);
  });
});

describe("a shared store that cannot be reached", () => {
  it("lets requests through unlimited rather than failing them", async () => {
    const { port } = new URL(await closedPortUrl());
    const running = await gatewayWith({
      NATS_URL: `nats://127.0.0.1:${port}`,
      RATE_LIMIT_STORE: "nats",
      RATE_LIMIT_ANONYMOUS_MAX: "1",
    });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await get(running.url, "/products")).status);
    expect(statuses).toEqual([200, 200, 200]);
  });
});

describe("the whole-request timeout (REQUEST_TIMEOUT_MS)", () => {
  let running: RunningGateway;

  beforeAll(async () => {
    running = await gatewayWith({ REQUEST_TIMEOUT_MS: "300", UPSTREAM_TIMEOUT_MS: "5000" });
  });

  it("answers 504 when the upstream has not answered in time", async () => {
    const products = services.upstreams.get("products");
    if (!products) throw new Error("no products upstream");
    const original = products.respond;
    // The upstream never answers: only the gateway's deadline can end the request (the
    // upstream timeout, 5 s, would answer another detail; no answer at all fails the test).
    const held: { end: () => void }[] = [];
    products.respond = (_req, res) => {
      held.push(res);
    };
    try {
      const started = Date.now();
      const answer = await get(running.url, "/products");
      expect(answer.status).toBe(504);
      expect(answer.body).toMatchObject({
        status: 504,
        title: "Gateway Timeout",
        detail: "The request was not answered within 300 ms.",
      });
      // Not before the deadline (a loaded machine only makes it later; no upper bound here).
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    } finally {
      products.respond = original;
      for (const res of held) res.end();
    }
  });

  it("does not cut a response that has started streaming", async () => {
    const products = services.upstreams.get("products");
    if (!products) throw new Error("no products upstream");
    const original = products.respond;
    products.respond = (_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.write('{"items":[],');
      setTimeout(() => res.end('"nextCursor":null}'), 600);
    };
    try {
      const answer = await get(running.url, "/products");
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ items: [], nextCursor: null });
    } finally {
      products.respond = original;
    }
  });

  it("answers 504 and closes the connection when the body arrives too slowly, forwarding nothing", async () => {
    const users = services.upstreams.get("users");
    const before = users?.received.length;
    const { port } = new URL(running.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1");
      let text = "";
      socket.on("data", (chunk) => {
        text += chunk.toString("utf8");
      });
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
      socket.write(
        "POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
      );
    });
    expect(raw).toMatch(/^HTTP\/1\.1 504 /);
    expect(raw).toMatch(/\r\nconnection: close\r\n/i);
    expect(raw).toContain("The request was not answered within 300 ms.");
    expect(users?.received.length).toBe(before);
  });
});

describe("CORS (CORS_ORIGINS)", () => {
  const APP = "https://app.example";
  let running: RunningGateway;

  beforeAll(async () => {
    running = await gatewayWith({ CORS_ORIGINS: `${APP}, https://admin.example` });
  });

  it("answers a preflight from an allowed origin itself, before validation and limits", async () => {
    const products = services.upstreams.get("products");
    const before = products?.received.length;
    const response = await fetch(`${running.url}/products`, {
      method: "OPTIONS",
      headers: {
        origin: APP,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type, x-api-key",
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe(APP);
    expect(response.headers.get("access-control-allow-methods")).toContain("POST");
    expect(response.headers.get("access-control-allow-headers")?.toLowerCase()).toContain(
      "x-api-key",
    );
    expect(response.headers.get("access-control-max-age")).toBe("600");
    expect(response.headers.get("ratelimit")).toBeNull();
    expect(products?.received.length).toBe(before);
  });

  it("lets an allowed origin read the answer and its rate-limit headers", async () => {
    const answer = await get(running.url, "/products", { origin: APP });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("access-control-allow-origin")).toBe(APP);
    expect(answer.headers.get("vary")).toMatch(/Origin/);
    expect(answer.headers.get("access-control-expose-headers")).toContain("RateLimit");
  });

  it("gives another origin no CORS headers", async () => {
    const answer = await get(running.url, "/products", { origin: "https://evil.example" });
    expect(answer.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("leaves a plain OPTIONS (no Origin) to the contract: 405", async () => {
    const response = await fetch(`${running.url}/products`, { method: "OPTIONS" });
    expect(response.status).toBe(405);
  });
});

describe("API keys without NATS_URL", () => {
  it("are refused with 401, and the log says why", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => lines.push(line) });
    const running = await startGateway(services.env, logger);
    gateways.push(running);
    const response = await fetch(`${running.url}/products`, {
      method: "POST",
      headers: {
        "x-api-key": `psk_0123456789abcdef_${"A".repeat(43)}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ name: "Cup", price: { amount: 1, currency: "EUR" }, stock: 0 }),
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { detail: string }).detail).toBe(
      "A valid bearer token or API key is required.",
    );
    expect(
      lines.some((line) => line.includes("NATS_URL is not set: API keys cannot be verified")),
    ).toBe(true);
  });
});

describe("security headers", () => {
  let running: RunningGateway;

  beforeAll(async () => {
    running = await gatewayWith({});
  });

  it("sets API-appropriate helmet headers on answers and Problems", async () => {
    for (const path of ["/products", "/nowhere"]) {
      const { headers } = await get(running.url, path);
      expect(headers.get("content-security-policy")).toBe(
        "default-src 'none';frame-ancestors 'none'",
      );
      expect(headers.get("x-content-type-options")).toBe("nosniff");
      expect(headers.get("x-frame-options")).toBe("DENY");
      expect(headers.get("referrer-policy")).toBe("no-referrer");
      expect(headers.get("strict-transport-security")).toMatch(/^max-age=\d+/);
      expect(headers.get("cross-origin-opener-policy")).toBe("same-origin");
      expect(headers.get("x-powered-by")).toBeNull();
    }
  });

  it("lets /docs load Scalar and its start-up script from this origin only", async () => {
    const response = await fetch(`${running.url}/docs`);
    const csp = response.headers.get("content-security-policy") ?? "";
    const html = await response.text();
    expect(html).toContain('src="/docs/scalar.js"');
    expect(html).not.toMatch(/https?:\/\//);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).not.toMatch(/https:/);
    expect(csp).toMatch(/connect-src 'self'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
  });
});
