/**
 * Without JWT_PRIVATE_KEY the signing key lives in the database: instances starting together on
 * one database agree on one key, and tokens survive a restart.
 */
import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createLocalJWKSet, jwtVerify } from "jose";
import pg from "pg";
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

const ADA = { email: "ada@example.com", password: "correct-horse-battery", name: "Ada Lovelace" };
const verifyOptions = { issuer: "portico", audience: "portico-api" };

const databases: string[] = [];
const running: RunningUsers[] = [];

async function freshDatabase(prefix: string): Promise<string> {
  const url = await createTestDatabase(prefix);
  databases.push(url);
  return url;
}

async function start(databaseUrl: string, env: Record<string, string> = {}): Promise<RunningUsers> {
  const users = await startUsers(testConfig(databaseUrl, env));
  running.push(users);
  return users;
}

async function storedKids(databaseUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query("select kid from signing_keys")).rows.map((r) => r.kid as string);
  } finally {
    await client.end();
  }
}

afterAll(async () => {
  for (const users of running) await users.stop();
  for (const url of databases) await dropTestDatabase(url);
});

describe("the stored signing key", () => {
  let databaseUrl: string;
  let first: RunningUsers;
  let second: RunningUsers;

  beforeAll(async () => {
    databaseUrl = await freshDatabase("users_keys");
    // Both start at once on an empty database: the advisory lock lets exactly one create the key.
    [first, second] = await Promise.all([start(databaseUrl), start(databaseUrl)]);
    expect((await register(first.baseUrl, ADA)).status).toBe(201);
  });

  it("is created once and shared by instances that start together", async () => {
    expect(await storedKids(databaseUrl)).toHaveLength(1);
    expect(second.service.jwks).toEqual(first.service.jwks);
  });

  it("signs the second instance's tokens so that the first's JWK Set verifies them", async () => {
    const token = await tokenFor(second.baseUrl, ADA.email, ADA.password);
    const firstJwks = await request(first.baseUrl, "GET", "/.well-known/jwks.json");
    const { payload } = await jwtVerify(
      token,
      createLocalJWKSet(firstJwks.body as never),
      verifyOptions,
    );
    expect(payload.email).toBe("ada@example.com");
    expect((await request(first.baseUrl, "GET", "/users/me", { token })).status).toBe(200);
  });

  it("survives a restart: a token issued before is accepted after", async () => {
    const token = await tokenFor(first.baseUrl, ADA.email, ADA.password);
    await first.stop();
    await second.stop();
    const restarted = await start(databaseUrl);
    const me = await request(restarted.baseUrl, "GET", "/users/me", { token });
    expect(me.status).toBe(200);
    expect(me.body.email).toBe("ada@example.com");
    expect(await storedKids(databaseUrl)).toHaveLength(1);
  });
});

describe("a configured JWT_PRIVATE_KEY", () => {
  it("signs the tokens and leaves the database without a stored key", async () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const databaseUrl = await freshDatabase("users_pem");
    const users = await start(databaseUrl, { JWT_PRIVATE_KEY: pem });
    expect((await register(users.baseUrl, ADA)).status).toBe(201);
    const token = await tokenFor(users.baseUrl, ADA.email, ADA.password);
    const { protectedHeader } = await jwtVerify(
      token,
      createLocalJWKSet(users.service.jwks),
      verifyOptions,
    );
    expect(protectedHeader.kid).toBe(users.service.jwks.keys[0]?.kid);
    expect(await storedKids(databaseUrl)).toEqual([]);
  });
});
