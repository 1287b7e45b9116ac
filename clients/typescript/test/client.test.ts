/**
 * @portico/client against the running system (every service and the gateway as processes).
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { startTestSystem, type TestSystem } from "@portico/scripts/testing/system";
import {
  createPorticoClient,
  type EventSubscription,
  PorticoError,
  StreamRefusedError,
  unwrap,
} from "../src/index.js";

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem("client");
}, 120_000);

afterAll(async () => {
  await system?.stop();
}, 60_000);

describe("@portico/client", () => {
  it("signs in with the password grant and attaches the token to later requests", async () => {
    const client = createPorticoClient({ baseUrl: system.urls.gateway });
    const email = `client-${Date.now()}@example.com`;
    const created = await unwrap(
      client.POST("/users", { body: { email, password: "client-password", name: "Cli" } }),
    );
    expect(client.token).toBeUndefined();
    const token = await client.signIn(email, "client-password");
    expect(token.token_type).toBe("Bearer");
    expect(token.expires_in).toBeGreaterThan(0);
    expect(client.token).toBe(token.access_token);
    const me = await unwrap(client.GET("/users/me"));
    expect(me).toEqual(created);
  });

  it("sends no token after setToken(undefined), and unwrap throws the 401 Problem", async () => {
    const client = createPorticoClient({ baseUrl: system.urls.gateway, token: "stale" });
    client.setToken(undefined);
    const error = await unwrap(client.GET("/users/me")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PorticoError);
    expect((error as PorticoError).status).toBe(401);
    expect((error as PorticoError).problem?.type).toMatch(/unauthorized/);
  });

  it("rejects refused credentials with a PorticoError carrying the Problem", async () => {
    const client = createPorticoClient({ baseUrl: system.urls.gateway });
    const error = await client.signIn("nobody@example.com", "wrong").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PorticoError);
    expect((error as PorticoError).status).toBe(401);
    expect(client.token).toBeUndefined();
  });

  it("calls as a service account with an API key", async () => {
    const admin = createPorticoClient({ baseUrl: system.urls.gateway });
    await admin.POST("/users", {
      body: { email: system.adminEmail, password: "admin-password", name: "Admin" },
    });
    await admin.signIn(system.adminEmail, "admin-password");
    const { key } = await unwrap(
      admin.POST("/api-keys", { body: { name: "client-test", role: "admin" } }),
    );
    const service = createPorticoClient({ baseUrl: system.urls.gateway, apiKey: key });
    const product = await unwrap(
      service.POST("/products", {
        body: { name: "Key-made mug", price: { amount: 100, currency: "EUR" } },
      }),
    );
    expect(product.name).toBe("Key-made mug");
    const refused = createPorticoClient({ baseUrl: system.urls.gateway, apiKey: `${key}x` });
    const error = await unwrap(
      refused.POST("/products", { body: { name: "No", price: { amount: 1, currency: "EUR" } } }),
    ).catch((e: unknown) => e);
    expect((error as PorticoError).status).toBe(401);
  });

  it("walks cursor pages of a typed list to the end", async () => {
    const admin = createPorticoClient({ baseUrl: system.urls.gateway });
    await admin.POST("/users", {
      body: { email: system.adminEmail, password: "admin-password", name: "Admin" },
    });
    await admin.signIn(system.adminEmail, "admin-password");
    const names = ["Cup A", "Cup B", "Cup C"];
    for (const name of names) {
      await unwrap(
        admin.POST("/products", { body: { name, price: { amount: 100, currency: "EUR" } } }),
      );
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await unwrap(
        admin.GET("/products", {
          params: { query: { limit: 2, q: "Cup", ...(cursor ? { cursor } : {}) } },
        }),
      );
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((p) => p.name));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen.sort()).toEqual(names);
  });

  it("subscribe() receives the signed-in user's notification live, typed, and refuses no token", async () => {
    const admin = createPorticoClient({ baseUrl: system.urls.gateway });
    await admin.POST("/users", {
      body: { email: system.adminEmail, password: "admin-password", name: "Admin" },
    });
    await admin.signIn(system.adminEmail, "admin-password");
    const customer = createPorticoClient({ baseUrl: system.urls.gateway });
    const email = `live-${Date.now()}@example.com`;
    await unwrap(
      customer.POST("/users", { body: { email, password: "live-password", name: "Li" } }),
    );
    await customer.signIn(email, "live-password");
    const product = await unwrap(
      admin.POST("/products", {
        body: { name: "Live mug", price: { amount: 1, currency: "EUR" } },
      }),
    );
    await unwrap(customer.POST("/subscriptions", { body: { productId: product.id } }));

    const refused = await createPorticoClient({ baseUrl: system.urls.gateway })
      .subscribe(() => undefined)
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StreamRefusedError);
    expect((refused as StreamRefusedError).status).toBe(401);

    let resolveArrived: (title: string) => void = () => undefined;
    const arrived = new Promise<string>((resolve) => {
      resolveArrived = resolve;
    });
    let subscription: EventSubscription | undefined;
    // The gateway's event feed attaches just after start-up: 503 until then.
    for (let tries = 0; !subscription; tries += 1) {
      subscription = await customer
        .subscribe((event) => {
          if (event.event === "notification" && event.data.productId === product.id) {
            resolveArrived(event.data.title);
          }
        })
        .catch((e: unknown) => {
          if (!(e instanceof StreamRefusedError) || e.status !== 503 || tries > 40) throw e;
          return new Promise<undefined>((resolve) => setTimeout(resolve, 250));
        });
    }
    try {
      await unwrap(
        admin.PUT("/products/{productId}/stock", {
          params: { path: { productId: product.id } },
          body: { quantity: 3 },
        }),
      );
      expect(await arrived).toContain("Live mug");
      expect(subscription.lastEventId).toMatch(/^[1-9][0-9]*$/);
    } finally {
      subscription.close();
    }
    await expect(subscription.closed).resolves.toBeUndefined();
  });

  it("returns the gateway's 400 Problem as a typed error value", async () => {
    const client = createPorticoClient({ baseUrl: system.urls.gateway });
    const { data, error, response } = await client.POST("/users", {
      body: { email: "bad", password: "short", name: "" },
    });
    expect(data).toBeUndefined();
    expect(response.status).toBe(400);
    const fields = (error as { errors?: { field: string }[] }).errors?.map((e) => e.field).sort();
    expect(fields).toEqual(["email", "name", "password"]);
  });
});
