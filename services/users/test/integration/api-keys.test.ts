/**
 * Service-account API keys in the users service: created, listed and revoked by administrators
 * over HTTP, kept as hashes at rest, accepted where the contract lists `apiKeyAuth`, and answered
 * by the `users.query.verifyApiKey` handler — against a real database.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createDatabase, type Kysely } from "@portico/kit";
import pg from "pg";
import { userQueryHandlers } from "../../src/queries.js";
import type { UsersDatabase } from "../../src/store/schema.js";
import {
  createTestDatabase,
  dropTestDatabase,
  type RunningUsers,
  register,
  request,
  startUsers,
  testConfig,
  tokenFor,
} from "./support.js";

const ADMIN = { email: "root@example.com", password: "root-password-1", name: "Root" };
const ADA = { email: "ada@example.com", password: "correct-horse-battery", name: "Ada Lovelace" };

interface CreatedKey {
  id: string;
  name: string;
  role: string;
  prefix: string;
  createdAt: string;
  createdBy: string;
  key: string;
}

let databaseUrl: string;
let users: RunningUsers;
let client: pg.Client;
let db: Kysely<UsersDatabase>;
let adminToken: string;
let adminId: string;
let userToken: string;
let adaId: string;

beforeAll(async () => {
  databaseUrl = await createTestDatabase("users_api_keys");
  users = await startUsers(testConfig(databaseUrl, { ADMIN_EMAILS: ADMIN.email }), {
    waitForNats: false,
  });
  adminId = (await register(users.baseUrl, ADMIN)).body.id as string;
  adaId = (await register(users.baseUrl, ADA)).body.id as string;
  adminToken = await tokenFor(users.baseUrl, ADMIN.email, ADMIN.password);
  userToken = await tokenFor(users.baseUrl, ADA.email, ADA.password);
  client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  db = createDatabase<UsersDatabase>(databaseUrl, 2);
});

afterAll(async () => {
  await db?.destroy();
  await client?.end();
  await users?.stop();
  if (databaseUrl) await dropTestDatabase(databaseUrl);
});

async function createKey(name: string, role = "admin"): Promise<CreatedKey> {
  const res = await request<CreatedKey>(users.baseUrl, "POST", "/api-keys", {
    token: adminToken,
    body: { name, role },
  });
  if (res.status !== 201) throw new Error(`createApiKey answered ${res.status}`);
  return res.body;
}

describe("POST /api-keys (createApiKey)", () => {
  it("answers 201 with the key, once, and Cache-Control: no-store", async () => {
    const res = await request<CreatedKey>(users.baseUrl, "POST", "/api-keys", {
      token: adminToken,
      body: { name: "stock-sync", role: "admin" },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.body).toEqual({
      id: expect.any(String),
      name: "stock-sync",
      role: "admin",
      prefix: expect.stringMatching(/^psk_[0-9a-f]{16}$/),
      createdAt: expect.any(String),
      createdBy: adminId,
      key: expect.stringMatching(/^psk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/),
    });
    expect(res.body.key.startsWith(`${res.body.prefix}_`)).toBe(true);
  });

  it("keeps only the SHA-256 of the secret: no column holds the key or its secret", async () => {
    const created = await createKey("hashed");
    const secret = created.key.slice(created.prefix.length + 1);
    const { rows } = await client.query("select * from api_keys where id = $1", [created.id]);
    const stored = JSON.stringify(rows[0]);
    expect(rows).toHaveLength(1);
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(created.key);
    expect(rows[0].secret_hash).toBe(createHash("sha256").update(secret).digest("base64url"));
  });

  it("is refused to a user (403) and to an anonymous caller (401), and stores nothing", async () => {
    const before = (await client.query("select count(*)::int as n from api_keys")).rows[0].n;
    const asUser = await request(users.baseUrl, "POST", "/api-keys", {
      token: userToken,
      body: { name: "sneaky", role: "admin" },
    });
    const anonymous = await request(users.baseUrl, "POST", "/api-keys", {
      body: { name: "sneaky", role: "admin" },
    });
    expect(asUser.status).toBe(403);
    expect(asUser.body.detail).toBe("This operation requires the role admin.");
    expect(anonymous.status).toBe(401);
    const after = (await client.query("select count(*)::int as n from api_keys")).rows[0].n;
    expect(after).toBe(before);
  });

  it("cannot be created with an API key (only a signed-in administrator may)", async () => {
    const created = await createKey("no-minting");
    const res = await request(users.baseUrl, "POST", "/api-keys", {
      headers: { "x-api-key": created.key },
      body: { name: "minted", role: "admin" },
    });
    expect(res.status).toBe(401);
  });

  it("answers 400 naming the field for an unknown role or an empty name", async () => {
    const res = await request<{ errors: { field: string }[] }>(users.baseUrl, "POST", "/api-keys", {
      token: adminToken,
      body: { name: "", role: "root" },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e) => e.field).sort()).toEqual(["name", "role"]);
  });

  it("answers 400 for a name with a control character (PostgreSQL cannot store NUL)", async () => {
    const res = await request<{ errors: { field: string }[] }>(users.baseUrl, "POST", "/api-keys", {
      token: adminToken,
      body: { name: "a\u0000b", role: "admin" },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e) => e.field)).toEqual(["name"]);
  });
});

describe("GET /api-keys (listApiKeys)", () => {
  it("lists the keys newest first without the key, paginated", async () => {
    const first = await createKey("page-1");
    const second = await createKey("page-2");
    const page = await request<{ items: Record<string, unknown>[]; nextCursor: string | null }>(
      users.baseUrl,
      "GET",
      "/api-keys?limit=1",
      { token: adminToken },
    );
    expect(page.status).toBe(200);
    expect(page.body.items).toEqual([
      {
        id: second.id,
        name: "page-2",
        role: "admin",
        prefix: second.prefix,
        createdAt: second.createdAt,
        createdBy: adminId,
      },
    ]);
    expect(page.body.nextCursor).toEqual(expect.any(String));
    const next = await request<{ items: { id: string }[] }>(
      users.baseUrl,
      "GET",
      `/api-keys?limit=1&cursor=${page.body.nextCursor}`,
      { token: adminToken },
    );
    expect(next.body.items.map((item) => item.id)).toEqual([first.id]);
  });

  it("is refused to a user", async () => {
    expect((await request(users.baseUrl, "GET", "/api-keys", { token: userToken })).status).toBe(
      403,
    );
  });
});

describe("using and revoking a key", () => {
  it("lets an admin key read a user, until it is revoked (then 401 at once, 404 again)", async () => {
    const created = await createKey("reader");
    const headers = { "x-api-key": created.key };
    const read = await request(users.baseUrl, "GET", `/users/${adaId}`, { headers });
    expect(read.status).toBe(200);
    expect(read.body.email).toBe(ADA.email);

    const revoked = await request(users.baseUrl, "DELETE", `/api-keys/${created.id}`, {
      token: adminToken,
    });
    expect(revoked.status).toBe(204);
    const after = await request(users.baseUrl, "GET", `/users/${adaId}`, { headers });
    expect(after.status).toBe(401);
    expect(after.body.detail).toBe("A valid bearer token or API key is required.");
    expect(
      (await request(users.baseUrl, "DELETE", `/api-keys/${created.id}`, { token: adminToken }))
        .status,
    ).toBe(404);
    const listed = await request<{ items: { id: string }[] }>(users.baseUrl, "GET", "/api-keys", {
      token: adminToken,
    });
    expect(listed.body.items.map((item) => item.id)).not.toContain(created.id);
  });

  it("answers 403 for a key whose role is user on an admin operation", async () => {
    const created = await createKey("weak", "user");
    const res = await request(users.baseUrl, "GET", `/users/${adaId}`, {
      headers: { "x-api-key": created.key },
    });
    expect(res.status).toBe(403);
    expect(res.body.detail).toBe("This operation requires the role admin.");
  });

  it("answers 401 for a key with a wrong secret", async () => {
    const created = await createKey("tampered");
    const wrong = `${created.prefix}_${"A".repeat(43)}`;
    const res = await request(users.baseUrl, "GET", `/users/${adaId}`, {
      headers: { "x-api-key": wrong },
    });
    expect(res.status).toBe(401);
  });
});

describe("users.query.verifyApiKey", () => {
  const verify = (apiKey: unknown) =>
    (userQueryHandlers(db)["users.query.verifyApiKey"] as (r: unknown) => Promise<unknown>)({
      apiKey,
    });

  it("answers the id, name and role of a valid key", async () => {
    const created = await createKey("queried", "user");
    expect(await verify(created.key)).toEqual({
      apiKeyId: created.id,
      name: "queried",
      role: "user",
    });
  });

  it("answers null for a revoked, a wrong, a malformed or a missing key", async () => {
    const created = await createKey("gone");
    await request(users.baseUrl, "DELETE", `/api-keys/${created.id}`, { token: adminToken });
    expect(await verify(created.key)).toBeNull();
    expect(await verify(`${created.prefix}_${"B".repeat(43)}`)).toBeNull();
    expect(await verify("not a key")).toBeNull();
    expect(await verify(42)).toBeNull();
  });
});
