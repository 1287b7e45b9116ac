/**
 * The event generator on small documents: what it reads from an AsyncAPI document, the
 * conventions it refuses to generate from, the self-contained schemas and the types module.
 */
import { describe, expect, it } from "@jest/globals";
import type { AsyncApiDocument, JsonSchema } from "../../../scripts/src/generate/asyncapi.js";
import { readEventsModel } from "../../../scripts/src/generate/event-model.js";
import { buildEventSchemas, selfContained } from "../../../scripts/src/generate/event-schemas.js";
import { buildEventTypes } from "../../../scripts/src/generate/event-types.js";

/** An envelope schema for `subject` from `source` whose data is `components.schemas[data]`. */
function envelope(subject: string, source: string, data: string): JsonSchema {
  return {
    type: "object",
    additionalProperties: false,
    required: ["id", "type", "occurredAt", "source", "subject", "data"],
    properties: {
      id: { $ref: "#/components/schemas/Id" },
      type: { const: subject },
      occurredAt: { type: "string", format: "date-time" },
      source: { const: source },
      subject: { $ref: "#/components/schemas/Id" },
      data: { $ref: `#/components/schemas/${data}` },
    },
  };
}

/** A minimal valid document: `shop.order.placed` by shop, consumed by mail; a dead-letter channel. */
function document(): AsyncApiDocument {
  return {
    asyncapi: "3.0.0",
    info: { title: "Test", version: "1.0.0" },
    channels: {
      orderPlaced: {
        address: "shop.order.placed",
        "x-portico-stream": "SHOP",
        messages: { orderPlaced: { $ref: "#/components/messages/OrderPlaced" } },
      },
      deadLetter: {
        address: "deadletter.>",
        "x-portico-stream": "DEADLETTER",
        messages: { deadLetter: { payload: { $ref: "#/components/schemas/DeadLetter" } } },
      },
    },
    operations: {
      sendOrderPlaced: {
        action: "send",
        channel: { $ref: "#/channels/orderPlaced" },
        "x-portico-service": "shop",
      },
      receiveOrderPlaced: {
        action: "receive",
        channel: { $ref: "#/channels/orderPlaced" },
        "x-portico-service": "mail",
        "x-portico-durable": "mail-order-confirmation",
      },
      sendDeadLetter: {
        action: "send",
        channel: { $ref: "#/channels/deadLetter" },
        "x-portico-service": "*",
      },
    },
    components: {
      messages: {
        OrderPlaced: {
          summary: "An order was placed.",
          payload: envelope("shop.order.placed", "shop", "OrderPlacedData"),
          examples: [{ name: "one", payload: { id: "x" } }],
        },
      },
      schemas: {
        Id: { type: "string", format: "uuid" },
        Unused: { type: "string" },
        Money: {
          type: "object",
          additionalProperties: false,
          required: ["amount"],
          properties: { amount: { type: "integer" } },
        },
        OrderPlacedData: {
          type: "object",
          additionalProperties: false,
          required: ["orderId", "total"],
          properties: {
            orderId: { $ref: "#/components/schemas/Id" },
            total: { $ref: "#/components/schemas/Money" },
          },
        },
        DeadLetter: {
          type: "object",
          additionalProperties: false,
          required: ["subject"],
          properties: { subject: { type: "string" } },
        },
      },
    },
  };
}

