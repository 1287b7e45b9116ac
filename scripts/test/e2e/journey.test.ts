/**
 * End to end: the whole system as separate processes (as `npm start` runs it), driven through
 * @portico/client and plain HTTP. The demo journey, every step asserted, then the bad-input cases.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createPorticoClient, type PorticoClient, unwrap } from "@portico/client";
import { type JourneyResult, runJourney } from "../../src/demo/journey.js";
import { startTestSystem, type TestSystem } from "../../src/testing/system.js";

let system: TestSystem;
let journey: JourneyResult;
let admin: PorticoClient;
let customer: PorticoClient;
const adminPassword = "an-admin-password";

beforeAll(async () => {
  system = await startTestSystem("e2e-journey");
  journey = await runJourney({
    gatewayUrl: system.urls.gateway,
    mailApiUrl: system.urls.mailApi,
    adminEmail: system.adminEmail,
    adminPassword,
    timeoutMs: 20_000,
  });
  admin = createPorticoClient({ baseUrl: system.urls.gateway });
  await admin.signIn(system.adminEmail, adminPassword);
  customer = createPorticoClient({ baseUrl: system.urls.gateway });
  const email = `second-${Date.now()}@example.com`;
  await unwrap(
    customer.POST("/users", { body: { email, password: "second-password", name: "Bo" } }),
  );
  await customer.signIn(email, "second-password");
}, 120_000);

afterAll(async () => {
  await system?.stop();
}, 60_000);

/** Sends a raw request through the gateway and returns status, content type and parsed body. */
async function send(
  method: string,
  path: string,
  init: { body?: string; token?: string; type?: string } = {},
) {
  const response = await fetch(`${system.urls.gateway}${path}`, {
    method,
    headers: {
      ...(init.body !== undefined ? { "Content-Type": init.type ?? "application/json" } : {}),
      ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}),
    },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get("content-type") ?? "",
    text,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
  };
}

async function productCount(): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  do {
    const page = await unwrap(
      admin.GET("/products", { params: { query: { limit: 100, ...(cursor ? { cursor } : {}) } } }),
    );
    count += page.items.length;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return count;
}

describe("the demo journey", () => {
  it("registers the configured administrator with role admin and a customer with role user", () => {
    expect(journey.admin.email).toBe(system.adminEmail);
    expect(journey.admin.role).toBe("admin");
    expect(journey.customer.role).toBe("user");
  });

  it("creates a product with stock 0 and restocks it", () => {
    expect(journey.product.stock).toBe(0);
    expect(journey.product.price).toEqual({ amount: 1299, currency: "EUR" });
    expect(journey.restocked.id).toBe(journey.product.id);
    expect(journey.restocked.stock).toBe(25);
  });

  it("subscribes the customer to the product", () => {
    expect(journey.subscription.productId).toBe(journey.product.id);
  });

  it("delivers exactly one back-in-stock notification to the customer's inbox", async () => {
    expect(journey.notification.type).toBe("back_in_stock");
    expect(journey.notification.productId).toBe(journey.product.id);
    expect(journey.notification.readAt).toBeNull();
    const customerClient = createPorticoClient({ baseUrl: system.urls.gateway });
    await customerClient.signIn(journey.customer.email, "a-customer-password");
    const inbox = await unwrap(customerClient.GET("/notifications"));
    expect(inbox.items.filter((n) => n.productId === journey.product.id)).toHaveLength(1);
  });

  it("streams that notification live to the customer (GET /events) as it is created", () => {
    expect(journey.live.notification).toEqual(journey.notification);
    expect(journey.live.eventId).toMatch(/^[1-9][0-9]*$/);
    expect(journey.live.latencyMs).toBeGreaterThanOrEqual(0);
    expect(journey.live.latencyMs).toBeLessThan(20_000);
  });

  it("sends the email through SMTP", async () => {
    expect(journey.email.to).toBe(journey.customer.email);
    expect(journey.email.subject).toContain(journey.product.name);
    const response = await fetch(`${system.urls.mailApi}/api/v1/messages`);
    const { messages } = (await response.json()) as { messages: { To: { Address: string }[] }[] };
    expect(
      messages.filter((m) => m.To.some((t) => t.Address === journey.customer.email)),
    ).toHaveLength(1);
  });

  it("has the ML service score the customer's review, and the product keep its average", () => {
    expect(journey.review.author.userId).toBe(journey.customer.id);
    expect(journey.review.sentiment).toEqual({
      compound: expect.any(Number),
      label: "positive",
      model: { name: "vader", version: "3.3.2" },
      scoredAt: expect.any(String),
    });
    expect(journey.reviewed.reviewCount).toBe(1);
    expect(journey.reviewed.averageSentiment).toBe(journey.review.sentiment?.compound);
  });

  it("has the gateway reject an invalid body with a 400 Problem naming the fields", () => {
    expect(journey.badRequest.status).toBe(400);
    const fields = (journey.badRequest.problem.errors ?? []).map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(["name", "price.amount", "price.currency"]));
  });
});

