/**
 * NATS wiring shared by every service: connection, JetStream streams declared in
 * `@portico/contracts`, event publishing in the Portico envelope, and request/reply queries over
 * the NATS service API. Durable consumers are in consumer.ts.
 */
import { type JetStreamClient, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Svcm } from "@nats-io/services";
import { connect, type NatsConnection, headers as natsHeaders } from "@nats-io/transport-node";
import type {
  EventEnvelope,
  EventPayloads,
  EventSubject,
  QueryReply,
  QueryRequest,
  QuerySubject,
  StreamDeclaration,
} from "@portico/contracts";
import { v7 as uuidv7 } from "uuid";
import type { Logger } from "./logger.js";
import {
  extractTraceContext,
  SpanKind,
  TRACEPARENT_HEADER,
  traceHeaders,
  withSpan,
} from "./telemetry.js";

export type { JsMsg } from "@nats-io/jetstream";
export type { NatsConnection } from "@nats-io/transport-node";

/**
 * Connects to NATS and keeps reconnecting forever; logs disconnects and reconnects.
 * @param url comma-separated server URLs, e.g. `nats://127.0.0.1:4222`.
 * @throws Error when no server answers the first connection attempt.
 */
export async function connectNats(url: string, name: string, log: Logger): Promise<NatsConnection> {
  const nc = await connect({
    servers: url.split(","),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  });
  (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect" || status.type === "reconnect") {
        log.warn({ nats: status.type }, `NATS ${status.type}`);
      }
    }
  })().catch(() => undefined);
  return nc;
}

/** Readiness check: a round trip to the NATS server. */
export async function pingNats(nc: NatsConnection): Promise<void> {
  if (nc.isClosed()) throw new Error("connection closed");
  await nc.flush();
}

/**
 * The stream replica count from `NATS_STREAM_REPLICAS` (1 when unset; 3 on a 3-node NATS cluster).
 * @throws Error when the variable is set but not an integer from 1 to 5 (JetStream's maximum).
 */
export function streamReplicasFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.NATS_STREAM_REPLICAS;
  if (raw === undefined || raw === "") return 1;
  const replicas = Number(raw);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) {
    throw new Error(`NATS_STREAM_REPLICAS must be an integer from 1 to 5 (got "${raw}")`);
  }
  return replicas;
}

/**
 * Creates the JetStream stream of a publishing service, or updates its subjects and replica count
 * (file storage; a 2-minute duplicate window de-duplicates by `Nats-Msg-Id`).
 * @param options.replicas copies of the stream kept by a NATS cluster (at most its node count);
 *   default {@link streamReplicasFromEnv}.
 */
export async function ensureStream(
  nc: NatsConnection,
  stream: StreamDeclaration,
  options: { replicas?: number } = {},
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const config = {
    name: stream.name,
    subjects: [...stream.subjects],
    duplicate_window: 120_000_000_000,
    num_replicas: options.replicas ?? streamReplicasFromEnv(),
  };
  try {
    await jsm.streams.info(stream.name);
    await jsm.streams.update(stream.name, config);
  } catch (err) {
    if (!String((err as Error).message).includes("not found")) throw err;
    await jsm.streams.add(config);
  }
}

/** Publishes events of one service to JetStream. */
export interface EventPublisher {
  /**
   * Publishes `data` on `subject` in the Portico envelope and waits for JetStream's ack.
   * @param aggregateId the id of the entity the event is about (envelope `subject`).
   * @throws Error when JetStream does not acknowledge (no stream, NATS down, timeout).
   */
  publish<S extends EventSubject>(
    subject: S,
    aggregateId: string,
    data: EventPayloads[S],
    context?: { requestId?: string },
  ): Promise<EventEnvelope<S>>;
}

/**
 * The Portico envelope of a new event (contracts/events.yaml): `id` UUID v7 (time-ordered; also
 * the `Nats-Msg-Id`), `type` = subject, `occurredAt` RFC 3339 UTC, `source`, `subject` = the
 * aggregate id, `data`.
 */
