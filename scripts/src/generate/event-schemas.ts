/**
 * Self-contained JSON Schemas (draft-07, the base of AsyncAPI's Schema Object) of the event
 * envelopes and of the dead letter: what `contracts/generated/events.schemas.json` holds and what
 * ajv compiles at run time. Each schema carries the component schemas it reaches under
 * `definitions`, so it needs no other document. The file also lists the streams and durable
 * consumers (as `STREAMS` and `CONSUMERS` in events.ts), for services not written in TypeScript.
 */
import type { JsonSchema } from "./asyncapi.js";
import type { EventsModel } from "./event-model.js";

/** The JSON Schema dialect of every generated schema. */
export const SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#";

const COMPONENT_REF = "#/components/schemas/";
const DEFINITION_REF = "#/definitions/";

/** The content of `events.schemas.json` (before the DO-NOT-EDIT marker is added). */
export interface EventSchemasFile {
  description: string;
  /** Event subject → JSON Schema of its envelope. */
  events: Record<string, JsonSchema>;
  /** JSON Schema of a dead letter (the payload on `deadletter.>`). */
  deadLetter: JsonSchema;
  /** The JetStream streams by key (lower-case name), each with exactly the subjects it holds. */
  streams: Record<string, { name: string; subjects: string[] }>;
  /** The durable consumers by durable name: stream, subject and consuming service. */
  consumers: Record<string, { durable: string; stream: string; subject: string; service: string }>;
}

/** Builds the self-contained schemas of every event envelope and of the dead letter. */
export function buildEventSchemas(model: EventsModel): EventSchemasFile {
  const events: Record<string, JsonSchema> = {};
  for (const event of model.events) {
    events[event.subject] = selfContained(
      { title: event.subject, description: event.summary, ...event.envelope },
      model.schemas,
    );
  }
  return {
    description:
      "JSON Schema (draft-07) of each event's envelope, by subject, and of a dead letter; each schema is self-contained. Also the JetStream streams and durable consumers. Source: contracts/events.yaml.",
    events,
    deadLetter: selfContained(
      { title: model.deadLetter.schema, ...model.schemas[model.deadLetter.schema] },
      model.schemas,
    ),
    streams: Object.fromEntries(
      model.streams.map((s) => [s.key, { name: s.name, subjects: [...s.subjects] }]),
    ),
    consumers: Object.fromEntries(model.consumers.map((c) => [c.durable, { ...c }])),
  };
}

/**
 * `root` with its component references rewritten to `#/definitions/<Name>` and the component
 * schemas it reaches (transitively) under `definitions`, in the document's order.
 * @throws Error when a reference names no component schema.
 */
export function selfContained(
  root: JsonSchema,
  components: Record<string, JsonSchema>,
): JsonSchema {
  const reached = new Set<string>();
  const pending = [root];
  for (let schema = pending.pop(); schema; schema = pending.pop()) {
    for (const name of componentRefs(schema)) {
      if (reached.has(name)) continue;
      const component = components[name];
      if (!component) throw new Error(`$ref ${COMPONENT_REF}${name} names no component schema`);
      reached.add(name);
      pending.push(component);
    }
  }
  const definitions = Object.fromEntries(
    Object.keys(components)
      .filter((name) => reached.has(name))
      .map((name) => [name, toDefinitionRefs(components[name])]),
  );
  const schema = { $schema: SCHEMA_DIALECT, ...(toDefinitionRefs(root) as JsonSchema) };
  return Object.keys(definitions).length > 0 ? { ...schema, definitions } : schema;
}

/** The component names that `schema` references directly or in its subschemas. */
function componentRefs(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(componentRefs);
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    key === "$ref" && typeof inner === "string" && inner.startsWith(COMPONENT_REF)
      ? [inner.slice(COMPONENT_REF.length)]
      : componentRefs(inner),
  );
}

/**
 * A deep copy of `value` whose `#/components/schemas/<Name>` references become
 * `#/definitions/<Name>` (where a self-contained schema keeps them).
 */
export function toDefinitionRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toDefinitionRefs);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      key === "$ref" && typeof inner === "string" && inner.startsWith(COMPONENT_REF)
        ? `${DEFINITION_REF}${inner.slice(COMPONENT_REF.length)}`
        : toDefinitionRefs(inner),
    ]),
  );
}
