/**
 * What the generator reads from the bundled AsyncAPI document: each event (subject, stream,
 * publisher, envelope schema, data schema, examples), the JetStream streams, the durable
 * consumers and the dead-letter channel. Checks the house conventions the types rely on.
 */
import {
  type AsyncApiChannel,
  type AsyncApiDocument,
  type AsyncApiMessage,
  type JsonSchema,
  resolveLocal,
} from "./asyncapi.js";

/** The address of the dead-letter channel: the subject filter of the `DEADLETTER` stream. */
export const DEAD_LETTER_ADDRESS = "deadletter.>";

/** The envelope fields every event message's payload declares, all required. */
export const ENVELOPE_FIELDS = ["id", "type", "occurredAt", "source", "subject", "data"] as const;

const SCHEMA_REF = "#/components/schemas/";

/** One event: a channel whose address is an exact subject and whose payload is an envelope. */
export interface EventModel {
  /** The NATS subject, equal to the envelope `type`. */
  subject: string;
  /** The JetStream stream that holds it. */
  stream: string;
  /** The service that sends it (the envelope `source`). */
  publisher: string;
  /** The message's one-line summary. */
  summary: string;
  /** The envelope's JSON Schema, with `#/components/schemas/...` references. */
  envelope: JsonSchema;
  /** The name of the `components.schemas` entry of its `data`. */
  dataSchema: string;
  /** The envelopes of the message's examples, by example name. */
  examples: { name: string; envelope: unknown }[];
}

/** A JetStream stream and exactly the subjects (or filters) it captures, in document order. */
export interface StreamModel {
  /** The key in `STREAMS`: the stream name in lower case (the publishing service). */
  key: string;
  name: string;
  subjects: string[];
}

/** A durable consumer: one receive operation. */
export interface ConsumerModel {
  durable: string;
  stream: string;
  subject: string;
  /** The consuming service. */
  service: string;
}

/** Everything the generated event module and schemas are made of. */
export interface EventsModel {
  events: EventModel[];
  streams: StreamModel[];
  consumers: ConsumerModel[];
  deadLetter: {
    address: string;
    stream: string;
    /** The name of the `components.schemas` entry of the dead-letter payload. */
    schema: string;
    examples: { name: string; payload: unknown }[];
  };
  /** `components.schemas`, with `#/components/schemas/...` references between them. */
  schemas: Record<string, JsonSchema>;
}

/**
 * Reads the events model from a bundled AsyncAPI document (see `loadAsyncApi`).
 * @throws Error naming the channel or operation that breaks a convention: a channel without
 *   `x-portico-stream` or with other than one message; an event without exactly one sending
 *   service, whose payload is not an envelope with `type` = address and `source` = publisher,
 *   or whose `data` is not a `components.schemas` reference; a stream not named after its
 *   publisher; a receive operation without `x-portico-durable` = `<service>-<purpose>`; no
 *   `deadletter.>` channel.
 */
export function readEventsModel(doc: AsyncApiDocument): EventsModel {
  const streams = new Map<string, StreamModel>();
  const events: EventModel[] = [];
  let deadLetter: EventsModel["deadLetter"] | undefined;

  for (const [id, channel] of Object.entries(doc.channels)) {
    const where = `channels.${id} (${channel.address})`;
    const stream = channel["x-portico-stream"];
    if (!stream) throw new Error(`${where}: no x-portico-stream`);
    const key = stream.toLowerCase();
    const declared = streams.get(key) ?? { key, name: stream, subjects: [] };
    declared.subjects.push(channel.address);
    streams.set(key, declared);

    const messages = Object.values(channel.messages ?? {});
    const [only] = messages;
    if (!only || messages.length !== 1) throw new Error(`${where}: expected exactly one message`);
    const message = resolveLocal<AsyncApiMessage>(doc, only);
    const payload = resolveLocal<JsonSchema>(doc, message.payload ?? {});

    if (channel.address === DEAD_LETTER_ADDRESS) {
      deadLetter = {
        address: channel.address,
        stream,
        schema: schemaName(message.payload, `${where}: payload`),
        examples: (message.examples ?? []).map((e, i) => ({
          name: e.name ?? `example${i + 1}`,
          payload: e.payload,
        })),
      };
      continue;
    }
    if (/[*>]/.test(channel.address)) throw new Error(`${where}: an event subject is exact`);

    const publisher = publisherOf(doc, id, where);
    if (stream !== publisher.toUpperCase()) {
      throw new Error(`${where}: stream ${stream} is not named after its publisher ${publisher}`);
    }
    const properties = (payload.properties ?? {}) as Record<string, JsonSchema>;
    const required = (payload.required ?? []) as string[];
    for (const field of ENVELOPE_FIELDS) {
      if (!properties[field] || !required.includes(field)) {
        throw new Error(`${where}: the payload envelope lacks required "${field}"`);
      }
    }
    if (properties.type?.const !== channel.address) {
      throw new Error(`${where}: envelope "type" must be const ${channel.address}`);
    }
    if (properties.source?.const !== publisher) {
      throw new Error(`${where}: envelope "source" must be const ${publisher}`);
    }
    events.push({
      subject: channel.address,
      stream,
      publisher,
      summary: message.summary ?? message.title ?? channel.address,
      envelope: payload,
      dataSchema: schemaName(properties.data, `${where}: data`),
      examples: (message.examples ?? []).map((e, i) => ({
        name: e.name ?? `example${i + 1}`,
        envelope: e.payload,
      })),
    });
  }

  if (!deadLetter) throw new Error(`no channel with address ${DEAD_LETTER_ADDRESS}`);
  return {
    events,
    streams: [...streams.values()],
    consumers: consumersOf(doc),
    deadLetter,
    schemas: doc.components.schemas ?? {},
  };
}

/** The name of the `components.schemas` entry a `{ $ref }` points at. */
function schemaName(schema: unknown, where: string): string {
  const ref = (schema as { $ref?: unknown } | undefined)?.$ref;
  if (typeof ref !== "string" || !ref.startsWith(SCHEMA_REF)) {
    throw new Error(`${where} must be a $ref to ${SCHEMA_REF}<Name>`);
  }
  return ref.slice(SCHEMA_REF.length);
}

/** The one service that sends on channel `id`. */
function publisherOf(doc: AsyncApiDocument, id: string, where: string): string {
  const senders = Object.values(doc.operations)
    .filter((op) => op.action === "send" && op.channel.$ref === `#/channels/${id}`)
    .map((op) => op["x-portico-service"]);
  const [publisher] = senders;
  if (senders.length !== 1 || !publisher || publisher === "*") {
    throw new Error(`${where}: expected exactly one send operation with x-portico-service`);
  }
  return publisher;
}

/** The durable consumers: one per receive operation, in document order. */
function consumersOf(doc: AsyncApiDocument): ConsumerModel[] {
  return Object.entries(doc.operations)
    .filter(([, op]) => op.action === "receive")
    .map(([id, op]) => {
      const service = op["x-portico-service"];
      const durable = op["x-portico-durable"];
      if (!service || !durable?.startsWith(`${service}-`)) {
        throw new Error(
          `operations.${id}: a receive operation needs x-portico-service and an x-portico-durable named <service>-<purpose>`,
        );
      }
      const channel = resolveLocal<AsyncApiChannel>(doc, op.channel);
      const stream = channel["x-portico-stream"];
      if (!stream) throw new Error(`operations.${id}: its channel has no x-portico-stream`);
      return { durable, stream, subject: channel.address, service };
    });
}