export function newEnvelope<S extends EventSubject>(
  source: string,
  subject: S,
  aggregateId: string,
  data: EventPayloads[S],
): EventEnvelope<S> {
  return {
    id: uuidv7(),
    type: subject,
    occurredAt: new Date().toISOString(),
    source,
    subject: aggregateId,
    data,
  };
}

/**
 * An {@link EventPublisher} for the service named `source`: publishes directly, outside any
 * database transaction and without contract validation. Services publish through the
 * transactional outbox (outbox.ts); this is for tools and tests that inject events.
 */
export function createEventPublisher(nc: NatsConnection, source: string): EventPublisher {
  const js: JetStreamClient = jetstream(nc);
  return {
    async publish(subject, aggregateId, data, context = {}) {
      const envelope = newEnvelope(source, subject, aggregateId, data);
      const h = natsHeaders();
      if (context.requestId) h.set("X-Request-Id", context.requestId);
      for (const [name, value] of Object.entries(traceHeaders())) h.set(name, value);
      await js.publish(subject, JSON.stringify(envelope), { msgID: envelope.id, headers: h });
      return envelope;
    },
  };
}

/** Handlers of the request/reply queries one service answers. */
export type QueryHandlers = {
  [S in QuerySubject]?: (request: QueryRequest<S>) => Promise<QueryReply<S>>;
};

/**
 * Serves queries with the NATS service API (discoverable under `$SRV.*`, load-balanced over a
 * queue group between instances). A handler error is answered as a service error.
 */
export async function serveQueries(
  nc: NatsConnection,
  service: { name: string; version: string; description?: string },
  handlers: QueryHandlers,
  log: Logger,
): Promise<{ stop: () => Promise<void> }> {
  // @nats-io/services pins its own nats-core copy; the connection is the same at run time.
  const svc = await new Svcm(nc as unknown as ConstructorParameters<typeof Svcm>[0]).add(service);
  for (const [subject, handle] of Object.entries(handlers)) {
    const name = subject.split(".").pop() ?? subject;
    svc.addEndpoint(name, {
      subject,
      handler: (err, msg) => {
        if (err) return;
        // A SERVER span, child of the asking side's (its traceparent header), when tracing is on.
        const traceparent = msg.headers?.get(TRACEPARENT_HEADER) || undefined;
        const parent = extractTraceContext(
          traceparent ? { [TRACEPARENT_HEADER]: traceparent } : {},
        );
        const attributes = { "messaging.system": "nats", "messaging.destination.name": subject };
        withSpan(`serve ${subject}`, { kind: SpanKind.SERVER, parent, attributes }, () =>
          (handle as (r: unknown) => Promise<unknown>)(msg.json()),
        )
          .then((reply) => msg.respond(JSON.stringify(reply)))
          .catch((e: unknown) => {
            log.error({ err: e, subject }, "query failed");
            msg.respondError(500, "query failed");
          });
      },
    });
  }
  return { stop: () => svc.stop().then(() => undefined) };
}

/**
 * Sends a query and waits for the reply.
 * @param timeoutMs how long to wait, in milliseconds.
 * @throws Error when no service answers (no responders), on timeout, or on a service error.
 */
export async function query<S extends QuerySubject>(
  nc: NatsConnection,
  subject: S,
  request: QueryRequest<S>,
  options: { timeoutMs?: number; requestId?: string } = {},
): Promise<QueryReply<S>> {
  const attributes = { "messaging.system": "nats", "messaging.destination.name": subject };
  const reply = await withSpan(`request ${subject}`, { kind: SpanKind.CLIENT, attributes }, () => {
    const h = natsHeaders();
    if (options.requestId) h.set("X-Request-Id", options.requestId);
    for (const [name, value] of Object.entries(traceHeaders())) h.set(name, value);
    return nc.request(subject, JSON.stringify(request), {
      timeout: options.timeoutMs ?? 2_000,
      headers: h,
    });
  });
  const code = reply.headers?.get("Nats-Service-Error-Code");
  if (code) throw new Error(`${subject}: ${reply.headers?.get("Nats-Service-Error") ?? code}`);
  return reply.json<QueryReply<S>>();
}
