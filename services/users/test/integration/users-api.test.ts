/**
 * The users service over HTTP: registration, tokens, the signed-in user, admin-only reads, the
 * JWK Set — against a real database and real NATS.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { connectNats, createLogger, type NatsConnection } from "@portico/kit";
import { createRemoteJWKSet, jwtVerify } from "jose";
import pg from "pg";
import {
  createTestDatabase,
  dropTestDatabase,
  findEvent,
  type RunningUsers,
  register,
  request,
  startUsers,
  testConfig,
  tokenFor,
} from "./support.js";

const ADMIN = { email: "Root@Example.com", password: "root-password-1", name: "Root" };
const ADA = { email: "ada@example.com", password: "correct-horse-battery", name: "Ada Lovelace" };

let databaseUrl: string;
let users: RunningUsers;
let nc: NatsConnection;
let db: pg.Client;

beforeAll(async () => {
  databaseUrl = await createTestDatabase("users_api");
  users = await startUsers(
    testConfig(databaseUrl, { ADMIN_EMAILS: "ops@example.org, root@example.com" }),
  );
  nc = await connectNats(
    process.env.NATS_URL as string,
    "users-test",
    createLogger("test", "silent"),
  );
  db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await nc?.close();
  await users?.stop();
  if (databaseUrl) await dropTestDatabase(databaseUrl);
});

async function countUsers(email: string): Promise<number> {
  const result = await db.query(
    "select count(*)::int as n from users where lower(email) = lower($1)",
    [email],
  );
  return result.rows[0].n as number;
}

describe("POST /users (registerUser)", () => {
  it("creates a user, answers 201 with Location, and publishes users.user.registered", async () => {
    const response = await request(users.baseUrl, "POST", "/users", {
      body: ADA,
      headers: { "x-request-id": "register-ada" },
    });
    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      id: expect.stringMatching(
        /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      ),
      email: "ada@example.com",
      name: "Ada Lovelace",
      role: "user",
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    const id = response.body.id as string;
    expect(response.headers.get("location")).toBe(`/users/${id}`);

    const event = await findEvent(nc, "users.user.registered", id);
    expect(event?.envelope).toMatchObject({
      type: "users.user.registered",
      source: "users",
      subject: id,
      data: { userId: id, email: "ada@example.com", name: "Ada Lovelace", role: "user" },
    });
    expect(event?.requestId).toBe("register-ada");
  });

  it("stores the password as an Argon2id hash, never in clear", async () => {
    const result = await db.query("select password_hash from users where email = $1", [ADA.email]);
    expect(result.rows[0].password_hash).toMatch(/^\$argon2id\$/);
    expect(result.rows[0].password_hash).not.toContain(ADA.password);
  });

  it("makes a configured admin email an admin, whatever its case, and stores it lower-cased", async () => {
    const response = await register(users.baseUrl, ADMIN);
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ email: "root@example.com", role: "admin" });
  });

  it("refuses an email already registered in another case with 409 and adds no row", async () => {
    const response = await register(users.baseUrl, { ...ADA, email: "ADA@Example.COM" });
    expect(response.status).toBe(409);
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ status: 409, title: "Conflict" });
    expect(await countUsers(ADA.email)).toBe(1);
  });

  it("answers concurrent registrations of one email with one 201 and 409s", async () => {
    const same = { email: "race@example.com", password: "race-password-1", name: "Race" };
    const statuses = await Promise.all(
      [1, 2, 3].map(async () => (await register(users.baseUrl, same)).status),
    );
    expect(statuses.sort()).toEqual([201, 409, 409]);
    expect(await countUsers(same.email)).toBe(1);
  });

  it.each([
    ["a malformed email", { ...ADA, email: "not-an-email" }, "email"],
    ["an unknown property", { ...ADA, email: "x@example.com", isAdmin: true }, "isAdmin"],
    ["a missing field", { email: "y@example.com", name: "Y" }, "password"],
    ["a short password", { ...ADA, email: "z@example.com", password: "short" }, "password"],
    // Issue 9: PostgreSQL cannot store U+0000; this was a 500 before the kit's rule.
    ["U+0000 in the name", { ...ADA, email: "nul@example.com", name: "Ada\u0000" }, "name"],
  ])("rejects %s with 400 naming the field and stores nothing", async (_case, body, field) => {
    const response = await request(users.baseUrl, "POST", "/users", { body });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      status: 400,
      errors: expect.arrayContaining([expect.objectContaining({ location: "body", field })]),
    });
    expect(await countUsers((body as { email: string }).email)).toBe(0);
  });
});

describe("POST /auth/token (issueToken)", () => {
  const remoteJwks = () => createRemoteJWKSet(new URL(`${users.baseUrl}/.well-known/jwks.json`));

  it("issues a JSON-requested token that verifies against the served JWK Set", async () => {
    const response = await request(users.baseUrl, "POST", "/auth/token", {
      body: { grant_type: "password", username: "ADA@example.com", password: ADA.password },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.body).toMatchObject({ token_type: "Bearer", expires_in: 3600 });
    const { payload, protectedHeader } = await jwtVerify(
      response.body.access_token as string,
      remoteJwks(),
      { issuer: "portico", audience: "portico-api" },
    );
    expect(protectedHeader.alg).toBe("ES256");
    expect(payload).toMatchObject({ role: "user", email: "ada@example.com" });
    expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
    const me = await request(users.baseUrl, "GET", "/users/me", {
      token: response.body.access_token as string,
    });
    expect(payload.sub).toBe(me.body.id);
  });

  it("issues a token for a form-encoded request (RFC 6749 section 4.3.2)", async () => {
    const response = await request(users.baseUrl, "POST", "/auth/token", {
      body: new URLSearchParams({
        grant_type: "password",
        username: ADMIN.email,
        password: ADMIN.password,
      }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const { payload } = await jwtVerify(response.body.access_token as string, remoteJwks(), {
      issuer: "portico",
      audience: "portico-api",
    });
    expect(payload).toMatchObject({ role: "admin", email: "root@example.com" });
  });

  it("answers a wrong password and an unknown email with the same 401", async () => {
    const wrongPassword = await request(users.baseUrl, "POST", "/auth/token", {
      body: { grant_type: "password", username: ADA.email, password: "wrong-password" },
    });
    const unknownEmail = await request(users.baseUrl, "POST", "/auth/token", {
      body: { grant_type: "password", username: "nobody@example.com", password: "wrong-password" },
    });
    expect(wrongPassword.status).toBe(401);
    expect(unknownEmail.status).toBe(401);
    const { instance: _a, requestId: _b, ...first } = wrongPassword.body;
    const { instance: _c, requestId: _d, ...second } = unknownEmail.body;
    expect(first).toEqual(second);
    expect(first.detail).toBe("The email or password is incorrect.");
  });

  it("rejects another grant type with 400 naming grant_type", async () => {
    const response = await request(users.baseUrl, "POST", "/auth/token", {
      body: { grant_type: "client_credentials", username: ADA.email, password: ADA.password },
    });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: "grant_type" })]),
    );
  });
});

describe("GET /.well-known/jwks.json (getJwks)", () => {
  it("publishes the public ES256 key for caching, without its private part", async () => {
    const response = await request<{ keys: Record<string, unknown>[] }>(
      users.baseUrl,
      "GET",
      "/.well-known/jwks.json",
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("public, max-age=300");
    expect(response.body.keys).toHaveLength(1);
    expect(response.body.keys[0]).toMatchObject({
      kty: "EC",
      crv: "P-256",
      alg: "ES256",
      use: "sig",
      kid: expect.any(String),
    });
    expect(response.body.keys[0]).not.toHaveProperty("d");
  });
});

describe("GET /users/me (getCurrentUser)", () => {
  it("returns the token's user", async () => {
    const token = await tokenFor(users.baseUrl, ADA.email, ADA.password);
    const response = await request(users.baseUrl, "GET", "/users/me", { token });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      email: "ada@example.com",
      name: "Ada Lovelace",
      role: "user",
    });
  });

  it("answers 401 without a token or with a forged one", async () => {
    expect((await request(users.baseUrl, "GET", "/users/me")).status).toBe(401);
    const token = await tokenFor(users.baseUrl, ADA.email, ADA.password);
    const [header, payload] = token.split(".");
    const forged = `${header}.${payload}.${"A".repeat(86)}`;
    expect((await request(users.baseUrl, "GET", "/users/me", { token: forged })).status).toBe(401);
  });

  it("answers 404 when the token's account no longer exists", async () => {
    const gone = { email: "gone@example.com", password: "gone-password-1", name: "Gone" };
    await register(users.baseUrl, gone);
    const token = await tokenFor(users.baseUrl, gone.email, gone.password);
    await db.query("delete from users where email = $1", [gone.email]);
    const response = await request(users.baseUrl, "GET", "/users/me", { token });
    expect(response.status).toBe(404);
  });
});

describe("GET /users/{userId} (getUser)", () => {
  let adaId: string;
  let adaToken: string;
  let adminToken: string;

  beforeAll(async () => {
    adaToken = await tokenFor(users.baseUrl, ADA.email, ADA.password);
    adminToken = await tokenFor(users.baseUrl, ADMIN.email, ADMIN.password);
    adaId = (await request(users.baseUrl, "GET", "/users/me", { token: adaToken })).body
      .id as string;
  });

  it("forbids a user with 403", async () => {
    const response = await request(users.baseUrl, "GET", `/users/${adaId}`, { token: adaToken });
    expect(response.status).toBe(403);
    expect(response.body).toMatchObject({ status: 403 });
  });

  it("answers 401 without a token", async () => {
    expect((await request(users.baseUrl, "GET", `/users/${adaId}`)).status).toBe(401);
  });

  it("returns the user to an admin", async () => {
    const response = await request(users.baseUrl, "GET", `/users/${adaId}`, { token: adminToken });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: adaId, email: "ada@example.com", role: "user" });
    expect(response.body).not.toHaveProperty("password_hash");
  });

  it("answers 404 for an unknown id", async () => {
    const response = await request(
      users.baseUrl,
      "GET",
      "/users/0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10",
      { token: adminToken },
    );
    expect(response.status).toBe(404);
  });

  it("answers 400 naming userId for an id that is not a UUID", async () => {
    const response = await request(users.baseUrl, "GET", "/users/12345", { token: adminToken });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([
      expect.objectContaining({ location: "path", field: "userId" }),
    ]);
  });
});
