/**
 * The event contract: contracts/events.yaml is a valid AsyncAPI document, the declarations
 * generated from it agree with it, and `validateEvent` / `assertValidEvent` accept its examples
 * and reject envelopes that break it.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "@jest/globals";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import {
  type AsyncApiDocument,
  asyncApiErrors,
  loadAsyncApi,
} from "../../../scripts/src/generate/asyncapi.js";
import { type EventsModel, readEventsModel } from "../../../scripts/src/generate/event-model.js";
import {
  assertValidEvent,
  CONSUMERS,
  type EventEnvelope,
  type EventPayloads,
  type EventSubject,
  InvalidEventError,
  isEventSubject,
  type ProductSnapshot,
  STREAMS,
  validateEvent,
} from "../../src/index.js";

const eventsFile = fileURLToPath(new URL("../../events.yaml", import.meta.url));
const schemasFile = new URL("../../generated/events.schemas.json", import.meta.url);

let doc: AsyncApiDocument;
let model: EventsModel;

beforeAll(async () => {
  doc = await loadAsyncApi(eventsFile);
  model = readEventsModel(doc);
});

/** Every event subject, from the generated declarations (every stream but the dead letters'). */
function eventSubjects(): EventSubject[] {
  return Object.values(STREAMS)
    .filter((stream) => stream.name !== STREAMS.deadletter.name)
    .flatMap((stream) => [...stream.subjects] as EventSubject[]);
}

/** A deep copy of the first example envelope of `subject` in events.yaml. */
function exampleOf(subject: EventSubject): Record<string, unknown> {
  const event = model.events.find((e) => e.subject === subject);
  const example = event?.examples[0];
  if (!example) throw new Error(`${subject} has no example in events.yaml`);
  return structuredClone(example.envelope) as Record<string, unknown>;
}

/** The errors of an envelope that must be invalid. */
function errorsOf(subject: string, envelope: unknown) {
  const result = validateEvent(subject, envelope);
  if (result.valid) throw new Error(`expected ${subject} envelope to be invalid`);
  return result.errors;
}

