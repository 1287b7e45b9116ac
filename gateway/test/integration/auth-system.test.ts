/**
 * Auth from the contract through the real system: the users and products services and the
 * gateway as separate processes (rows of `npm start`'s process table) on their own NATS server and
 * fresh databases, the gateway verifying API keys over NATS (cache 300 ms here); the other
 * services are stand-ins answering `/healthz`. Covers a service account's key from creation to
 * revocation, how it is kept at rest, roles, and a signing-key rotation of the users service.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { loadContract } from "@portico/contracts";
import { startNats } from "@portico/scripts/infra/nats";
import { getFreePort } from "@portico/scripts/infra/ports";
import {
  type RunningSystem,
  SYSTEM_PROCESSES,
  serviceOf,
  startSystem,
} from "@portico/scripts/system";
import { createDatabase } from "@portico/scripts/testing/provision";
import { decodeProtectedHeader } from "jose";
import pg from "pg";
import { contractServices } from "../../src/operations/table.js";
import { upstreamEnvVar } from "../../src/operations/upstream-list.js";

const ADMIN = { email: "admin@portico.local", password: "an-admin-password", name: "Admin" };
const ADA = { email: "ada@example.com", password: "correct-horse-battery", name: "Ada" };
const ROTATE_SCRIPT = resolve(
  import.meta.dirname,
  "../../../services/users/src/rotate-signing-key.ts",
);

const stops: (() => Promise<void>)[] = [];
const logTail: string[] = [];
let system: RunningSystem;
let gateway: string;
let usersDatabase: string;
let adminToken: string;
let userToken: string;

interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: the tests read arbitrary bodies
  body: any;
  text: string;
}

/** Sends a request to the gateway; a `body` is sent as JSON. */
async function call(
  method: string,
  path: string,
  options: { token?: string; apiKey?: string; body?: unknown } = {},
): Promise<Answer> {
  const response = await fetch(`${gateway}${path}`, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.apiKey ? { "x-api-key": options.apiKey } : {}),
      ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : undefined,
    text,
  };
}

async function signIn(email: string, password: string): Promise<string> {
  const answer = await call("POST", "/auth/token", {
    body: { grant_type: "password", username: email, password },
  });
  if (answer.status !== 200) throw new Error(`sign-in answered ${answer.status}`);
  return answer.body.access_token as string;
}

const product = (name: string) => ({ name, price: { amount: 1299, currency: "EUR" }, stock: 0 });

/** The rows this test runs; the other services of the contract get stand-ins. */
const PROCESSES = SYSTEM_PROCESSES.filter((spec) =>
  ["users", "products", "gateway"].includes(serviceOf(spec)),
);

/**
 * A stand-in for each service of the public contract that {@link PROCESSES} does not run, so the
 * gateway has every upstream it needs (answers `/healthz`, and 503 to anything else).
 */
async function stubsForServicesWithoutProcess(): Promise<Record<string, string>> {
  const running = new Set(PROCESSES.map((spec) => serviceOf(spec)));
  const env: Record<string, string> = {};
  for (const service of contractServices(loadContract("public"))) {
    if (running.has(service)) continue;
    const server = createServer((req, res) => {
      res.writeHead(req.url === "/healthz" ? 200 : 503, { "content-type": "application/json" });
      res.end("{}");
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", () => done()));
    stops.push(() => new Promise<void>((done) => server.close(() => done())));
    env[upstreamEnvVar(service)] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  return env;
}

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "portico-gateway-auth-"));
  stops.push(() => rm(dir, { recursive: true, force: true }));
  const nats = await startNats({ storeDir: join(dir, "nats") });
  stops.push(nats.stop);
  const databaseUrls: Record<string, string> = {};
  const ports: Record<string, number> = {};
  for (const spec of PROCESSES) {
    if (spec.database)
      databaseUrls[spec.database] = await createDatabase(`gw_auth_${spec.database}`);
    ports[spec.name] = await getFreePort();
  }
  usersDatabase = databaseUrls.users as string;
  system = await startSystem({
    processes: PROCESSES,
    natsUrl: nats.url,
    databaseUrls,
    smtpUrl: "smtp://127.0.0.1:1", // no row of this test sends mail
    ports,
    nodeEnv: "test",
    logLevel: "warn",
    envByProcess: {
      users: { ADMIN_EMAILS: ADMIN.email },
      gateway: {
        NATS_URL: nats.url,
        API_KEY_CACHE_TTL_MS: "300",
        ...(await stubsForServicesWithoutProcess()),
      },
    },
    log: (name, line) => {
      logTail.push(`${name}: ${line}`);
      if (logTail.length > 200) logTail.shift();
    },
  });
  stops.push(system.stop);
  gateway = system.urls.gateway;
  await call("POST", "/users", { body: ADMIN });
  await call("POST", "/users", { body: ADA });
  adminToken = await signIn(ADMIN.email, ADMIN.password);
  userToken = await signIn(ADA.email, ADA.password);
}, 120_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}, 60_000);

