/**
 * The subscription operations through the real app: real PostgreSQL, real NATS, and a stand-in
 * for the products service's `products.query.getProduct` responder.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { NotificationsApi, QueryReply } from "@portico/contracts";
import { createLogger, type NatsConnection, type ProblemBody } from "@portico/kit";
import { v7 as uuidv7 } from "uuid";
import { createService } from "../../src/app.js";
import { natsLookups } from "../../src/queries.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { client, serve, type TestServer } from "../support/http.js";
import { type OwnNats, startOwnNats } from "../support/own-nats.js";
import { type StandIn, standInProducts } from "../support/stand-ins.js";
import { createTestIssuer, type TestIssuer } from "../support/tokens.js";

type Subscription = NotificationsApi.components["schemas"]["Subscription"];
type SubscriptionPage = NotificationsApi.components["schemas"]["SubscriptionPage"];

const products = new Map<string, QueryReply<"products.query.getProduct">>(
  ["Espresso cup", "Milk jug", "Tamper", "Grinder"].map((name) => {
    const id = uuidv7();
    return [id, { id, name, stock: 0 }] as const;
  }),
);
const [espresso, jug, tamper, grinder] = [...products.keys()] as [string, string, string, string];
/** A product the products service says does not exist. */
const discontinued = uuidv7();
products.set(discontinued, null);

let database: TestDatabase;
let ownNats: OwnNats;
let nc: NatsConnection;
let productsStandIn: StandIn;
let server: TestServer;
let issuer: TestIssuer;
let api: ReturnType<typeof client>;
const alice = randomUUID();
const bob = randomUUID();
let aliceToken: string;
let bobToken: string;

beforeAll(async () => {
  database = await createTestDatabase("notifications_subscriptions");
  const log = createLogger("notifications-test", "silent");
  ownNats = await startOwnNats("notifications-subscriptions", log);
  nc = ownNats.nc;
  productsStandIn = await standInProducts(nc, products);
  issuer = await createTestIssuer();
  const app = createService({
    db: database.db,
    lookups: natsLookups(nc, 1_000),
    verifyToken: issuer.verifyToken,
    logger: log,
    validateResponses: true,
    readiness: {},
  });
  server = await serve(app);
  api = client(server.baseUrl);
  aliceToken = await issuer.tokenFor({ userId: alice });
  bobToken = await issuer.tokenFor({ userId: bob });
});

afterAll(async () => {
  await server?.close();
  await productsStandIn?.stop();
  await ownNats?.stop();
  await database?.drop();
});

async function subscriptionsOf(token: string): Promise<Subscription[]> {
  const res = await api<SubscriptionPage>("GET", "/subscriptions?limit=100", { token });
  expect(res.status).toBe(200);
  return res.body.items;
}

describe("subscribeBackInStock", () => {
  it("creates the subscription (201) and lists it", async () => {
    const res = await api<Subscription>("POST", "/subscriptions", {
      token: aliceToken,
      body: { productId: espresso },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      productId: espresso,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    expect(await subscriptionsOf(aliceToken)).toEqual([res.body]);
  });

  it("answers 409 to a second subscription to the same product and keeps one", async () => {
    const res = await api<ProblemBody>("POST", "/subscriptions", {
      token: aliceToken,
      body: { productId: espresso },
    });
    expect(res.status).toBe(409);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(res.body.status).toBe(409);
    expect(await subscriptionsOf(aliceToken)).toHaveLength(1);
  });

  it("answers 422 naming productId for a product that does not exist, and stores nothing", async () => {
    const res = await api<ProblemBody>("POST", "/subscriptions", {
      token: aliceToken,
      body: { productId: discontinued },
    });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ location: "body", field: "productId" }),
    ]);
    expect(await subscriptionsOf(aliceToken)).toHaveLength(1);
  });

  it("answers 400 naming productId when it is not a UUID", async () => {
    const res = await api<ProblemBody>("POST", "/subscriptions", {
      token: aliceToken,
      body: { productId: "espresso-cup" },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ location: "body", field: "productId" }),
    ]);
  });

  it("answers 400 naming the unknown field of a body with extra properties", async () => {
    const res = await api<ProblemBody>("POST", "/subscriptions", {
      token: aliceToken,
      body: { productId: jug, email: "ada@example.com" },
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.errors)).toContain("email");
  });

  it("answers 401 with a Bearer challenge without a token, or with a forged one", async () => {
    const anonymous = await api<ProblemBody>("POST", "/subscriptions", {
      body: { productId: jug },
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer/);

    const forged = await (await createTestIssuer()).tokenFor({ userId: alice });
    const res = await api<ProblemBody>("GET", "/subscriptions", { token: forged });
    expect(res.status).toBe(401);
  });

  it("answers 503 when the products service does not answer, and stores nothing", async () => {
    await productsStandIn.stop();
    try {
      const res = await api<ProblemBody>("POST", "/subscriptions", {
        token: aliceToken,
        body: { productId: jug },
      });
      expect(res.status).toBe(503);
      expect(res.body.detail).toMatch(/products/i);
      expect(await subscriptionsOf(aliceToken)).toHaveLength(1);
    } finally {
      productsStandIn = await standInProducts(nc, products);
    }
  });
});