describe("contracts/events.yaml", () => {
  it("is a valid AsyncAPI 3.0 document for the official parser (no errors)", async () => {
    expect(doc.asyncapi).toMatch(/^3\.0\./);
    expect(await asyncApiErrors(eventsFile)).toEqual([]);
  });

  it("declares a channel, a publisher and an envelope schema for every subject in STREAMS", async () => {
    const schemas = JSON.parse(await readFile(schemasFile, "utf8")) as {
      events: Record<string, { properties: { type: { const: string } } }>;
      deadLetter: object;
    };
    const addresses = Object.values(doc.channels).map((c) => c.address);
    for (const stream of Object.values(STREAMS)) {
      for (const subject of stream.subjects) {
        expect({ subject, declared: addresses.includes(subject) }).toEqual({
          subject,
          declared: true,
        });
        if (subject === "deadletter.>") {
          expect(schemas.deadLetter).toMatchObject({ title: "DeadLetter" });
          continue;
        }
        expect(schemas.events[subject]?.properties.type.const).toBe(subject);
        const event = model.events.find((e) => e.subject === subject);
        expect(event?.stream).toBe(stream.name);
      }
    }
    // …and nothing beyond them: every event channel belongs to a stream.
    const inStreams = Object.values(STREAMS).flatMap((s) => [...s.subjects]);
    expect([...addresses].sort()).toEqual([...inStreams].sort());
    expect(Object.keys(schemas.events).sort()).toEqual(eventSubjects().sort());
  });

  it("names each publishing service's stream after it: USERS, PRODUCTS, ML, and DEADLETTER", () => {
    expect(STREAMS.users).toEqual({ name: "USERS", subjects: ["users.user.registered"] });
    expect(STREAMS.products).toEqual({
      name: "PRODUCTS",
      subjects: [
        "products.product.created",
        "products.product.updated",
        "products.product.deleted",
        "products.stock.changed",
        "products.product.back_in_stock",
        "products.review.created",
        "products.review.scored",
      ],
    });
    expect(STREAMS.ml).toEqual({ name: "ML", subjects: ["ml.review.scored"] });
    expect(STREAMS.notifications).toEqual({
      name: "NOTIFICATIONS",
      subjects: ["notifications.notification.created"],
    });
    expect(STREAMS.deadletter).toEqual({ name: "DEADLETTER", subjects: ["deadletter.>"] });
    for (const event of model.events) {
      expect({ subject: event.subject, source: event.publisher }).toEqual({
        subject: event.subject,
        source: event.stream.toLowerCase(),
      });
    }
  });

  it("declares consumers whose stream holds their subject", () => {
    const consumers = Object.entries(CONSUMERS);
    expect(consumers.length).toBeGreaterThan(0);
    for (const [durable, consumer] of consumers) {
      expect(consumer.durable).toBe(durable);
      expect(durable.startsWith(`${consumer.service}-`)).toBe(true);
      const stream = Object.values(STREAMS).find((s) => s.name === consumer.stream);
      expect(stream?.subjects).toContain(consumer.subject);
      expect(isEventSubject(consumer.subject)).toBe(true);
    }
    expect(CONSUMERS["notifications-back-in-stock"]).toEqual({
      durable: "notifications-back-in-stock",
      stream: "PRODUCTS",
      subject: "products.product.back_in_stock",
      service: "notifications",
    });
  });

  it("gives every message an example whose Nats-Msg-Id header is the envelope id", () => {
    for (const event of model.events) {
      expect({ subject: event.subject, hasExample: event.examples.length > 0 }).toEqual({
        subject: event.subject,
        hasExample: true,
      });
    }
    for (const message of Object.values(doc.components.messages ?? {})) {
      for (const example of ("examples" in message ? message.examples : undefined) ?? []) {
        const payload = example.payload as { id?: string; type?: string };
        if (payload.type === undefined) continue; // a dead letter is not an envelope
        expect(example.headers?.["Nats-Msg-Id"]).toBe(payload.id);
      }
    }
  });

  it("has a dead-letter example that matches the dead-letter schema", async () => {
    const { deadLetter } = JSON.parse(await readFile(schemasFile, "utf8")) as {
      deadLetter: object;
    };
    const ajv = new Ajv({ allErrors: true, strict: true });
    addFormats.default(ajv);
    const validate = ajv.compile(deadLetter);
    expect(model.deadLetter.examples.length).toBeGreaterThan(0);
    for (const example of model.deadLetter.examples) {
      expect(validate(example.payload)).toBe(true);
    }
    expect(validate({ ...(model.deadLetter.examples[0]?.payload as object), extra: 1 })).toBe(
      false,
    );
    expect(validate({ subject: "x", envelope: {} })).toBe(false);
  });
});

