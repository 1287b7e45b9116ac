/**
 * The kit's app over real HTTP: a small test contract (support/widgets-contract.ts), handlers
 * that record what they receive, `createApp` with response validation and the kit's `listen` on
 * an ephemeral port.
 */
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createApp, type ReadinessCheck } from "../../src/app.js";
import type { HandlerInput, Handlers } from "../../src/handlers.js";
import { createLogger } from "../../src/logger.js";
import { notFound } from "../../src/problem.js";
import { listen, type RunningServer } from "../../src/server.js";
import { createTestIssuer, requestJson as request, type TestIssuer } from "../../src/testing.js";
import { type operations, sprocket, widgetsContract } from "../support/widgets-contract.js";

const WIDGET_ID = "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10";
const MISSING_ID = "0192f0c1-7c1a-7b3e-9f43-000000000000";
const CONTRACT_DETAIL = "The service produced a response that breaks its contract.";

const logger = createLogger("kit-test", process.env.TEST_LOG_LEVEL ?? "silent");

/** What the handlers were called with, newest last. */
const received: { operationId: string; input: HandlerInput<unknown> }[] = [];
let databaseDown = false;

const handlers: Handlers<operations> = {
  getWidget: async (input) => {
    received.push({ operationId: "getWidget", input: input as HandlerInput<unknown> });
    if (input.path.widgetId === MISSING_ID) throw notFound("No widget has this id.");
    return {
      status: 200,
      body: sprocket(input.path.widgetId, input.query.limit),
    };
  },
  createWidget: async (input) => {
    received.push({ operationId: "createWidget", input: input as HandlerInput<unknown> });
    if (input.body.name === "explode") throw new Error("db password=hunter2 rejected");
    return {
      status: 201,
      headers: { Location: `/widgets/${WIDGET_ID}` },
      body: {
        id: WIDGET_ID,
        ...input.body,
        ...(input.principal ? { createdBy: input.principal.userId } : {}),
      },
    };
  },
  getBrokenWidget: async ({ path }) => {
    if (path.fault === "status") return { status: 201, body: {} } as never;
    if (path.fault === "missing-body") return { status: 200, body: null } as never;
    // `price` as a string and an undeclared property: the Widget schema forbids both.
    return {
      status: 200,
      body: { id: WIDGET_ID, name: "x", price: "2.50 EUR", extra: 1 } as never,
    };
  },
  waitForRelease: async () => {
    await onSlowRequest();
    return { status: 200, body: { released: true } };
  },
};

/** What the slow handler awaits before answering (set by the graceful-close test). */
let onSlowRequest: () => Promise<void> = async () => undefined;

const readiness: Record<string, ReadinessCheck> = {
  database: async () => {
    if (databaseDown) throw new Error("connection refused");
  },
  nats: async () => undefined,
};

/** Starts an app on an ephemeral port; `graceMs` as `listen` takes it. */
function start(verifyToken: TestIssuer["verifyToken"], graceMs?: number): Promise<RunningServer> {
  const app = createApp<operations>({
    contract: widgetsContract,
    handlers,
    verifyToken,
    logger,
    validateResponses: true,
    readiness,
    bodyLimit: "2kb",
  });
  return listen(app, {
    port: 0,
    host: "127.0.0.1",
    log: logger,
    exitOnSignal: false,
    ...(graceMs ? { graceMs } : {}),
  });
}

let tokens: TestIssuer;
let server: RunningServer;
let baseUrl: string;

beforeAll(async () => {
  tokens = await createTestIssuer();
  server = await start(tokens.verifyToken);
  baseUrl = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server?.close();
});

/** Asserts the RFC 9457 shape and returns the body. */
function expectProblem(
  res: { status: number; headers: Headers; body: Record<string, unknown> },
  status: number,
  instance: string,
) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    type: expect.stringMatching(/^https:\/\/portico\.dev\/problems\//),
    title: expect.any(String),
    status,
    detail: expect.any(String),
    instance,
    requestId: res.headers.get("x-request-id"),
  });
  return res.body;
}

const validWidget = { name: "Sprocket", price: { amount: 250, currency: "EUR" } };

