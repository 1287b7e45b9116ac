/**
 * Reviews: writing one (with its `products.review.created` event and the product's review count),
 * listing them, and applying the ML service's `ml.review.scored` events — against the real service
 * on real PostgreSQL and NATS, the consumer reading the real `ML` stream.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { EventEnvelope } from "@portico/contracts";
import { createEventPublisher, createLogger, type RunningConsumer } from "@portico/kit";
import { v7 as uuidv7 } from "uuid";
import {
  applyReviewScore,
  consumeReviewScores,
  type ReviewScoredEvent,
  type ReviewScoresDeps,
} from "../../src/consumers.js";
import { createProductEvents } from "../../src/events.js";
import { eventsAbout, streamPosition } from "../support/events.js";
import { request } from "../support/http.js";
import { type RunningProducts, startProducts } from "../support/service.js";

let service: RunningProducts;
let adminToken: string;
let authorId: string;
let authorToken: string;
let deps: ReviewScoresDeps;
let consumer: RunningConsumer;

async function createProduct(): Promise<string> {
  const res = await request(service.baseUrl, "POST", "/products", {
    token: adminToken,
    json: { name: "Espresso cup", price: { amount: 1299, currency: "EUR" } },
  });
  expect(res.status).toBe(201);
  return res.body.id;
}

/** Posts a review as the author, or without a token when `token` is null. */
const review = (productId: string, json: unknown, token: string | null = authorToken) =>
  request(service.baseUrl, "POST", `/products/${productId}/reviews`, {
    ...(token !== null ? { token } : {}),
    json,
    headers: { "x-request-id": `review-${productId}` },
  });

/** What the ML service publishes for a review: its score of `compound`. */
function scored(productId: string, reviewId: string, compound: number): ReviewScoredEvent {
  return {
    id: uuidv7(),
    type: "ml.review.scored",
    occurredAt: new Date().toISOString(),
    source: "ml",
    subject: reviewId,
    data: {
      reviewId,
      productId,
      scores: { compound, positive: 0.5, negative: 0.1, neutral: 0.4 },
      label: compound >= 0.05 ? "positive" : compound <= -0.05 ? "negative" : "neutral",
      model: { name: "vader", version: "3.3.2" },
    },
  };
}

/** Polls `probe` every 50 ms until it returns a value, for up to 10 s. */
async function eventually<T>(probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  service = await startProducts();
  adminToken = await service.auth.tokenFor({ role: "admin" });
  authorId = uuidv7();
  authorToken = await service.auth.tokenFor({ userId: authorId });
  deps = {
    db: service.db,
    events: createProductEvents(),
    log: createLogger("products", process.env.TEST_LOG_LEVEL ?? "silent"),
  };
  consumer = await consumeReviewScores(service.nc, deps, { backoffSeconds: [0.2], maxDeliver: 2 });
});

afterAll(async () => {
  await consumer?.stop();
  await service?.stop();
});

describe("createProductReview", () => {
  it("stores the review by the caller, counts it and publishes products.review.created", async () => {
    const productId = await createProduct();
    const since = await streamPosition(service);

    const res = await review(productId, { text: "Lovely cup, but a small handle.", rating: 4 });

    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      productId,
      text: "Lovely cup, but a small handle.",
      rating: 4,
      author: { userId: authorId },
      sentiment: null,
      createdAt: expect.any(String),
    });
    const product = await request(service.baseUrl, "GET", `/products/${productId}`);
    expect([product.body.reviewCount, product.body.averageSentiment]).toEqual([1, null]);
    const events = await eventsAbout(service, since, productId);
    expect(events.map((e) => [e.envelope.type, e.envelope.data, e.requestId])).toEqual([
      [
        "products.review.created",
        { reviewId: res.body.id, productId, text: "Lovely cup, but a small handle.", rating: 4 },
        `review-${productId}`,
      ],
    ]);
  });

  it.each([
    [{ text: "", rating: 3 }, "text"],
    [{ text: "x".repeat(5001), rating: 3 }, "text"],
    [{ text: "fine", rating: 0 }, "rating"],
    [{ text: "fine", rating: 6 }, "rating"],
    [{ text: "fine", rating: 4.5 }, "rating"],
    [{ text: "fine" }, "rating"],
    [{ text: "nul \u0000 inside", rating: 3 }, "text"],
  ])("rejects %j with 400 naming %s, and stores nothing", async (body, field) => {
    const productId = await createProduct();
    const res = await review(productId, body);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    const product = await request(service.baseUrl, "GET", `/products/${productId}`);
    expect(product.body.reviewCount).toBe(0);
  });

  it("requires a signed-in user", async () => {
    const productId = await createProduct();
    expect((await review(productId, { text: "fine", rating: 3 }, null)).status).toBe(401);
  });

  it("answers 404 for a product that does not exist", async () => {
    const res = await review(uuidv7(), { text: "fine", rating: 3 });
    expect(res.status).toBe(404);
  });
});

