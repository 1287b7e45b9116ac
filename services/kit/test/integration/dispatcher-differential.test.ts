/**
 * The contract dispatcher is the Express pipeline's faster twin, proved here: the same requests
 * go to one app with the dispatcher in front (`createApp`) and one without (`fastLane: false`),
 * over the same recording handlers. For each operation of the widgets contract: the valid request
 * sampled from its schemas (support/contract-requests.ts), variants of it that are still valid
 * (HEAD, a parameter's default, an If-None-Match the handler's ETag satisfies, a charset), and
 * generated invalid ones (no or a wrong credential, an unknown, repeated, empty, unencoded or
 * prototype-polluting query parameter, a path in another case or with a trailing slash, an
 * invalid path parameter, malformed, scalar, empty or undeclared JSON, a wrong media type,
 * U+0000). Status, content type, body (request ids aside), the relevant headers and what the
 * handler was given (path, query, body, principal) must be the same; and the valid requests must
 * have taken the dispatcher, the invalid ones the Express app.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { type AppOptions, createApp } from "../../src/app.js";
import type { HandlerInput, Handlers } from "../../src/handlers.js";
import { createLogger } from "../../src/logger.js";
import { serviceMetrics } from "../../src/metrics.js";
import { listen, type RunningServer } from "../../src/server.js";
import { createTestIssuer } from "../../src/testing.js";
import { type SampledRequest, sampleRequests, urlOf } from "../support/contract-requests.js";
import { thingsContract, thingsOperations } from "../support/things-contract.js";
import { type operations, sprocket, widgetsContract } from "../support/widgets-contract.js";

const logger = createLogger("kit-dispatcher-test", process.env.TEST_LOG_LEVEL ?? "silent");
const WIDGET_ID = "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10";
const COMPARED_HEADERS = [
  "content-type",
  "content-length",
  "location",
  "etag",
  "allow",
  "www-authenticate",
  "x-request-id",
];

/** What a handler was given, as JSON can tell it (and whether its query has no prototype). */
let seen: unknown;

function record(input: HandlerInput<unknown>): void {
  seen = {
    path: input.path,
    query: input.query,
    queryPrototype: Object.getPrototypeOf(input.query) === null ? "none" : "Object",
    body: input.body,
    principal: input.principal,
    requestId: input.requestId,
  };
}

const handlers: Handlers<operations> = {
  getWidget: async (input) => {
    record(input as HandlerInput<unknown>);
    return {
      status: 200,
      headers: { ETag: '"v1"' },
      body: sprocket(input.path.widgetId, input.query.limit),
    };
  },
  createWidget: async (input) => {
    record(input as HandlerInput<unknown>);
    return {
      status: 201,
      headers: { Location: `/widgets/${WIDGET_ID}` },
      body: { id: WIDGET_ID, ...input.body, createdBy: input.principal?.userId ?? "" },
    };
  },
  getBrokenWidget: async (input) => {
    record(input as HandlerInput<unknown>);
    const { fault } = input.path;
    if (fault === "status") return { status: 201, body: {} } as never;
    if (fault === "missing-body") return { status: 200, body: null } as never;
    return { status: 200, body: { id: WIDGET_ID, name: "x", price: "2.50 EUR" } as never };
  },
  waitForRelease: async (input) => {
    record(input as HandlerInput<unknown>);
    return { status: 200, body: { released: true } };
  },
};

/** A pair of apps on one contract: with the dispatcher and without. */
interface Pair {
  fast: RunningServer | undefined;
  reference: RunningServer | undefined;
}

const servers: Pair = { fast: undefined, reference: undefined };
/** The pair on {@link thingsContract}. */
const things: Pair = { fast: undefined, reference: undefined };

/** Each things handler records its input and echoes the header parameter. */
const thingHandler = async (input: HandlerInput<unknown>) => {
  record(input);
  (seen as Record<string, unknown>).page = input.headers["x-page"];
  return { status: 200, body: {} };
};
let adminToken = "";
let userToken = "";

/** Starts `pair`: the app of `options` with the dispatcher, and without. */
async function startPair(
  pair: Pair,
  options: Pick<AppOptions<Record<string, never>>, "contract" | "handlers" | "verifyToken"> & {
    bodyLimit?: string;
  },
): Promise<void> {
  for (const lane of ["fast", "reference"] as const) {
    const app = createApp({
      ...options,
      logger,
      validateResponses: true,
      readiness: {},
      fastLane: lane === "fast",
    });
    pair[lane] = await listen(app, {
      port: 0,
      host: "127.0.0.1",
      log: logger,
      exitOnSignal: false,
    });
  }
}

