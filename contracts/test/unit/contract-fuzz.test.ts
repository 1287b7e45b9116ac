/**
 * Regressions found by contract fuzzing (Schemathesis, `npm run test:fuzz`) whose fix lives in
 * the contracts: each replays what the fuzzer received against the public document.
 */
import { describe, expect, it } from "@jest/globals";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { loadContract } from "../../src/index.js";

const publicDocument = loadContract("public") as {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  components: { schemas: Record<string, Record<string, unknown>> };
};

function validator() {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema(publicDocument, "public");
  return (ref: string) => ajv.compile({ $ref: `public${ref}` });
}

/** The `GET /events` frame Schemathesis received, exactly as the gateway sent it. */
const NOTIFICATION_FRAME = {
  event: "notification",
  id: "1",
  data: JSON.stringify({
    id: "01a1fcf4-7088-74af-b4e5-93dfca6a3633",
    body: "Espresso cup is back in stock (25 available).",
    type: "back_in_stock",
    title: "Espresso cup is back in stock",
    readAt: null,
    createdAt: "2026-11-21T07:14:00.455Z",
    productId: "01a1fcf4-41e8-747a-b847-35e08ebdb85e",
  }),
};

describe("GET /events: Server-Sent Events as sent (ST108 'SSE event violates schema')", () => {
  const response = publicDocument.paths["/events"]?.get?.responses["200"] as {
    content: Record<string, { schema: { $ref: string } }>;
  };
  const frameRef = response.content["text/event-stream"]?.schema.$ref ?? "";

  it("describes each event's data as JSON text, not as an object", () => {
    const compile = validator();
    expect(compile(frameRef)(NOTIFICATION_FRAME)).toBe(true);
    const parsed = { ...NOTIFICATION_FRAME, data: JSON.parse(NOTIFICATION_FRAME.data) };
    expect(compile(frameRef)(parsed)).toBe(false);
  });

  it("says what the JSON in data holds (contentMediaType + contentSchema)", () => {
    const compile = validator();
    for (const [event, frame] of Object.entries({
      notification: "NotificationStreamFrame",
      heartbeat: "HeartbeatStreamFrame",
    })) {
      const data = publicDocument.components.schemas[frame]?.properties as Record<
        string,
        { type?: string; contentMediaType?: string; contentSchema?: { $ref: string } }
      >;
      expect({ event, ...data.data, contentSchema: undefined }).toEqual({
        event,
        type: "string",
        contentMediaType: "application/json",
        contentSchema: undefined,
      });
      expect(data.data?.contentSchema?.$ref).toMatch(/^#\/components\/schemas\//);
    }
    const notification = publicDocument.components.schemas.NotificationStreamFrame?.properties as {
      data: { contentSchema: { $ref: string } };
    };
    expect(compile(notification.data.contentSchema.$ref)(JSON.parse(NOTIFICATION_FRAME.data))).toBe(
      true,
    );
  });
});

describe("GET /events with an oversized query (ST103 'Undocumented status code: 431')", () => {
  it("declares the 431 Problem the gateway's HTTP server answers (kit client-errors.ts)", () => {
    const responses = publicDocument.paths["/events"]?.get?.responses as Record<
      string,
      { content?: Record<string, unknown> }
    >;
    expect(Object.keys(responses["431"]?.content ?? {})).toEqual(["application/problem+json"]);
  });
});
