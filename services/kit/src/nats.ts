/**
 * NATS wiring shared by every service: connection, JetStream streams declared in
 * `@portico/contracts`, event publishing in the Portico envelope, durable consumers with
 * explicit ack, and request/reply queries over the NATS service API.
 */
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
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
 * Creates the JetStream stream of a publishing service, or updates its subjects
 * (file storage; a 2-minute duplicate window de-duplicates by `Nats-Msg-Id`).
 */
export async function ensureStream(nc: NatsConnection, stream: StreamDeclaration): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const config = {
    name: stream.name,
    subjects: [...stream.subjects],
    duplicate_window: 120_000_000_000,
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

/** An {@link EventPublisher} for the service named `source`. */
export function createEventPublisher(nc: NatsConnection, source: string): EventPublisher {
  const js: JetStreamClient = jetstream(nc);
  return {
    async publish(subject, aggregateId, data, context = {}) {
      const envelope = {
        id: uuidv7(),
        type: subject,
        occurredAt: new Date().toISOString(),
        source,
        subject: aggregateId,
        data,
      };
      const h = natsHeaders();
      if (context.requestId) h.set("X-Request-Id", context.requestId);
      await js.publish(subject, JSON.stringify(envelope), { msgID: envelope.id, headers: h });
      return envelope;
    },
  };
}

/** Options of {@link consumeEvents}. */
export interface ConsumerOptions<S extends EventSubject> {
  /** Stream that holds the subject. */
  stream: string;
  /** Durable consumer name: `<consumer-service>-<purpose>`. */
  durable: string;
  subject: S;
  /** Applies one event. Throwing makes JetStream redeliver it after a back-off. */
  handle: (event: EventEnvelope<S>, context: { requestId?: string; msg: JsMsg }) => Promise<void>;
  log: Logger;
  /** Seconds JetStream waits for an ack before redelivering. */
  ackWaitSeconds?: number;
  /** Deliveries before JetStream gives up on a message. */
  maxDeliver?: number;
}

/**
 * Consumes one event subject through a durable pull consumer with explicit ack: a message is
 * acknowledged only after `handle` resolves; a failure is negatively acknowledged with a delay.
 * Several instances sharing the durable name share the work.
 * @returns a stop function that ends consumption.
 */
export async function consumeEvents<S extends EventSubject>(
  nc: NatsConnection,
  options: ConsumerOptions<S>,
): Promise<{ stop: () => Promise<void> }> {
  const jsm = await jetstreamManager(nc);
  const config = {
    durable_name: options.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: options.subject,
    ack_wait: (options.ackWaitSeconds ?? 30) * 1_000_000_000,
    max_deliver: options.maxDeliver ?? 10,
  };
  try {
    await jsm.consumers.info(options.stream, options.durable);
    await jsm.consumers.update(options.stream, options.durable, config);
  } catch (err) {
    if (!String((err as Error).message).includes("not found")) throw err;
    await jsm.consumers.add(options.stream, config);
  }
  const consumer = await jetstream(nc).consumers.get(options.stream, options.durable);
  const messages = await consumer.consume({ max_messages: 64 });
  const done = (async () => {
    for await (const msg of messages) {
      const requestId = msg.headers?.get("X-Request-Id") || undefined;
      let event: EventEnvelope<S>;
      try {
        event = msg.json<EventEnvelope<S>>();
      } catch (err) {
        // Not JSON: no redelivery can fix it, so stop delivering it at once. No reason on the
        // term: nats-server before 2.10.4 ignores `+TERM <reason>` and would redeliver.
        options.log.error({ err, subject: msg.subject, seq: msg.seq }, "malformed event dropped");
        msg.term();
        continue;
      }
      try {
        await options.handle(event, { ...(requestId ? { requestId } : {}), msg });
        msg.ack();
      } catch (err) {
        options.log.error(
          {
            err,
            subject: msg.subject,
            seq: msg.seq,
            deliveries: msg.info.deliveryCount,
            requestId,
          },
          "event handling failed; will be redelivered",
        );
        msg.nak(Math.min(30_000, 500 * 2 ** msg.info.deliveryCount));
      }
    }
  })();
  return {
    stop: async () => {
      await messages.close();
      await done;
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
        (handle as (r: unknown) => Promise<unknown>)(msg.json())
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
  const h = natsHeaders();
  if (options.requestId) h.set("X-Request-Id", options.requestId);
  const reply = await nc.request(subject, JSON.stringify(request), {
    timeout: options.timeoutMs ?? 2_000,
    headers: h,
  });
  const code = reply.headers?.get("Nats-Service-Error-Code");
  if (code) throw new Error(`${subject}: ${reply.headers?.get("Nats-Service-Error") ?? code}`);
  return reply.json<QueryReply<S>>();
}