describe("requests the contract accepts", () => {
  it("reach the handler with path and query parameters validated and coerced", async () => {
    const res = await request(baseUrl, "GET", `/widgets/${WIDGET_ID}?limit=7`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...validWidget, id: WIDGET_ID, limit: 7 });
    const call = received.at(-1);
    expect(call?.operationId).toBe("getWidget");
    expect(call?.input.path).toEqual({ widgetId: WIDGET_ID });
    expect(call?.input.query).toEqual({ limit: 7 });
    expect(call?.input.principal).toBeUndefined();
  });

  it("fill in a query parameter's default", async () => {
    const res = await request(baseUrl, "GET", `/widgets/${WIDGET_ID}`);
    expect(res.status).toBe(200);
    expect(received.at(-1)?.input.query).toEqual({ limit: 20 });
  });

  it("give an admin-only handler the body and the principal", async () => {
    const token = await tokens.tokenFor({
      role: "admin",
      userId: "admin-42",
      email: "admin@example.com",
    });
    const res = await request(baseUrl, "POST", "/widgets", { token, json: validWidget });
    expect(res.status).toBe(201);
    expect(res.headers.get("location")).toBe(`/widgets/${WIDGET_ID}`);
    expect(res.body).toEqual({ id: WIDGET_ID, ...validWidget, createdBy: "admin-42" });
    const input = received.at(-1)?.input;
    expect(input?.body).toEqual(validWidget);
    expect(input?.principal).toEqual({
      userId: "admin-42",
      role: "admin",
      email: "admin@example.com",
    });
  });

  it("render a problem the handler throws", async () => {
    const res = await request(baseUrl, "GET", `/widgets/${MISSING_ID}`);
    const body = expectProblem(res, 404, `/widgets/${MISSING_ID}`);
    expect(body.detail).toBe("No widget has this id.");
  });

  it("turn an unexpected handler error into a 500 that leaks nothing", async () => {
    const token = await tokens.tokenFor({ role: "admin" });
    const res = await request(baseUrl, "POST", "/widgets", {
      token,
      json: { ...validWidget, name: "explode" },
    });
    const body = expectProblem(res, 500, "/widgets");
    expect(body.detail).toBe("An unexpected error occurred.");
    expect(JSON.stringify(body)).not.toMatch(/hunter2|password|stack/);
  });
});

describe("requests the contract rejects never reach the handler", () => {
  /** Sends the request and asserts that no handler ran. */
  async function rejected(...args: Parameters<typeof request>) {
    const before = received.length;
    const res = await request(...args);
    expect(received.length).toBe(before);
    return res;
  }

  it("400 naming every invalid field of the body (allErrors)", async () => {
    const token = await tokens.tokenFor({ role: "admin" });
    const res = await rejected(baseUrl, "POST", "/widgets", {
      token,
      json: { name: "", price: { amount: -1, currency: "eur" } },
    });
    const body = expectProblem(res, 400, "/widgets");
    expect(body.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ location: "body", field: "name" }),
        expect.objectContaining({ location: "body", field: "price.amount" }),
        expect.objectContaining({ location: "body", field: "price.currency" }),
      ]),
    );
    expect(body.detail).toMatch(/body\.name .*body\.price\.amount .*body\.price\.currency /);
  });

  it("400 naming a missing required property", async () => {
    const token = await tokens.tokenFor({ role: "admin" });
    const res = await rejected(baseUrl, "POST", "/widgets", { token, json: { name: "Cog" } });
    const body = expectProblem(res, 400, "/widgets");
    expect(body.errors).toEqual([
      expect.objectContaining({ location: "body", field: "price", message: expect.any(String) }),
    ]);
  });

  it("400 naming an unknown property of a closed body", async () => {
    const token = await tokens.tokenFor({ role: "admin" });
    const res = await rejected(baseUrl, "POST", "/widgets", {
      token,
      json: { ...validWidget, colour: "red" },
    });
    const body = expectProblem(res, 400, "/widgets");
    expect(body.errors).toEqual([expect.objectContaining({ location: "body", field: "colour" })]);
  });

  it("400 for a JSON number sent as a string (bodies are not coerced)", async () => {
    const token = await tokens.tokenFor({ role: "admin" });
    const res = await rejected(baseUrl, "POST", "/widgets", {
      token,
      json: { name: "Cog", price: { amount: "250", currency: "EUR" } },
    });
    const body = expectProblem(res, 400, "/widgets");
    expect(body.errors).toEqual([
      expect.objectContaining({ location: "body", field: "price.amount" }),
    ]);
  });

  it("400 naming each invalid path and query parameter", async () => {
    const res = await rejected(baseUrl, "GET", "/widgets/not-a-uuid?limit=0");
    const body = expectProblem(res, 400, "/widgets/not-a-uuid");
    expect(body.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ location: "path", field: "widgetId" }),
        expect.objectContaining({ location: "query", field: "limit" }),
      ]),
    );
  });

  it("400 naming an unknown query parameter", async () => {
    const res = await rejected(baseUrl, "GET", `/widgets/${WIDGET_ID}?colour=red`);
    const body = expectProblem(res, 400, `/widgets/${WIDGET_ID}`);
    expect(body.errors).toEqual([
      { location: "query", field: "colour", message: expect.stringContaining("colour") },
    ]);
  });

  it("400 for malformed JSON, naming the body", async () => {
    const token = await tokens.tokenFor({ role: "admin" });
    const res = await rejected(baseUrl, "POST", "/widgets", { token, raw: '{"name": "Cog",' });
    const body = expectProblem(res, 400, "/widgets");
    expect(body.detail).toBe("The request body is not valid JSON.");
    expect(body.errors).toEqual([{ location: "body", field: "", message: body.detail }]);
  });

  it("413 for a body over the limit", async () => {
    const token = await tokens.tokenFor({ role: "admin" });
    const res = await rejected(baseUrl, "POST", "/widgets", {
      token,
      json: { ...validWidget, name: "x".repeat(4096) },
    });
    expectProblem(res, 413, "/widgets");
  });

  it("415 for a media type the operation does not accept", async () => {
    const token = await tokens.tokenFor({ role: "admin" });
    const res = await rejected(baseUrl, "POST", "/widgets", {
      token,
      raw: "name=Cog",
      headers: { "content-type": "text/plain" },
    });
    expectProblem(res, 415, "/widgets");
  });

  it("404 Problem for a path the contract does not declare", async () => {
    const res = await rejected(baseUrl, "GET", "/gadgets/1");
    expectProblem(res, 404, "/gadgets/1");
  });

  it("405 Problem with Allow for a method the path does not declare", async () => {
    const res = await rejected(baseUrl, "DELETE", `/widgets/${WIDGET_ID}`);
    expectProblem(res, 405, `/widgets/${WIDGET_ID}`);
    expect(res.headers.get("allow")).toMatch(/GET/);
  });

  it("401 with the Bearer challenge without a token", async () => {
    const res = await rejected(baseUrl, "POST", "/widgets", { json: validWidget });
    expectProblem(res, 401, "/widgets");
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="portico"');
  });

  it("401 for a token signed with an unknown key", async () => {
    const token = await (await createTestIssuer()).tokenFor({ role: "admin" }); // a key the app does not trust;
    const res = await rejected(baseUrl, "POST", "/widgets", { token, json: validWidget });
    const body = expectProblem(res, 401, "/widgets");
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer /);
    expect(body.detail).toBe("The bearer token is invalid or expired.");
  });

  it("403 naming the role when a user calls an admin-only operation", async () => {
    const token = await tokens.tokenFor({ role: "user" });
    const res = await rejected(baseUrl, "POST", "/widgets", { token, json: validWidget });
    const body = expectProblem(res, 403, "/widgets");
    expect(body.detail).toBe("This operation requires the role admin.");
  });
});