async function createKey(
  name: string,
  role = "admin",
): Promise<{ id: string; key: string; prefix: string }> {
  const created = await call("POST", "/api-keys", { token: adminToken, body: { name, role } });
  if (created.status !== 201)
    throw new Error(`createApiKey answered ${created.status}: ${created.text}`);
  return created.body;
}

describe("a service account's API key, through the gateway", () => {
  it("is created by an admin, works on product admin operations, and stops working once revoked", async () => {
    const created = await call("POST", "/api-keys", {
      token: adminToken,
      body: { name: "stock-sync", role: "admin" },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get("cache-control")).toBe("no-store");
    const { id, key } = created.body as { id: string; key: string };
    expect(key).toMatch(/^psk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);

    // The gateway and the products service both verify the key (over NATS, with the users service).
    const made = await call("POST", "/products", { apiKey: key, body: product("Kettle") });
    expect(made.status).toBe(201);
    const stock = await call("PUT", `/products/${made.body.id}/stock`, {
      apiKey: key,
      body: { quantity: 3 },
    });
    expect(stock.status).toBe(200);
    expect(stock.body.stock).toBe(3);

    const listed = await call("GET", "/api-keys", { token: adminToken });
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((item: { id: string }) => item.id)).toContain(id);
    expect(listed.text).not.toContain(key.slice(-43));

    expect((await call("DELETE", `/api-keys/${id}`, { token: adminToken })).status).toBe(204);
    await delay(400); // past the gateway's 300 ms verification cache
    const refused = await call("POST", "/products", { apiKey: key, body: product("Teapot") });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(refused.body.detail).toBe("A valid bearer token or API key is required.");
  });

  it("is kept hashed at rest: the users database holds no key and no secret", async () => {
    const { id, key, prefix } = await createKey("audited");
    const secret = key.slice(prefix.length + 1);
    const client = new pg.Client({ connectionString: usersDatabase });
    await client.connect();
    try {
      const { rows } = await client.query("select * from api_keys where id = $1", [id]);
      expect(rows).toHaveLength(1);
      const stored = JSON.stringify(rows[0]);
      expect(stored).not.toContain(secret);
      expect(stored).not.toContain(key);
      expect(rows[0].secret_hash).toBe(createHash("sha256").update(secret).digest("base64url"));
    } finally {
      await client.end();
    }
  });

  it("with role user gets 403 naming the role on an admin operation", async () => {
    const { key } = await createKey("read-only", "user");
    const answer = await call("POST", "/products", { apiKey: key, body: product("Mug") });
    expect(answer.status).toBe(403);
    expect(answer.body.detail).toBe("This operation requires the role admin.");
  });
});

describe("roles and missing credentials at the gateway", () => {
  it("answers 403 naming the role to a user's token on a product admin operation", async () => {
    const answer = await call("POST", "/products", { token: userToken, body: product("Bowl") });
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({
      status: 403,
      title: "Forbidden",
      detail: "This operation requires the role admin.",
    });
  });

  it("answers 401 saying what is missing, with both challenges", async () => {
    const answer = await call("POST", "/products", { body: product("Plate") });
    expect(answer.status).toBe(401);
    expect(answer.body.detail).toBe("A valid bearer token or API key is required.");
    expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer realm="portico", ApiKey /);
  });
});

describe("rotating the users service's signing key", () => {
  it("makes the gateway and products accept the new key once they meet it, while the old key still works", async () => {
    const oldKid = decodeProtectedHeader(adminToken).kid;
    expect(
      (await call("POST", "/products", { token: adminToken, body: product("Jug") })).status,
    ).toBe(201);

    await system.stopProcess("users");
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "--conditions=portico-source", ROTATE_SCRIPT],
      { env: { ...process.env, DATABASE_URL: usersDatabase } },
    );
    const newKid = stdout.trim();
    await system.startProcess("users");

    // The gateway balances to the restarted instance again once its health checks pass.
    let newToken = "";
    for (const deadline = Date.now() + 20_000; !newToken; await delay(250)) {
      newToken = await signIn(ADMIN.email, ADMIN.password).catch((err: unknown) => {
        if (Date.now() > deadline) throw err;
        return "";
      });
    }
    expect(decodeProtectedHeader(newToken).kid).toBe(newKid);
    expect(newKid).not.toBe(oldKid);
    // The verifiers refetch an unknown kid at most once per 5 s cooldown: poll until accepted.
    let status = 0;
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; await delay(500)) {
      status = (await call("POST", "/products", { token: newToken, body: product("Vase") })).status;
      if (status === 201) break;
    }
    expect(status).toBe(201);
    expect(
      (await call("POST", "/products", { token: adminToken, body: product("Urn") })).status,
    ).toBe(201);
  }, 60_000);
});