describe("validateEvent", () => {
  it("accepts each subject's example envelope", () => {
    for (const subject of eventSubjects()) {
      expect({ subject, result: validateEvent(subject, exampleOf(subject)) }).toEqual({
        subject,
        result: { valid: true },
      });
    }
  });

  it("accepts an envelope as the kit's publisher builds it (UUID v7 id, ISO timestamp)", () => {
    const envelope: EventEnvelope<"products.stock.changed"> = {
      id: "01936d3a-8b2c-7f00-a1b2-c3d4e5f60718",
      type: "products.stock.changed",
      occurredAt: new Date().toISOString(),
      source: "products",
      subject: "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10",
      data: { productId: "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10", previous: 3, current: 0 },
    };
    expect(validateEvent("products.stock.changed", envelope)).toEqual({ valid: true });
  });

  it("rejects an envelope whose type is not the subject", () => {
    const envelope = exampleOf("products.product.created");
    expect(errorsOf("products.product.updated", envelope)).toContainEqual({
      path: "/type",
      message: 'must be equal to constant "products.product.updated"',
    });
  });

  it("rejects an envelope from another source than the publisher", () => {
    const envelope = { ...exampleOf("users.user.registered"), source: "products" };
    expect(errorsOf("users.user.registered", envelope)).toEqual([
      { path: "/source", message: 'must be equal to constant "users"' },
    ]);
  });

  it("rejects a missing data field, naming it", () => {
    const envelope = exampleOf("products.stock.changed");
    delete (envelope.data as Record<string, unknown>).previous;
    expect(errorsOf("products.stock.changed", envelope)).toEqual([
      { path: "/data/previous", message: "must have required property 'previous'" },
    ]);
  });

  it("rejects a missing envelope field", () => {
    const envelope = exampleOf("products.product.deleted");
    delete envelope.occurredAt;
    expect(errorsOf("products.product.deleted", envelope)).toEqual([
      { path: "/occurredAt", message: "must have required property 'occurredAt'" },
    ]);
  });

  it("rejects an additional property in data, in a nested object and in the envelope", () => {
    const data = exampleOf("products.product.back_in_stock");
    (data.data as Record<string, unknown>).price = 1999;
    expect(errorsOf("products.product.back_in_stock", data)).toEqual([
      { path: "/data/price", message: "must NOT have additional properties" },
    ]);

    const nested = exampleOf("products.product.updated");
    const product = (nested.data as { product: ProductSnapshot & { price: { cents?: number } } })
      .product;
    product.price.cents = 1999;
    expect(errorsOf("products.product.updated", nested)).toEqual([
      { path: "/data/product/price/cents", message: "must NOT have additional properties" },
    ]);

    const envelope = { ...exampleOf("users.user.registered"), requestId: "r-1" };
    expect(errorsOf("users.user.registered", envelope)).toEqual([
      { path: "/requestId", message: "must NOT have additional properties" },
    ]);
  });

  it("rejects an id that is not a UUID, or not a version 7 one", () => {
    const notUuid = { ...exampleOf("products.product.deleted"), id: "42" };
    expect(errorsOf("products.product.deleted", notUuid)).toContainEqual({
      path: "/id",
      message: 'must match format "uuid"',
    });
    const v4 = { ...exampleOf("products.product.deleted"), id: crypto.randomUUID() };
    expect(errorsOf("products.product.deleted", v4)).toEqual([
      { path: "/id", message: expect.stringMatching(/^must match pattern/) },
    ]);
    const badAggregate = { ...exampleOf("products.product.deleted"), subject: "product-1" };
    expect(errorsOf("products.product.deleted", badAggregate)).toEqual([
      { path: "/subject", message: 'must match format "uuid"' },
    ]);
  });

  it("rejects an occurredAt that is not an RFC 3339 date-time", () => {
    for (const occurredAt of [
      "yesterday",
      "2026-11-21",
      "2026-11-21T09:34:00",
      "2026-13-01T00:00:00Z",
    ]) {
      const envelope = { ...exampleOf("products.stock.changed"), occurredAt };
      expect({ occurredAt, errors: errorsOf("products.stock.changed", envelope) }).toEqual({
        occurredAt,
        errors: [{ path: "/occurredAt", message: 'must match format "date-time"' }],
      });
    }
  });

  it("rejects wrong types and values in data: money in minor units, ISO 4217, stock levels", () => {
    const created = exampleOf("products.product.created");
    const product = (created.data as { product: Record<string, unknown> }).product;
    product.price = { amount: 19.99, currency: "eur" };
    product.stock = -1;
    expect(errorsOf("products.product.created", created)).toEqual(
      expect.arrayContaining([
        { path: "/data/product/price/amount", message: "must be integer" },
        { path: "/data/product/price/currency", message: 'must match pattern "^[A-Z]{3}$"' },
        { path: "/data/product/stock", message: "must be >= 0" },
      ]),
    );
    const user = exampleOf("users.user.registered");
    (user.data as Record<string, unknown>).role = "root";
    expect(errorsOf("users.user.registered", user)).toEqual([
      {
        path: "/data/role",
        message: 'must be equal to one of the allowed values: "user", "admin"',
      },
    ]);
  });

  it("rejects an unknown subject, and a body that is not an object", () => {
    expect(errorsOf("products.product.exploded", exampleOf("products.product.created"))).toEqual([
      { path: "", message: '"products.product.exploded" is not a declared event subject' },
    ]);
    expect(errorsOf("deadletter.>", {})).toHaveLength(1);
    expect(errorsOf("products.product.created", "not json")).toEqual([
      { path: "", message: "must be object" },
    ]);
    expect(errorsOf("products.product.created", null)).toEqual([
      { path: "", message: "must be object" },
    ]);
  });
});