describe("readEventsModel", () => {
  it("reads events, streams, consumers and the dead-letter channel", () => {
    const model = readEventsModel(document());
    expect(model.events).toEqual([
      expect.objectContaining({
        subject: "shop.order.placed",
        stream: "SHOP",
        publisher: "shop",
        summary: "An order was placed.",
        dataSchema: "OrderPlacedData",
        examples: [{ name: "one", envelope: { id: "x" } }],
      }),
    ]);
    expect(model.streams).toEqual([
      { key: "shop", name: "SHOP", subjects: ["shop.order.placed"] },
      { key: "deadletter", name: "DEADLETTER", subjects: ["deadletter.>"] },
    ]);
    expect(model.consumers).toEqual([
      {
        durable: "mail-order-confirmation",
        stream: "SHOP",
        subject: "shop.order.placed",
        service: "mail",
      },
    ]);
    expect(model.deadLetter).toEqual({
      address: "deadletter.>",
      stream: "DEADLETTER",
      schema: "DeadLetter",
      examples: [],
    });
  });

  /** Applies `change` to a fresh valid document and returns the error readEventsModel throws. */
  function failureOf(change: (doc: AsyncApiDocument) => void): string {
    const doc = document();
    change(doc);
    try {
      readEventsModel(doc);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error("readEventsModel accepted the document");
  }

  const message = (doc: AsyncApiDocument) =>
    doc.components.messages?.OrderPlaced as { payload: { properties: Record<string, JsonSchema> } };

  it("refuses an envelope whose type is not the channel address", () => {
    expect(
      failureOf((doc) => {
        message(doc).payload.properties.type = { const: "shop.order.shipped" };
      }),
    ).toMatch(/envelope "type" must be const shop\.order\.placed/);
  });

  it("refuses an envelope whose source is not the publishing service", () => {
    expect(
      failureOf((doc) => {
        message(doc).payload.properties.source = { const: "mail" };
      }),
    ).toMatch(/envelope "source" must be const shop/);
  });

  it("refuses an envelope without data, or with inline data", () => {
    expect(
      failureOf((doc) => {
        delete message(doc).payload.properties.data;
      }),
    ).toMatch(/lacks required "data"/);
    expect(
      failureOf((doc) => {
        message(doc).payload.properties.data = { type: "object" };
      }),
    ).toMatch(/data must be a \$ref/);
  });

  it("refuses a channel without stream, a stream not named after its publisher, a wildcard event", () => {
    expect(
      failureOf((doc) => {
        delete doc.channels.orderPlaced?.["x-portico-stream"];
      }),
    ).toMatch(/no x-portico-stream/);
    expect(
      failureOf((doc) => {
        (doc.channels.orderPlaced as { "x-portico-stream": string })["x-portico-stream"] = "ORDERS";
      }),
    ).toMatch(/not named after its publisher shop/);
    expect(
      failureOf((doc) => {
        (doc.channels.orderPlaced as { address: string }).address = "shop.order.*";
      }),
    ).toMatch(/an event subject is exact/);
  });

  it("refuses an event with no sender or two", () => {
    expect(
      failureOf((doc) => {
        delete doc.operations.sendOrderPlaced;
      }),
    ).toMatch(/exactly one send operation/);
    expect(
      failureOf((doc) => {
        doc.operations.sendAgain = {
          action: "send",
          channel: { $ref: "#/channels/orderPlaced" },
          "x-portico-service": "mail",
        };
      }),
    ).toMatch(/exactly one send operation/);
  });

  it("refuses a receive operation without a durable named <service>-<purpose>", () => {
    expect(
      failureOf((doc) => {
        delete doc.operations.receiveOrderPlaced?.["x-portico-durable"];
      }),
    ).toMatch(/receiveOrderPlaced: a receive operation needs/);
    expect(
      failureOf((doc) => {
        (doc.operations.receiveOrderPlaced as { "x-portico-durable": string })[
          "x-portico-durable"
        ] = "order-confirmation";
      }),
    ).toMatch(/named <service>-<purpose>/);
  });

  it("refuses a document without the dead-letter channel", () => {
    expect(
      failureOf((doc) => {
        delete doc.channels.deadLetter;
        delete doc.operations.sendDeadLetter;
      }),
    ).toBe("no channel with address deadletter.>");
  });
});

describe("selfContained", () => {
  it("carries exactly the component schemas the root reaches, with refs into definitions", () => {
    const { schemas } = readEventsModel(document());
    const schema = selfContained({ $ref: "#/components/schemas/OrderPlacedData" }, schemas);
    expect(Object.keys(schema.definitions as object)).toEqual(["Id", "Money", "OrderPlacedData"]);
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(schema.$ref).toBe("#/definitions/OrderPlacedData");
    expect(JSON.stringify(schema)).not.toContain("#/components/");
  });

  it("leaves out definitions when the root references nothing", () => {
    expect(selfContained({ type: "string" }, {})).toEqual({
      $schema: "http://json-schema.org/draft-07/schema#",
      type: "string",
    });
  });

  it("refuses a reference to a missing component", () => {
    expect(() => selfContained({ $ref: "#/components/schemas/Nope" }, {})).toThrow(
      "$ref #/components/schemas/Nope names no component schema",
    );
  });
});

describe("buildEventSchemas", () => {
  it("gives each subject its envelope schema, titled by the subject, and the dead letter's", () => {
    const file = buildEventSchemas(readEventsModel(document()));
    expect(Object.keys(file.events)).toEqual(["shop.order.placed"]);
    expect(file.events["shop.order.placed"]).toMatchObject({
      title: "shop.order.placed",
      description: "An order was placed.",
      required: ["id", "type", "occurredAt", "source", "subject", "data"],
    });
    expect(file.deadLetter).toMatchObject({ title: "DeadLetter", required: ["subject"] });
  });
});

describe("buildEventTypes", () => {
  it("emits the payload interfaces, EventSubject, STREAMS and CONSUMERS after the header", async () => {
    const source = await buildEventTypes(readEventsModel(document()), "// HEADER");
    expect(source.startsWith("// HEADER\n")).toBe(true);
    expect(source).toContain(
      'export interface EventPayloads {\n  "shop.order.placed": OrderPlacedData;\n}',
    );
    expect(source).toMatch(
      /export interface OrderPlacedData \{\n\s+orderId: Id;\n\s+total: Money;\n\}/,
    );
    expect(source).toContain("export interface DeadLetter {");
    expect(source).toContain("export type EventSubject = keyof EventPayloads;");
    expect(source).toMatch(/export const STREAMS = \{\n {2}"shop": \{\n {4}"name": "SHOP",/);
    expect(source).toMatch(/export const CONSUMERS = \{\n {2}"mail-order-confirmation": \{/);
  });
});
