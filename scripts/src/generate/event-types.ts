/**
 * The TypeScript module generated from the events document (`contracts/generated/events.ts`):
 * payload types by json-schema-to-typescript, then the declarations derived from the document
 * (subjects, streams, consumers) as constants.
 */
import { compile } from "json-schema-to-typescript";
import type { JsonSchema } from "./asyncapi.js";
import type { EventsModel } from "./event-model.js";
import { toDefinitionRefs } from "./event-schemas.js";

/**
 * The JSON Schema the types are compiled from: `EventPayloads` (subject → its `data` schema)
 * with every component schema as a definition, so that each becomes a named type (`Money`,
 * `ProductSnapshot`, `DeadLetter`, ...).
 */
export function payloadTypesSchema(model: EventsModel): JsonSchema {
  return {
    title: "EventPayloads",
    description: "Every event subject and the shape of its `data`.",
    type: "object",
    additionalProperties: false,
    required: model.events.map((e) => e.subject),
    properties: Object.fromEntries(
      model.events.map((e) => [e.subject, { $ref: `#/definitions/${e.dataSchema}` }]),
    ),
    definitions: toDefinitionRefs(model.schemas),
  };
}

/**
 * The generated module's source.
 * @param header the first line (the DO-NOT-EDIT comment).
 */
export async function buildEventTypes(model: EventsModel, header: string): Promise<string> {
  const types = await compile(payloadTypesSchema(model), "EventPayloads", {
    bannerComment: "",
    // Emit the dead letter and other schemas no event payload references.
    unreachableDefinitions: true,
    style: { printWidth: 100, trailingComma: "all" },
  });
  const streams = Object.fromEntries(
    model.streams.map((s) => [s.key, { name: s.name, subjects: s.subjects }]),
  );
  const consumers = Object.fromEntries(model.consumers.map((c) => [c.durable, c]));
  return `${header}
// Source: contracts/events.yaml (AsyncAPI 3.0).

${types}
/** An event subject, e.g. \`products.product.back_in_stock\`. */
export type EventSubject = keyof EventPayloads;

/**
 * The JetStream streams, keyed by the lower-case stream name (the publishing service; the
 * dead-letter stream is published to by any consumer), each with exactly the subjects it holds.
 */
export const STREAMS = ${literal(streams)} as const;

/**
 * The durable JetStream consumers, by durable name: the stream and subject each reads and the
 * service whose instances share it.
 */
export const CONSUMERS = ${literal(consumers)} as const;
`;
}

/** A JSON value as a TypeScript literal (2-space indented). */
function literal(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
