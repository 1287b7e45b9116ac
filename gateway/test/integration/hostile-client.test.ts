/**
 * Issue 9's findings at the gateway, kept as regression tests, each through both lanes (fast
 * lane on and off): HEAD on a GET operation (finding 3), exact paths (4), unknown query
 * parameters whatever the parser makes of them (5), protocol hygiene — Host, HTTP version,
 * CONNECT — on raw sockets (7), no `x-portico-*` key in the public document (8), and the HTTP
 * server's deliberate timeouts (9).
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { loadContract } from "@portico/contracts";
import { createHttpServer, createLogger } from "@portico/kit";
import { createGateway, type Gateway } from "../../src/app.js";
import { loadGatewayConfig } from "../../src/config.js";
import { contractServices } from "../../src/operations/table.js";
import { upstreamEnvVar } from "../../src/operations/upstream-list.js";
import { type FakeJwks, type FakeUpstream, startJwks, startUpstream } from "../support/servers.js";

const log = createLogger("hostile-client-test", "silent");
const ID = "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10";

let upstream: FakeUpstream;
let jwks: FakeJwks;
const lanes: {
  name: string;
  gateway: Gateway;
  url: string;
  port: number;
  close(): Promise<void>;
}[] = [];

beforeAll(async () => {
  [upstream, jwks] = await Promise.all([startUpstream("services"), startJwks()]);
  upstream.respond = (req, res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ method: req.method, url: req.url }));
  };
  const config = loadGatewayConfig(
    {
      PORT: "0",
      LOG_LEVEL: "silent",
      JWKS_URL: jwks.url,
      // A loaded machine may miss health checks: the one stand-in is never taken out here.
      UPSTREAM_UNHEALTHY_AFTER: "1000",
      ...Object.fromEntries(
        contractServices(loadContract("public")).map((name) => [
          upstreamEnvVar(name),
          upstream.url,
        ]),
      ),
    },
    { exit: false },
  );
  for (const fastLane of [true, false]) {
    const gateway = createGateway({ config, logger: log, fastLane });
    // As main.ts serves it (kit server with its timeouts; headers due within 300 ms here).
    const server = createHttpServer(gateway.listener, {
      headersTimeoutMs: 300,
      requestTimeoutMs: 1_000,
      keepAliveTimeoutMs: 1_000,
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    lanes.push({
      name: fastLane ? "fast lane" : "reference pipeline",
      gateway,
      port,
      url: `http://127.0.0.1:${port}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    });
  }
});

afterAll(async () => {
  for (const lane of lanes) {
    await lane.close();
    await lane.gateway.close();
  }
  await Promise.all([upstream?.close(), jwks?.close()]);
});

/** Sends `raw` on a new connection and resolves with everything the server sent back. */
function rawExchange(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(raw));
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      received += chunk;
    });
    socket.on("end", () => resolve(received));
    socket.on("close", () => resolve(received));
    socket.on("error", reject);
  });
}

/** The status and Problem of a raw HTTP answer. */
function parseRaw(answer: string): { status: number; type: string; problem: unknown } {
  const [head = "", body = ""] = answer.split("\r\n\r\n");
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0),
    type: /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? "",
    problem: body === "" ? undefined : JSON.parse(body),
  };
}

describe.each([0, 1])("through lane %i (0: fast lane, 1: reference pipeline)", (index) => {
  const lane = () => lanes[index] as (typeof lanes)[number];

  it("answers HEAD on a GET operation like GET, without a body (finding 3)", async () => {
    const head = await fetch(`${lane().url}/products/${ID}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe("application/json");
    expect(await head.text()).toBe("");
    const missing = await fetch(`${lane().url}/products/not-an-id`, { method: "HEAD" });
    expect(missing.status).toBe(400);
    expect(await missing.text()).toBe("");
  });

  it.each(["/PRODUCTS", "/Products", "/products/", `/products/${ID}/`, "/USERS/ME"])(
    "answers %s with a 404 Problem: paths are exact (finding 4)",
    async (path) => {
      const response = await fetch(`${lane().url}${path}`);
      expect(response.status).toBe(404);
      expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    },
  );

  it.each(["?__proto__[admin]=true", "?constructor[prototype][admin]=true", "?a[b]=1", "?foo=1"])(
    "refuses the unknown query parameter of %s with 400 (finding 5)",
    async (query) => {
      const response = await fetch(`${lane().url}/products${query}`);
      expect(response.status).toBe(400);
      const problem = (await response.json()) as { errors: { location: string }[] };
      expect(problem.errors[0]?.location).toBe("query");
      expect(upstream.received.some((r) => r.url.includes(query.slice(1, 6)))).toBe(false);
    },
  );

  it("answers a request without Host, or with two, with a 400 Problem (finding 7)", async () => {
    for (const raw of [
      "GET /products HTTP/1.1\r\nConnection: close\r\n\r\n",
      "GET /products HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nConnection: close\r\n\r\n",
    ]) {
      const answer = parseRaw(await rawExchange(lane().port, raw));
      expect(answer).toMatchObject({ status: 400, type: "application/problem+json" });
      expect(answer.problem).toMatchObject({ status: 400 });
    }
  });

  it("answers a request line of HTTP/2.0 with a 505 or 400 Problem (finding 7)", async () => {
    const answer = parseRaw(
      await rawExchange(lane().port, "GET /products HTTP/2.0\r\nHost: x\r\n\r\n"),
    );
    expect([400, 505]).toContain(answer.status);
    expect(answer.type).toBe("application/problem+json");
  });

  it("answers CONNECT with a 405 Problem instead of closing the socket (finding 7)", async () => {
    const answer = parseRaw(
      await rawExchange(
        lane().port,
        "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
      ),
    );
    expect(answer).toMatchObject({ status: 405, type: "application/problem+json" });
  });

  it("serves the public document without any x-portico-* key (finding 8)", async () => {
    const text = await (await fetch(`${lane().url}/openapi.json`)).text();
    expect(text).not.toContain("x-portico-");
  });

  it("answers a client that never finishes its headers with a 408 Problem (finding 9)", async () => {
    const answer = parseRaw(
      await rawExchange(lane().port, "GET /products HTTP/1.1\r\nHost: x\r\n"),
    );
    expect(answer).toMatchObject({ status: 408, type: "application/problem+json" });
  });
});
