import { describe, expect, it } from "@jest/globals";
import { validateEvent } from "@portico/contracts";
import { v7 as uuidv7 } from "uuid";
import { PRODUCTS_SOURCE, reviewCreated, reviewSentimentStored } from "../../src/events.js";
import { toReview } from "../../src/representation.js";
import type { ProductRow, ReviewRow } from "../../src/store/schema.js";

const product: ProductRow = {
  id: "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10",
  name: "Espresso cup",
  description: "",
  price_amount: "1299",
  price_currency: "EUR",
  stock: 5,
  created_at: new Date("2026-11-21T09:30:00.000Z"),
  updated_at: new Date("2026-11-21T09:30:00.000Z"),
  review_count: 2,
  average_sentiment: 0.25,
};
const review: ReviewRow = {
  id: "0192f0c6-5e6f-7a81-9c83-0a1b2c3d4e5f",
  product_id: product.id,
  author_id: "0192f0c1-7b00-7a11-8c22-3d4e5f607182",
  text: "Lovely cup.",
  rating: 5,
  created_at: new Date("2026-11-21T09:35:00.000Z"),
  sentiment_compound: null,
  sentiment_label: null,
  sentiment_model_name: null,
  sentiment_model_version: null,
  scored_at: null,
};

describe("review events", () => {
  it("announce a new review about its product, with what the ML service scores", () => {
    expect(reviewCreated(review)).toEqual({
      subject: "products.review.created",
      aggregateId: product.id,
      data: { reviewId: review.id, productId: product.id, text: "Lovely cup.", rating: 5 },
    });
  });

  it("announce a stored score with the product's new figures", () => {
    const stored = reviewSentimentStored(
      { reviewId: review.id, label: "positive", compound: 0.8 },
      product,
    );
    expect(stored.aggregateId).toBe(product.id);
    expect(stored.data).toEqual({
      reviewId: review.id,
      productId: product.id,
      compound: 0.8,
      label: "positive",
      averageSentiment: 0.25,
      reviewCount: 2,
    });
    expect(() =>
      reviewSentimentStored(
        { reviewId: review.id, label: "positive", compound: 0.8 },
        { ...product, average_sentiment: null },
      ),
    ).toThrow(/no average sentiment/);
  });

  it("are accepted by their contracts", () => {
    const events = [
      reviewCreated(review),
      reviewSentimentStored({ reviewId: review.id, label: "neutral", compound: 0 }, product),
    ];
    for (const event of events) {
      const envelope = {
        id: uuidv7(),
        type: event.subject,
        occurredAt: new Date().toISOString(),
        source: PRODUCTS_SOURCE,
        subject: event.aggregateId,
        data: event.data,
      };
      expect({ subject: event.subject, result: validateEvent(event.subject, envelope) }).toEqual({
        subject: event.subject,
        result: { valid: true },
      });
    }
  });
});

describe("toReview", () => {
  it("has no sentiment until every part of the score is stored", () => {
    expect(toReview(review)).toEqual({
      id: review.id,
      productId: product.id,
      text: "Lovely cup.",
      rating: 5,
      author: { userId: review.author_id },
      sentiment: null,
      createdAt: "2026-11-21T09:35:00.000Z",
    });
    const scoredAt = new Date("2026-11-21T09:35:00.120Z");
    expect(
      toReview({
        ...review,
        sentiment_compound: -0.5,
        sentiment_label: "negative",
        sentiment_model_name: "vader",
        sentiment_model_version: "3.3.2",
        scored_at: scoredAt,
      }).sentiment,
    ).toEqual({
      compound: -0.5,
      label: "negative",
      model: { name: "vader", version: "3.3.2" },
      scoredAt: "2026-11-21T09:35:00.120Z",
    });
  });
});