describe("listSubscriptions", () => {
  it("pages newest first with a cursor, without overlap", async () => {
    for (const productId of [jug, tamper, grinder]) {
      const res = await api("POST", "/subscriptions", { token: aliceToken, body: { productId } });
      expect(res.status).toBe(201);
    }
    const first = await api<SubscriptionPage>("GET", "/subscriptions?limit=3", {
      token: aliceToken,
    });
    expect(first.status).toBe(200);
    expect(first.body.items.map((s) => s.productId)).toEqual([grinder, tamper, jug]);
    expect(first.body.nextCursor).toEqual(expect.any(String));

    const second = await api<SubscriptionPage>(
      "GET",
      `/subscriptions?limit=3&cursor=${first.body.nextCursor}`,
      { token: aliceToken },
    );
    expect(second.body.items.map((s) => s.productId)).toEqual([espresso]);
    expect(second.body.nextCursor).toBeNull();
  });

  it("answers 400 naming cursor for a cursor it did not issue", async () => {
    const madeUp = Buffer.from(JSON.stringify([new Date().toISOString(), "not-a-uuid"])).toString(
      "base64url",
    );
    for (const cursor of [madeUp, "bm90LWpzb24"]) {
      const res = await api<ProblemBody>("GET", `/subscriptions?cursor=${cursor}`, {
        token: aliceToken,
      });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([
        expect.objectContaining({ location: "query", field: "cursor" }),
      ]);
    }
  });

  it("answers 400 naming limit when it is out of range", async () => {
    const res = await api<ProblemBody>("GET", "/subscriptions?limit=500", { token: aliceToken });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ location: "query", field: "limit" }),
    ]);
  });

  it("shows each user only their own subscriptions", async () => {
    const res = await api<Subscription>("POST", "/subscriptions", {
      token: bobToken,
      body: { productId: espresso },
    });
    expect(res.status).toBe(201);
    expect(await subscriptionsOf(bobToken)).toEqual([res.body]);
    const ofAlice = await subscriptionsOf(aliceToken);
    expect(ofAlice).toHaveLength(4);
    expect(ofAlice.map((s) => s.id)).not.toContain(res.body.id);
  });
});

describe("deleteSubscription", () => {
  it("answers 404 for another user's subscription and leaves it in place", async () => {
    const [ofAlice] = await subscriptionsOf(aliceToken);
    const res = await api<ProblemBody>("DELETE", `/subscriptions/${ofAlice?.id}`, {
      token: bobToken,
    });
    expect(res.status).toBe(404);
    expect((await subscriptionsOf(aliceToken)).map((s) => s.id)).toContain(ofAlice?.id);
  });

  it("deletes the caller's subscription (204), then answers 404", async () => {
    const [ofBob] = await subscriptionsOf(bobToken);
    const deleted = await api("DELETE", `/subscriptions/${ofBob?.id}`, { token: bobToken });
    expect(deleted.status).toBe(204);
    expect(await subscriptionsOf(bobToken)).toEqual([]);
    const again = await api<ProblemBody>("DELETE", `/subscriptions/${ofBob?.id}`, {
      token: bobToken,
    });
    expect(again.status).toBe(404);
  });

  it("answers 400 naming subscriptionId when it is not a UUID", async () => {
    const res = await api<ProblemBody>("DELETE", "/subscriptions/42", { token: bobToken });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ location: "path", field: "subscriptionId" }),
    ]);
  });
});