beforeAll(async () => {
  const issuer = await createTestIssuer();
  await startPair(servers, {
    contract: widgetsContract,
    handlers: handlers as unknown as Handlers<Record<string, never>>,
    verifyToken: issuer.verifyToken,
    bodyLimit: "2kb",
  });
  await startPair(things, {
    contract: thingsContract,
    handlers: Object.fromEntries(
      thingsOperations.map((op) => [op.operationId, thingHandler]),
    ) as unknown as Handlers<Record<string, never>>,
    verifyToken: issuer.verifyToken,
  });
  adminToken = await issuer.tokenFor({ role: "admin", userId: "admin-1", email: "a@example.com" });
  userToken = await issuer.tokenFor({ role: "user" });
});

afterAll(async () => {
  for (const pair of [servers, things]) {
    await pair.fast?.close();
    await pair.reference?.close();
  }
});

interface Case {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** A widget request body that is valid. */
const validBody = JSON.stringify({ name: "Sprocket", price: { amount: 250, currency: "EUR" } });

/** The valid requests: the sampled one of each operation, and variants still valid. */
function validCases(): Case[] {
  const sampled = sampleRequests(widgetsContract).map((request: SampledRequest) => {
    const path = urlOf(
      request.operationId === "getWidget" ? { ...request, path: { widgetId: WIDGET_ID } } : request,
    );
    const json = request.body === undefined ? undefined : JSON.stringify(request.body);
    return {
      name: `${request.operationId}: sampled`,
      method: request.method,
      path,
      headers: {
        authorization: `Bearer ${adminToken}`,
        ...(json ? { "content-type": "application/json" } : {}),
      },
      ...(json ? { body: json } : {}),
    };
  });
  const broken = ["schema", "status", "missing-body"].map((fault) => ({
    name: `getBrokenWidget: ${fault}`,
    method: "GET",
    path: `/broken-widgets/${fault}`,
  }));
  return [
    ...sampled,
    ...broken,
    { name: "getWidget: default limit", method: "GET", path: `/widgets/${WIDGET_ID}` },
    { name: "getWidget: limit", method: "GET", path: `/widgets/${WIDGET_ID}?limit=007` },
    { name: "getWidget: HEAD", method: "HEAD", path: `/widgets/${WIDGET_ID}?limit=3` },
    {
      name: "getWidget: fresh ETag (304)",
      method: "GET",
      path: `/widgets/${WIDGET_ID}`,
      headers: { "if-none-match": '"v1"' },
    },
    {
      name: "getWidget: stale ETag",
      method: "GET",
      path: `/widgets/${WIDGET_ID}`,
      headers: { "if-none-match": '"v0"' },
    },
    {
      name: "createWidget: charset and whitespace",
      method: "POST",
      path: "/widgets",
      headers: {
        authorization: `Bearer ${adminToken}`,
        "content-type": "application/json; charset=utf-8",
      },
      body: `  \n${validBody}`,
    },
  ];
}

/** Invalid or unusual requests, which the Express app answers. */
function invalidCases(): Case[] {
  const admin = { authorization: `Bearer ${adminToken}`, "content-type": "application/json" };
  const widget = `/widgets/${WIDGET_ID}`;
  const post = (name: string, body: string, headers: Record<string, string> = admin): Case => ({
    name: `createWidget: ${name}`,
    method: "POST",
    path: "/widgets",
    headers,
    body,
  });
  return [
    { name: "getWidget: unknown query parameter", method: "GET", path: `${widget}?zzz=1` },
    { name: "getWidget: prototype query", method: "GET", path: `${widget}?__proto__[a]=1` },
    { name: "getWidget: repeated parameter", method: "GET", path: `${widget}?limit=1&limit=2` },
    { name: "getWidget: empty parameter", method: "GET", path: `${widget}?limit=` },
    { name: "getWidget: out of bounds", method: "GET", path: `${widget}?limit=0` },
    { name: "getWidget: not an integer", method: "GET", path: `${widget}?limit=1e1` },
    { name: "getWidget: unencoded +", method: "GET", path: `${widget}?limit=+5` },
    { name: "getWidget: upper-case path", method: "GET", path: widget.toUpperCase() },
    { name: "getWidget: trailing slash", method: "GET", path: `${widget}/` },
    { name: "getWidget: invalid id", method: "GET", path: "/widgets/not%20an%20id" },
    { name: "getWidget: malformed encoding", method: "GET", path: "/widgets/%E0%A4%A" },
    { name: "getWidget: unknown method", method: "PATCH", path: widget },
    { name: "unknown path", method: "GET", path: "/gadgets" },
    { name: "health", method: "GET", path: "/healthz" },
    post("no credentials", validBody, { "content-type": "application/json" }),
    post("a user's token", validBody, { ...admin, authorization: `Bearer ${userToken}` }),
    post("a malformed token", validBody, { ...admin, authorization: "Bearer x.y.z" }),
    post("malformed JSON", "{"),
    post("a JSON scalar", "5"),
    post("an empty body", ""),
    post("an undeclared field", JSON.stringify({ zzz: 1 })),
    post("a string for a number", validBody.replace("250", '"250"')),
    post("a NUL character", validBody.replace("Sprocket", "Sproc\\u0000ket")),
    post("a wrong media type", validBody, { ...admin, "content-type": "text/plain" }),
    post("a form", "name=x", { ...admin, "content-type": "application/x-www-form-urlencoded" }),
    post("a utf8 charset", validBody, {
      ...admin,
      "content-type": "application/json; charset=utf8",
    }),
    post("too large", JSON.stringify({ name: "x".repeat(3000) })),
  ];
}

/** A Problem without its request id. */
function withoutId(body: unknown): unknown {
  if (!body || typeof body !== "object" || Array.isArray(body)) return body;
  const { requestId: _requestId, ...rest } = body as Record<string, unknown>;
  return rest;
}

/** What must agree between the two ways: the answer, and what the handler was given. */
async function observe(server: RunningServer | undefined, c: Case, requestId: string) {
  seen = undefined;
  const response = await fetch(`http://127.0.0.1:${server?.port}${c.path}`, {
    method: c.method,
    headers: { "x-request-id": requestId, ...c.headers },
    ...(c.body === undefined ? {} : { body: c.body }),
  });
  const type = response.headers.get("content-type") ?? "";
  const text = await response.text();
  return {
    status: response.status,
    body: type.includes("json") && text !== "" ? withoutId(JSON.parse(text)) : text,
    headers: Object.fromEntries(COMPARED_HEADERS.map((name) => [name, response.headers.get(name)])),
    handlerSaw: seen,
  };
}

/** The dispatcher's counts so far. */
async function laneCounts(): Promise<{ fast: number; reference: number }> {
  const { values } = await serviceMetrics().fastLaneRequests.get();
  const count = (lane: string) => values.find((v) => v.labels.lane === lane)?.value ?? 0;
  return { fast: count("fast"), reference: count("reference") };
}

/** Sends every case both ways, one after the other; the differences found. */
async function compare(cases: Case[], pair: Pair = servers): Promise<unknown[]> {
  const differences: unknown[] = [];
  for (const [index, c] of cases.entries()) {
    const requestId = `case-${index}`;
    const fast = await observe(pair.fast, c, requestId);
    const reference = await observe(pair.reference, c, requestId);
    if (JSON.stringify(fast) !== JSON.stringify(reference)) {
      differences.push({ case: c.name, fast, reference });
    }
  }
  return differences;
}

describe("the contract dispatcher and the Express pipeline", () => {
  it("answer every valid request the same and give the handler the same input, on the dispatcher", async () => {
    const cases = validCases();
    const before = await laneCounts();
    expect(await compare(cases)).toEqual([]);
    const after = await laneCounts();
    expect(after.fast - before.fast).toBe(cases.length);
    expect(after.reference - before.reference).toBe(0);
  });

  it("answer every invalid request the same, by handing it to the Express app", async () => {
    const cases = invalidCases();
    const before = await laneCounts();
    expect(await compare(cases)).toEqual([]);
    const after = await laneCounts();
    expect(after.fast - before.fast).toBe(0);
    expect(after.reference - before.reference).toBe(cases.length);
  });

  it("give the handler the same defaults and coerced values on a contract that declares more", async () => {
    const put = (name: string, body: string, headers: Record<string, string> = {}): Case => ({
      name,
      method: "PUT",
      path: "/things/7",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
    const valid: Case[] = [
      { name: "defaults", method: "GET", path: "/things/7" },
      {
        name: "values",
        method: "GET",
        path: "/things/007?limit=5&q=a%3Ab",
        headers: { "x-page": "3" },
      },
      put("body defaults", JSON.stringify({ name: "a" })),
      { name: "no optional body", method: "POST", path: "/things/7" },
      { ...put("an optional body", "{}"), method: "POST" },
    ];
    const invalid: Case[] = [
      { name: "reserved character", method: "GET", path: "/things/7?q=a:b" },
      { name: "a plus", method: "GET", path: "/things/7?q=a+b" },
      {
        name: "a header out of type",
        method: "GET",
        path: "/things/7",
        headers: { "x-page": "x" },
      },
      { name: "not an integer", method: "GET", path: "/things/7.5" },
      { name: "no body where it is optional by default", method: "PUT", path: "/things/7" },
      put("a closed body", JSON.stringify({ size: 1 })),
    ];
    const before = await laneCounts();
    expect(await compare(valid, things)).toEqual([]);
    const middle = await laneCounts();
    expect(middle.fast - before.fast).toBe(valid.length);
    expect(await compare(invalid, things)).toEqual([]);
    const after = await laneCounts();
    expect(after.fast - middle.fast).toBe(0);
    expect(after.reference - middle.reference).toBe(invalid.length);
  });

  it("reach the handler with the same coerced values (a sanity check of the comparison)", async () => {
    const c = validCases().find((x) => x.name === "getWidget: limit") as Case;
    const fast = await observe(servers.fast, c, "sanity");
    expect(fast.status).toBe(200);
    expect(fast.handlerSaw).toMatchObject({ query: { limit: 7 }, queryPrototype: "none" });
  });
});
