/**
 * Signing-key rotation: after `npm run rotate-signing-key` (stored keys) or a new JWT_PRIVATE_KEY
 * with the old one in JWT_PREVIOUS_PRIVATE_KEY, a restarted users service signs with the new key
 * and still publishes the previous one, so tokens issued before the rotation keep working.
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "@jest/globals";
import { createDatabase } from "@portico/kit";
import { decodeProtectedHeader } from "jose";
import { generateSigningKey } from "../../src/security/signing-key.js";
import type { UsersDatabase } from "../../src/store/schema.js";
import { addStoredSigningKey } from "../../src/store/signing-keys.js";
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
const ROTATE_SCRIPT = resolve(import.meta.dirname, "../../src/rotate-signing-key.ts");

const databases: string[] = [];
const running: RunningUsers[] = [];

afterAll(async () => {
  for (const users of running) await users.stop();
  for (const url of databases) await dropTestDatabase(url);
});

async function start(databaseUrl: string, env: Record<string, string> = {}): Promise<RunningUsers> {
  const users = await startUsers(testConfig(databaseUrl, env), { waitForNats: false });
  running.push(users);
  return users;
}

/** Runs the rotation command as an operator would; resolves to the `kid` it prints. */
async function rotate(databaseUrl: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", "--conditions=portico-source", ROTATE_SCRIPT],
    { env: { ...process.env, DATABASE_URL: databaseUrl } },
  );
  return stdout.trim();
}

async function publishedKids(users: RunningUsers): Promise<string[]> {
  const jwks = await request<{ keys: { kid: string }[] }>(
    users.baseUrl,
    "GET",
    "/.well-known/jwks.json",
  );
  return jwks.body.keys.map((key) => key.kid);
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid;

describe("rotating the stored signing key", () => {
  it("signs with the new key after a restart and keeps the tokens of the previous one valid", async () => {
    const databaseUrl = await createTestDatabase("users_rotation");
    databases.push(databaseUrl);
    const before = await start(databaseUrl);
    await register(before.baseUrl, ADA);
    const oldToken = await tokenFor(before.baseUrl, ADA.email, ADA.password);
    const [oldKid] = await publishedKids(before);
    await before.stop();

    const newKid = await rotate(databaseUrl);
    expect(newKid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newKid).not.toBe(oldKid);

    const after = await start(databaseUrl);
    expect(await publishedKids(after)).toEqual([newKid, oldKid]);
    const newToken = await tokenFor(after.baseUrl, ADA.email, ADA.password);
    expect(kidOf(newToken)).toBe(newKid);
    expect((await request(after.baseUrl, "GET", "/users/me", { token: oldToken })).status).toBe(
      200,
    );
    expect((await request(after.baseUrl, "GET", "/users/me", { token: newToken })).status).toBe(
      200,
    );
    await after.stop();

    // A second rotation (here straight through the store) retires the first key.
    const newest = await generateSigningKey();
    const db = createDatabase<UsersDatabase>(databaseUrl, 1);
    await addStoredSigningKey(db, newest).finally(() => db.destroy());
    const newestKid = newest.kid;
    const latest = await start(databaseUrl);
    expect(await publishedKids(latest)).toEqual([newestKid, newKid]);
    expect((await request(latest.baseUrl, "GET", "/users/me", { token: oldToken })).status).toBe(
      401,
    );
    expect((await request(latest.baseUrl, "GET", "/users/me", { token: newToken })).status).toBe(
      200,
    );
  }, 90_000);
});

describe("rotating a configured signing key", () => {
  const pem = () =>
    generateKeyPairSync("ec", { namedCurve: "prime256v1" })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();

  it("publishes JWT_PREVIOUS_PRIVATE_KEY's public half so its tokens verify", async () => {
    const databaseUrl = await createTestDatabase("users_rotation_pem");
    databases.push(databaseUrl);
    const [oldPem, newPem] = [pem(), pem()];
    const before = await start(databaseUrl, { JWT_PRIVATE_KEY: oldPem });
    await register(before.baseUrl, ADA);
    const oldToken = await tokenFor(before.baseUrl, ADA.email, ADA.password);
    const [oldKid] = await publishedKids(before);
    await before.stop();

    const after = await start(databaseUrl, {
      JWT_PRIVATE_KEY: newPem,
      JWT_PREVIOUS_PRIVATE_KEY: oldPem,
    });
    const kids = await publishedKids(after);
    expect(kids).toHaveLength(2);
    expect(kids[1]).toBe(oldKid);
    const newToken = await tokenFor(after.baseUrl, ADA.email, ADA.password);
    expect(kidOf(newToken)).toBe(kids[0]);
    expect((await request(after.baseUrl, "GET", "/users/me", { token: oldToken })).status).toBe(
      200,
    );
  }, 60_000);
});
