/**
 * API keys end to end in the kit: an app whose contract accepts a bearer token or an API key,
 * verifying keys with `createApiKeyVerifier` over a real NATS server (its own, so no users
 * service of another test file answers `users.query.verifyApiKey`) and a stand-in users service.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { type NatsServer, startNats } from "@portico/scripts/infra/nats";
import { createApp } from "../../src/app.js";
import { createApiKeyVerifier } from "../../src/auth.js";
import type { Handlers } from "../../src/handlers.js";
import { createLogger } from "../../src/logger.js";
import { connectNats, type NatsConnection, serveQueries } from "../../src/nats.js";
import { listen, type RunningServer } from "../../src/server.js";
import { createTestIssuer, requestJson, type TestIssuer } from "../../src/testing.js";

const logger = createLogger("kit-test", "silent");
const ADMIN_KEY = "psk_00000000000000aa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const USER_KEY = "psk_00000000000000bb_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
const ADMIN_KEY_ID = "0192f0c1-9a2b-7c3d-8e4f-5a6b7c8d9e0f";

const Problem = {
  description: "A Problem.",
  content: { "application/problem+json": { schema: { type: "object" } } },
};

/** `POST /gadgets`: an admin's token or an admin API key. `GET /gadgets`: an API key only. */
const contract: Record<string, unknown> = {
  openapi: "3.1.0",
  info: { title: "Gadgets (kit test)", version: "1.0.0" },
  paths: {
    "/gadgets": {
      post: {
        operationId: "createGadget",
        security: [{ bearerAuth: ["admin"] }, { apiKeyAuth: ["admin"] }],
        responses: {
          "201": {
            description: "Created by the caller.",
            content: { "application/json": { schema: { type: "object" } } },
          },
          "401": Problem,
          "403": Problem,
          "503": Problem,
        },
      },
      get: {
        operationId: "listGadgets",
        security: [{ apiKeyAuth: [] }],
        responses: {
          "200": {
            description: "The caller.",
            content: { "application/json": { schema: { type: "object" } } },
          },
          "401": Problem,
        },
      },
    },
  },
  components: {
    securitySchemes: {
      bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
      apiKeyAuth: { type: "apiKey", in: "header", name: "X-API-Key" },
    },
  },
};

interface operations {
  createGadget: { responses: { 201: { content: { "application/json": object } } } };
  listGadgets: { responses: { 200: { content: { "application/json": object } } } };
}

const handlers: Handlers<operations> = {
  createGadget: async ({ principal }) => ({ status: 201, body: { createdBy: principal } }),
  listGadgets: async ({ principal }) => ({ status: 200, body: { caller: principal } }),
};

let dir: string;
let nats: NatsServer;
let nc: NatsConnection;
let usersQueries: { stop: () => Promise<void> } | undefined;
let lookups = 0;
let issuer: TestIssuer;
let server: RunningServer;
let baseUrl: string;

/** Stands in for the users service: two keys, an admin one and a user one. */
async function serveUsers(): Promise<{ stop: () => Promise<void> }> {
  return serveQueries(
    nc,
    { name: "users", version: "1.0.0" },
    {
      "users.query.verifyApiKey": async ({ apiKey }) => {
        lookups += 1;
        if (apiKey === ADMIN_KEY) return { apiKeyId: ADMIN_KEY_ID, name: "sync", role: "admin" };
        if (apiKey === USER_KEY) return { apiKeyId: ADMIN_KEY_ID, name: "reader", role: "user" };
        return null;
      },
    },
    logger,
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kit-api-keys-"));
  nats = await startNats({ storeDir: join(dir, "nats") });
  nc = await connectNats(nats.url, "kit-api-key-test", logger);
  usersQueries = await serveUsers();
  issuer = await createTestIssuer();
  const app = createApp<operations>({
    contract,
    handlers,
    verifyToken: issuer.verifyToken,
    verifyApiKey: createApiKeyVerifier(nc, { ttlMs: 60_000 }),
    logger,
    validateResponses: true,
    readiness: {},
  });
  server = await listen(app, { port: 0, host: "127.0.0.1", log: logger, exitOnSignal: false });
  baseUrl = `http://127.0.0.1:${server.port}`;
}, 30_000);

afterAll(async () => {
  await server?.close();
  await usersQueries?.stop();
  await nc?.close();
  await nats?.stop();
  await rm(dir, { recursive: true, force: true });
});

const post = (headers: Record<string, string> = {}, token?: string) =>
  requestJson(baseUrl, "POST", "/gadgets", { headers, ...(token ? { token } : {}) });

describe("an operation that takes a bearer token or an API key", () => {
  it("accepts an admin API key and hands the service account to the handler", async () => {
    const res = await post({ "x-api-key": ADMIN_KEY });
    expect(res.status).toBe(201);
    expect(res.body.createdBy).toEqual({
      userId: ADMIN_KEY_ID,
      apiKeyId: ADMIN_KEY_ID,
      role: "admin",
      email: "",
    });
  });

  it("accepts an admin's token", async () => {
    const res = await post({}, await issuer.tokenFor({ role: "admin", userId: "u-admin" }));
    expect(res.status).toBe(201);
    expect(res.body.createdBy.userId).toBe("u-admin");
  });

  it("answers 401 saying either credential would do, with both challenges", async () => {
    const res = await post();
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(res.body.detail).toBe("A valid bearer token or API key is required.");
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="portico", ApiKey /);
  });

  it("answers 403 naming the role for a user's token", async () => {
    const res = await post({}, await issuer.tokenFor({ role: "user" }));
    expect(res.status).toBe(403);
    expect(res.body.detail).toBe("This operation requires the role admin.");
  });

  it("answers 403 naming the role for an API key with role user", async () => {
    const res = await post({ "x-api-key": USER_KEY });
    expect(res.status).toBe(403);
    expect(res.body.detail).toBe("This operation requires the role admin.");
  });

  it("answers 401 for an unknown key without saying why", async () => {
    const res = await post({ "x-api-key": "psk_unknown" });
    expect(res.status).toBe(401);
    expect(res.body.detail).toBe("A valid bearer token or API key is required.");
  });

  it("asks the users service once per key while its answer is cached", async () => {
    const before = lookups;
    for (let i = 0; i < 3; i++) expect((await post({ "x-api-key": ADMIN_KEY })).status).toBe(201);
    expect(lookups).toBe(before);
  });
});

describe("an operation that takes an API key only", () => {
  it("says an API key is required", async () => {
    const res = await requestJson(baseUrl, "GET", "/gadgets");
    expect(res.status).toBe(401);
    expect(res.body.detail).toBe("A valid API key is required.");
    expect(res.headers.get("www-authenticate")).toBe('ApiKey realm="portico", header="X-API-Key"');
  });
});

describe("when the users service does not answer", () => {
  it("answers 503 with Retry-After for a key it has not seen, and answers again once it is back", async () => {
    await usersQueries?.stop();
    usersQueries = undefined;
    const fresh = "psk_00000000000000cc_CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";
    const res = await post({ "x-api-key": fresh });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(res.body.detail).toBe("API keys cannot be verified right now; retry shortly.");

    usersQueries = await serveUsers();
    expect((await post({ "x-api-key": fresh })).status).toBe(401);
  });
});
