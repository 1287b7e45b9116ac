/**
 * @portico/client over the ML service's operations and product reviews, against the running
 * system: the typed request and response of each, through the gateway, down to a review scored
 * by the Python service over NATS.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { startTestSystem, type TestSystem } from "@portico/scripts/testing/system";
import { createPorticoClient, type PorticoClient, PorticoError, unwrap } from "../src/index.js";

let system: TestSystem;
let admin: PorticoClient;
let user: PorticoClient;

beforeAll(async () => {
  system = await startTestSystem("client-ml");
  admin = createPorticoClient({ baseUrl: system.urls.gateway });
  user = createPorticoClient({ baseUrl: system.urls.gateway });
  await admin.POST("/users", {
    body: { email: system.adminEmail, password: "admin-password", name: "Admin" },
  });
  await admin.signIn(system.adminEmail, "admin-password");
  const email = `reviewer-${Date.now()}@example.com`;
  await unwrap(user.POST("/users", { body: { email, password: "user-password", name: "Rev" } }));
  await user.signIn(email, "user-password");
}, 120_000);

afterAll(async () => {
  await system?.stop();
}, 60_000);

describe("@portico/client and the ML service", () => {
  it("scores a text for a signed-in user", async () => {
    const result = await unwrap(
      user.POST("/ml/sentiment", { body: { text: "The book was good." } }),
    );

    expect(result.scores.compound).toBe(0.4404);
    expect(result.label).toBe("positive");
    expect(result.model).toEqual({ name: "vader", version: "3.3.2" });
  });

  it("gets the gateway's 400 naming the field for a text that breaks the contract", async () => {
    const { error, response } = await user.POST("/ml/sentiment", { body: { text: "" } });

    expect(response.status).toBe(400);
    expect(error?.errors?.map((e) => e.field)).toEqual(["text"]);
  });

  it("scores a batch as an administrator and gets 403 as a user", async () => {
    const body = { items: [{ text: "Today SUX!" }, { text: "Not bad at all" }] };
    const batch = await unwrap(admin.POST("/ml/sentiment:batch", { body }));
    expect(batch.results.map((r) => r.label)).toEqual(["negative", "positive"]);

    const refused = await unwrap(user.POST("/ml/sentiment:batch", { body })).catch((e) => e);
    expect(refused).toBeInstanceOf(PorticoError);
    expect((refused as PorticoError).status).toBe(403);
  });

  it("lists the models without signing in", async () => {
    const anonymous = createPorticoClient({ baseUrl: system.urls.gateway });
    const { items } = await unwrap(anonymous.GET("/ml/models"));

    expect(items.map((m) => [m.name, m.languages])).toEqual([["vader", ["en"]]]);
  });

  it("reviews a product and reads the review's score and the product's average", async () => {
    const product = await unwrap(
      admin.POST("/products", {
        body: { name: "Teapot", price: { amount: 2500, currency: "EUR" } },
      }),
    );
    const params = { path: { productId: product.id } };
    const review = await unwrap(
      user.POST("/products/{productId}/reviews", {
        params,
        body: { text: "A lovely teapot, it pours perfectly!", rating: 5 },
      }),
    );
    expect(review.sentiment).toBeNull();

    let scored = review;
    for (const deadline = Date.now() + 15_000; scored.sentiment === null; ) {
      if (Date.now() > deadline) throw new Error("the review was not scored within 15 s");
      await new Promise((resolve) => setTimeout(resolve, 200));
      const page = await unwrap(user.GET("/products/{productId}/reviews", { params }));
      scored = page.items.find((r) => r.id === review.id) ?? scored;
    }
    const expected = await unwrap(
      user.POST("/ml/sentiment", { body: { text: "A lovely teapot, it pours perfectly!" } }),
    );
    expect(scored.sentiment?.compound).toBe(expected.scores.compound);
    expect(scored.sentiment?.label).toBe("positive");

    const after = await unwrap(admin.GET("/products/{productId}", { params }));
    expect([after.reviewCount, after.averageSentiment]).toEqual([1, expected.scores.compound]);
  });
});