describe("bad input through the gateway", () => {
  it("answers malformed JSON with a 400 Problem naming the body", async () => {
    const r = await send("POST", "/users", { body: '{"email": "x@example.com",' });
    expect(r.status).toBe(400);
    expect(r.type).toContain("application/problem+json");
    expect(r.body?.errors).toEqual([expect.objectContaining({ location: "body" })]);
  });

  it.each([
    ["a missing field", { email: "m@example.com", password: "long-enough-pw" }, "name"],
    [
      "a wrongly typed field",
      { email: "t@example.com", password: "long-enough-pw", name: 42 },
      "name",
    ],
    [
      "an unknown property",
      { email: "u@example.com", password: "long-enough-pw", name: "U", admin: true },
      "admin",
    ],
    [
      "a malformed email",
      { email: "not-an-email", password: "long-enough-pw", name: "E" },
      "email",
    ],
  ])(
    "answers %s with a 400 Problem naming it, and registers no one",
    async (_case, body, field) => {
      const r = await send("POST", "/users", { body: JSON.stringify(body) });
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.body?.errors)).toContain(field);
      const signIn = await send("POST", "/auth/token", {
        body: JSON.stringify({
          grant_type: "password",
          username: body.email,
          password: body.password,
        }),
      });
      expect([400, 401]).toContain(signIn.status); // 400 when the username is not an email
    },
  );

  it("answers a bad id format with a 400 Problem naming the path parameter", async () => {
    const r = await send("GET", "/products/not-a-uuid");
    expect(r.status).toBe(400);
    expect(r.body?.errors).toEqual([
      expect.objectContaining({ location: "path", field: "productId" }),
    ]);
  });

  it("answers an unknown route with 404 and a wrong method with 405, both Problems", async () => {
    const notFound = await send("GET", "/no-such-thing");
    expect(notFound.status).toBe(404);
    expect(notFound.type).toContain("application/problem+json");
    const wrongMethod = await send("DELETE", "/products");
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.type).toContain("application/problem+json");
  });

  it("answers a missing or invalid token with 401 and creates nothing", async () => {
    const before = await productCount();
    const body = JSON.stringify({ name: "Nope", price: { amount: 1, currency: "EUR" } });
    expect((await send("POST", "/products", { body })).status).toBe(401);
    expect((await send("POST", "/products", { body, token: "not.a.jwt" })).status).toBe(401);
    expect(await productCount()).toBe(before);
  });

  it("answers a customer calling an admin operation with 403 and changes nothing", async () => {
    const r = await customer.PUT("/products/{productId}/stock", {
      params: { path: { productId: journey.product.id } },
      body: { quantity: 0 },
    });
    expect(r.response.status).toBe(403);
    const product = await unwrap(
      admin.GET("/products/{productId}", { params: { path: { productId: journey.product.id } } }),
    );
    expect(product.stock).toBe(25);
  });

  it("answers an email already registered (in another case) with 409", async () => {
    const r = await send("POST", "/users", {
      body: JSON.stringify({
        email: journey.customer.email.toUpperCase(),
        password: "long-enough-pw",
        name: "Dup",
      }),
    });
    expect(r.status).toBe(409);
    expect(r.type).toContain("application/problem+json");
  });

  it("never answers a client mistake with a 5xx or a stack trace", async () => {
    const probes = [
      await send("POST", "/products", { body: "[]", token: admin.token }),
      await send("POST", "/products", { body: "null", token: admin.token }),
      await send("PATCH", `/products/${journey.product.id}`, { body: "{}", token: admin.token }),
      await send("GET", "/products?limit=0"),
      await send("GET", "/products?cursor=%%%"),
      await send("GET", "/products?cursor=bm90LWEtY3Vyc29y"),
      await send("POST", "/subscriptions", {
        body: '{"productId":"0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10"}',
        token: customer.token,
      }),
      await send("POST", "/auth/token", {
        body: "grant_type=password&username=x",
        type: "application/x-www-form-urlencoded",
      }),
      await send("POST", "/users", { body: "<xml/>", type: "application/xml" }),
    ];
    for (const probe of probes) {
      expect([probe.status, probe.text]).toEqual([
        expect.any(Number),
        expect.not.stringMatching(/\n\s+at /),
      ]);
      expect(probe.status).toBeGreaterThanOrEqual(400);
      expect(probe.status).toBeLessThan(500);
      expect(probe.type).toContain("application/problem+json");
    }
  });
});

describe("defence in depth", () => {
  it("has each service refuse an unauthenticated call made around the gateway", async () => {
    const products = await fetch(`${system.urls.byService.products}/products`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: "Sneaky", price: { amount: 1, currency: "EUR" } }),
    });
    expect(products.status).toBe(401);
    const notifications = await fetch(`${system.urls.byService.notifications}/notifications`);
    expect(notifications.status).toBe(401);
    const users = await fetch(`${system.urls.byService.users}/users/me`);
    expect(users.status).toBe(401);
  });
});
