/**
 * Declares a scaffolded service's `<name>.<entity>.created` event in contracts/events.yaml
 * (AsyncAPI 3.0): its channel on the service's stream, the send operation, the message with the
 * Portico envelope, and its payload schema. Edited through the `yaml` package's Document API, so
 * every comment and the layout of the rest of the file are kept.
 */
import { isDeepStrictEqual } from "node:util";
import { isMap, parseDocument, stringify, type YAMLMap } from "yaml";
import { fill, type Placeholders } from "./names.js";

/** The values of the event's example (the contract's examples use the same entity). */
const EXAMPLE = {
  eventId: "0192f0c2-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
  id: "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10",
  at: "2026-11-21T09:31:00.000Z",
  entity: {
    id: "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10",
    name: "First __entity__",
    ownerId: "0192f0c1-7b00-7a11-8c22-3d4e5f607182",
    createdAt: "2026-11-21T09:31:00.000Z",
  },
};

/** The additions, with placeholders (see names.ts), by path in the document. */
const ADDITIONS: [path: string[], value: unknown][] = [
  [
    ["channels", "__entity__Created"],
    {
      address: "__name__.__entity__.created",
      title: "__Entity__ created",
      "x-portico-stream": "__NAME__",
      messages: {
        __entity__Created: { $ref: "#/components/messages/__Entity__Created" },
      },
    },
  ],
  [
    ["operations", "send__Entity__Created"],
    {
      action: "send",
      title: "__name__ publishes __name__.__entity__.created",
      "x-portico-service": "__name__",
      channel: { $ref: "#/channels/__entity__Created" },
      messages: [{ $ref: "#/channels/__entity__Created/messages/__entity__Created" }],
    },
  ],
  [
    ["components", "messages", "__Entity__Created"],
    {
      name: "__name__.__entity__.created",
      title: "__Entity__ created",
      summary: "A new __entity__ was created.",
      contentType: "application/json",
      traits: [{ $ref: "#/components/messageTraits/EventHeaders" }],
      payload: {
        type: "object",
        additionalProperties: false,
        required: ["id", "type", "occurredAt", "source", "subject", "data"],
        properties: {
          id: { $ref: "#/components/schemas/EventId" },
          type: { const: "__name__.__entity__.created" },
          occurredAt: { $ref: "./components.yaml#/components/schemas/Timestamp" },
          source: { const: "__name__" },
          subject: { $ref: "./components.yaml#/components/schemas/Uuid" },
          data: { $ref: "#/components/schemas/__Entity__CreatedData" },
        },
      },
      examples: [
        {
          name: "first__Entity__",
          headers: { "Nats-Msg-Id": EXAMPLE.eventId },
          payload: {
            id: EXAMPLE.eventId,
            type: "__name__.__entity__.created",
            occurredAt: EXAMPLE.at,
            source: "__name__",
            subject: EXAMPLE.id,
            data: { __entity__: EXAMPLE.entity },
          },
        },
      ],
    },
  ],
  [
    ["components", "schemas", "__Entity__CreatedData"],
    {
      type: "object",
      additionalProperties: false,
      required: ["__entity__"],
      properties: {
        __entity__: {
          type: "object",
          description: "The __entity__ as `GET /__name__/{__entity__Id}` answers it.",
          additionalProperties: false,
          required: ["id", "name", "ownerId", "createdAt"],
          properties: {
            id: { $ref: "./components.yaml#/components/schemas/Uuid" },
            name: { type: "string", minLength: 1, maxLength: 200 },
            ownerId: { $ref: "./components.yaml#/components/schemas/Uuid" },
            createdAt: { $ref: "./components.yaml#/components/schemas/Timestamp" },
          },
        },
      },
    },
  ],
];

/** The column where the items of the block map `map` start in `text`. */
function indentOf(text: string, map: YAMLMap): number {
  const first = map.items[0]?.key as { range?: [number, number, number] } | undefined;
  const start = first?.range?.[0];
  if (start === undefined) throw new Error("events.yaml: an empty section cannot be extended");
  return start - (text.lastIndexOf("\n", start - 1) + 1);
}

/**
 * events.yaml's text with the service's created event added. Each addition is rendered on its
 * own and inserted as text at the end of its section, so every other byte of the file (comments,
 * folded descriptions, flow mappings) stays as it was; the result is parsed again and checked.
 * @throws Error when the document does not parse, lacks one of the sections, or already declares
 *   one of the additions.
 */
export function withCreatedEvent(eventsYaml: string, placeholders: Placeholders): string {
  let text = eventsYaml;
  for (const [rawPath, value] of ADDITIONS) {
    const path = rawPath.map((key) => fill(key, placeholders));
    const doc = parseDocument(text);
    if (doc.errors.length > 0) throw new Error(`events.yaml: ${doc.errors[0]?.message}`);
    const section = doc.getIn(path.slice(0, -1), true);
    if (!isMap(section) || section.flow) {
      throw new Error(`events.yaml has no block section ${path.slice(0, -1).join(".")}`);
    }
    if (doc.hasIn(path)) throw new Error(`events.yaml already declares ${path.join(".")}`);
    const filled = JSON.parse(fill(JSON.stringify(value), placeholders)) as unknown;
    const indent = " ".repeat(indentOf(text, section));
    const rendered = stringify({ [path.at(-1) as string]: filled }, { lineWidth: 0 })
      .trimEnd()
      .split("\n")
      .map((line) => `${indent}${line}`)
      .join("\n");
    // After the section's last item: its value's end, then the end of that line.
    const valueEnd = (section.range as [number, number, number])[1];
    const lineEnd = text.indexOf("\n", valueEnd - 1);
    const at = lineEnd === -1 ? text.length : lineEnd + 1;
    text = `${text.slice(0, at)}${at === text.length && !text.endsWith("\n") ? "\n" : ""}${rendered}\n${text.slice(at)}`;
    const check = parseDocument(text);
    const inserted = path.reduce<unknown>(
      (node, key) => (node as Record<string, unknown> | undefined)?.[key],
      check.toJS(),
    );
    if (check.errors.length > 0 || !isDeepStrictEqual(inserted, filled)) {
      throw new Error(
        `events.yaml: inserting ${path.join(".")} did not give the expected document`,
      );
    }
  }
  return text;
}