describe("assertValidEvent", () => {
  it("returns for a valid envelope, narrowing it to the subject's envelope type", () => {
    const envelope: unknown = exampleOf("products.product.back_in_stock");
    assertValidEvent("products.product.back_in_stock", envelope);
    const stock: number = envelope.data.stock;
    expect(stock).toBe(12);
  });

  it("throws an InvalidEventError naming the subject and every error", () => {
    const envelope = { ...exampleOf("products.stock.changed"), id: "nope", occurredAt: "later" };
    let thrown: unknown;
    try {
      assertValidEvent("products.stock.changed", envelope);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(InvalidEventError);
    const error = thrown as InvalidEventError;
    expect(error.name).toBe("InvalidEventError");
    expect(error.subject).toBe("products.stock.changed");
    expect(error.errors.map((e) => e.path)).toEqual(expect.arrayContaining(["/id", "/occurredAt"]));
    expect(error.message).toContain("products.stock.changed");
    expect(error.message).toContain('/occurredAt must match format "date-time"');
    expect(error.message).toContain('/id must match format "uuid"');
  });
});

describe("generated payload types", () => {
  it("keep the shapes services build today (checked by the compiler, sampled at run time)", () => {
    const snapshot: ProductSnapshot = {
      id: "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10",
      name: "Espresso cup",
      description: "",
      price: { amount: 1999, currency: "EUR" },
      stock: 0,
    };
    // The events of the example services (a scaffolded service brings its own test).
    const payloads: Partial<EventPayloads> = {
      "users.user.registered": {
        userId: snapshot.id,
        email: "ada@example.com",
        name: "Ada",
        role: "admin",
      },
      "products.product.created": { product: snapshot },
      "products.product.updated": { product: snapshot },
      "products.product.deleted": { productId: snapshot.id },
      "products.stock.changed": { productId: snapshot.id, previous: 0, current: 2 },
      "products.product.back_in_stock": { productId: snapshot.id, name: snapshot.name, stock: 2 },
      "notifications.notification.created": {
        userId: snapshot.id,
        notification: {
          id: "0192f0c3-2222-7b3e-9f43-2d8a5c1e4b10",
          type: "back_in_stock",
          title: "Espresso cup is back in stock",
          body: "Espresso cup is back in stock (2 available).",
          productId: snapshot.id,
          createdAt: "2026-11-21T10:00:00.000Z",
          readAt: null,
        },
      },
      "products.review.created": {
        reviewId: "0192f0c6-5e6f-7a81-9c83-0a1b2c3d4e5f",
        productId: snapshot.id,
        text: "Lovely cup.",
        rating: 5,
      },
      "ml.review.scored": {
        reviewId: "0192f0c6-5e6f-7a81-9c83-0a1b2c3d4e5f",
        productId: snapshot.id,
        scores: { compound: 0.5994, positive: 0.808, negative: 0, neutral: 0.192 },
        label: "positive",
        model: { name: "vader", version: "3.3.2" },
      },
      "products.review.scored": {
        reviewId: "0192f0c6-5e6f-7a81-9c83-0a1b2c3d4e5f",
        productId: snapshot.id,
        compound: 0.5994,
        label: "positive",
        averageSentiment: 0.5994,
        reviewCount: 1,
      },
    };
    for (const subject of Object.keys(payloads) as (keyof EventPayloads)[]) {
      const envelope = { ...exampleOf(subject), data: payloads[subject] };
      expect({ subject, result: validateEvent(subject, envelope) }).toEqual({
        subject,
        result: { valid: true },
      });
    }
  });
});