describe("responses that break the contract", () => {
  it.each([
    ["a body that fails the response schema", "schema"],
    ["a status the operation does not declare", "status"],
    ["a null body where one is required", "missing-body"],
  ])("%s become a 500 Problem saying so", async (_case, fault) => {
    const res = await request(baseUrl, "GET", `/broken-widgets/${fault}`);
    const body = expectProblem(res, 500, `/broken-widgets/${fault}`);
    expect(body.detail).toBe(CONTRACT_DETAIL);
    expect(body.title).toBe("Internal Server Error");
  });
});

describe("X-Request-Id", () => {
  it("echoes a well-formed id and puts it in problems", async () => {
    const res = await request(baseUrl, "GET", "/gadgets", {
      headers: { "x-request-id": "trace-123" },
    });
    expect(res.headers.get("x-request-id")).toBe("trace-123");
    expect(res.body.requestId).toBe("trace-123");
  });

  it("hands the id to the handler", async () => {
    await request(baseUrl, "GET", `/widgets/${WIDGET_ID}`, {
      headers: { "x-request-id": "trace-456" },
    });
    expect(received.at(-1)?.input.requestId).toBe("trace-456");
  });

  it("generates a fresh UUID when none or a malformed one is given", async () => {
    const none = await request(baseUrl, "GET", "/healthz");
    const bad = await request(baseUrl, "GET", "/healthz", {
      headers: { "x-request-id": "<script>" },
    });
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    expect(none.headers.get("x-request-id")).toMatch(uuid);
    expect(bad.headers.get("x-request-id")).toMatch(uuid);
    expect(none.headers.get("x-request-id")).not.toBe(bad.headers.get("x-request-id"));
  });
});

describe("health", () => {
  it("/healthz is 200 while the process is up", async () => {
    const res = await request(baseUrl, "GET", "/healthz");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ok" });
  });

  it("/readyz is 503 naming the failing check, then 200 once every check passes", async () => {
    databaseDown = true;
    try {
      const down = await request(baseUrl, "GET", "/readyz");
      expect(down.status).toBe(503);
      expect(down.body).toEqual({
        status: "not ready",
        checks: { database: "connection refused", nats: "ok" },
      });
    } finally {
      databaseDown = false;
    }
    const up = await request(baseUrl, "GET", "/readyz");
    expect(up.status).toBe(200);
    expect(up.body).toEqual({ status: "ready", checks: { database: "ok", nats: "ok" } });
  });
});

describe("graceful close", () => {
  it("lets an in-flight request finish before it resolves, refusing new connections", async () => {
    const graceMs = 5_000;
    const own = await start(tokens.verifyToken, graceMs);
    const ownUrl = `http://127.0.0.1:${own.port}`;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let markStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      markStarted = resolve;
    });
    onSlowRequest = () => {
      markStarted();
      return gate;
    };

    const inFlight = request(ownUrl, "GET", "/slow");
    await started;
    let closed = false;
    const closing = own.close().then(() => {
      closed = true;
    });
    await expect(fetch(`${ownUrl}/healthz`)).rejects.toThrow();
    await delay(50);
    expect(closed).toBe(false);

    const releasedAt = Date.now();
    release();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ released: true });
    await closing;
    expect(closed).toBe(true);
    // The kept-alive connection is closed once its response is sent, not at the grace deadline.
    expect(Date.now() - releasedAt).toBeLessThan(graceMs / 2);
  });
});
