/** `users.query.getUserContact` answered over real NATS by a running users service. */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { connectNats, createLogger, type NatsConnection, query } from "@portico/kit";
import {
  createTestDatabase,
  dropTestDatabase,
  type RunningUsers,
  register,
  startUsers,
  testConfig,
} from "./support.js";

let databaseUrl: string;
let users: RunningUsers;
let nc: NatsConnection;
let userId: string;

beforeAll(async () => {
  databaseUrl = await createTestDatabase("users_queries");
  users = await startUsers(testConfig(databaseUrl));
  nc = await connectNats(
    process.env.NATS_URL as string,
    "users-test",
    createLogger("test", "silent"),
  );
  const created = await register(users.baseUrl, {
    email: "Grace@Example.com",
    password: "grace-password-1",
    name: "Grace Hopper",
  });
  userId = created.body.id as string;
});

afterAll(async () => {
  await nc?.close();
  await users?.stop();
  if (databaseUrl) await dropTestDatabase(databaseUrl);
});

/**
 * Asks until an instance that knows the user answers. Test files run in parallel on one NATS
 * server, and every running users instance (each on its own test database) joins the same queue
 * group, so a single request may reach an instance that has never seen this user.
 */
async function askUntilKnown(id: string, attempts = 30) {
  const replies = [];
  for (let i = 0; i < attempts; i++) {
    const reply = await query(nc, "users.query.getUserContact", { userId: id });
    replies.push(reply);
    if (reply !== null) break;
  }
  return replies;
}

describe("users.query.getUserContact", () => {
  it("answers with the contact of a known user", async () => {
    const replies = await askUntilKnown(userId);
    expect(replies.at(-1)).toEqual({
      id: userId,
      email: "grace@example.com",
      name: "Grace Hopper",
    });
  });

  it("answers null for an unknown user", async () => {
    const reply = await query(nc, "users.query.getUserContact", {
      userId: "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10",
    });
    expect(reply).toBeNull();
  });

  it("answers null for an id that is not a UUID", async () => {
    expect(await query(nc, "users.query.getUserContact", { userId: "42" })).toBeNull();
  });

  it("is discoverable as the NATS service `users`", async () => {
    const reply = await nc.request("$SRV.INFO.users", "", { timeout: 2_000 });
    const info = reply.json<{ name: string; endpoints: { subject: string }[] }>();
    expect(info.name).toBe("users");
    expect(info.endpoints.map((e) => e.subject)).toContain("users.query.getUserContact");
  });
});