describe("listProductReviews", () => {
  it("pages through a product's reviews newest first, without signing in", async () => {
    const productId = await createProduct();
    for (const text of ["first", "second", "third"]) {
      expect((await review(productId, { text, rating: 5 })).status).toBe(201);
    }
    const texts: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await request(
        service.baseUrl,
        "GET",
        `/products/${productId}/reviews?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      );
      expect(res.status).toBe(200);
      texts.push(...res.body.items.map((r: { text: string }) => r.text));
      cursor = res.body.nextCursor ?? undefined;
    } while (cursor);
    expect(texts).toEqual(["third", "second", "first"]);
  });

  it("answers 404 for a product that does not exist, 400 for a forged cursor", async () => {
    expect((await request(service.baseUrl, "GET", `/products/${uuidv7()}/reviews`)).status).toBe(
      404,
    );
    const productId = await createProduct();
    const forged = await request(
      service.baseUrl,
      "GET",
      `/products/${productId}/reviews?cursor=bm90LWEtY3Vyc29y`,
    );
    expect(forged.status).toBe(400);
  });
});

describe("ml.review.scored", () => {
  it("stores each review's sentiment and the product's average, and announces it", async () => {
    const productId = await createProduct();
    const first = (await review(productId, { text: "Lovely!", rating: 5 })).body.id as string;
    const second = (await review(productId, { text: "Chipped.", rating: 2 })).body.id as string;
    const since = await streamPosition(service);
    const ml = createEventPublisher(service.nc, "ml");

    await ml.publish("ml.review.scored", first, scored(productId, first, 0.8).data);
    await ml.publish("ml.review.scored", second, scored(productId, second, -0.3).data);

    const reviews = await eventually(async () => {
      const res = await request(service.baseUrl, "GET", `/products/${productId}/reviews`);
      const items = res.body.items as { id: string; sentiment: unknown }[];
      return items.every((r) => r.sentiment !== null) ? items : undefined;
    });
    expect(reviews.map((r) => r.sentiment)).toEqual([
      {
        compound: -0.3,
        label: "negative",
        model: { name: "vader", version: "3.3.2" },
        scoredAt: expect.any(String),
      },
      {
        compound: 0.8,
        label: "positive",
        model: { name: "vader", version: "3.3.2" },
        scoredAt: expect.any(String),
      },
    ]);
    const product = await request(service.baseUrl, "GET", `/products/${productId}`);
    expect([product.body.reviewCount, product.body.averageSentiment]).toEqual([2, 0.25]);
    const announced = await eventsAbout(service, since, productId);
    expect(
      announced.map((e) => (e.envelope as EventEnvelope<"products.review.scored">).data),
    ).toEqual([
      expect.objectContaining({ reviewId: first, averageSentiment: 0.8, reviewCount: 2 }),
      expect.objectContaining({ reviewId: second, averageSentiment: 0.25, reviewCount: 2 }),
    ]);
  });

  it("applies an event once however often it comes, and ignores a deleted product's", async () => {
    const productId = await createProduct();
    const reviewId = (await review(productId, { text: "Fine.", rating: 3 })).body.id as string;
    const event = scored(productId, reviewId, 0.2);

    expect(await applyReviewScore(deps, event)).toBe("applied");
    expect(await applyReviewScore(deps, event)).toBe("already_applied");
    // Another event for the same review (a re-score) changes nothing: the text did not change.
    expect(await applyReviewScore(deps, scored(productId, reviewId, 0.9))).toBe("nothing_to_score");
    const product = await request(service.baseUrl, "GET", `/products/${productId}`);
    expect(product.body.averageSentiment).toBe(0.2);

    const gone = await createProduct();
    const goneReview = (await review(gone, { text: "Bye.", rating: 1 })).body.id as string;
    const deleted = await request(service.baseUrl, "DELETE", `/products/${gone}`, {
      token: adminToken,
    });
    expect(deleted.status).toBe(204);
    expect(await applyReviewScore(deps, scored(gone, goneReview, 0.1))).toBe("nothing_to_score");
  });
});
