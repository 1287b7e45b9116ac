/**
 * Reliable event consumers: a durable JetStream pull consumer with explicit ack, an ack wait,
 * server-side redelivery back-off and a delivery limit. Each received envelope is validated
 * against its contract (contracts/events.yaml) before the handler sees it; an invalid one, or one
 * whose handler still fails at the last delivery, is published to the dead-letter stream with the
 * reason and terminated. A dead letter that cannot be published is retried, never dropped.
 *
 * Delivery is at least once: handlers must be idempotent (see `processOnce`).
 */
import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  type EventEnvelope,
  type EventSubject,
  type EventValidation,
  type EventValidationError,
  STREAMS,
  validateEvent as validateAgainstContract,
} from "@portico/contracts";
import { type DeadLetterRecord, publishDeadLetter } from "./dead-letter.js";
import { withEventOrigin } from "./event-origin.js";
import type { Logger } from "./logger.js";
import { serviceMetrics } from "./metrics.js";
import { ensureStream } from "./nats.js";
import { extractTraceContext, SpanKind, TRACEPARENT_HEADER, withSpan } from "./telemetry.js";

/** Validates an envelope received on `subject` (default: `validateEvent` of the contracts). */
export type EventValidator = (subject: string, envelope: unknown) => EventValidation;

/** Seconds before each redelivery (JetStream `backoff`), unless a consumer sets its own. */
export const DEFAULT_BACKOFF_SECONDS: readonly number[] = [5, 15, 60, 180];
/** Deliveries (handler attempts) before a failing message is dead-lettered. */
export const DEFAULT_MAX_DELIVER = 5;
/**
 * Deliveries JetStream allows beyond `maxDeliver`: used only when publishing a dead letter
 * failed, so the message comes back and its dead-lettering is retried instead of being dropped.
 */
export const DEAD_LETTER_RETRIES = 5;

/** Options of {@link consumeEvents}. */
export interface ConsumerOptions<S extends EventSubject> {
  /** Stream that holds the subject. */
  stream: string;
  /** Durable consumer name: `<consumer-service>-<purpose>`; shared by every instance. */
  durable: string;
  subject: S;
  /**
   * Applies one valid event; must be idempotent. Resolving acknowledges the message; throwing
   * makes JetStream redeliver it after the back-off, and dead-letters it at the last delivery.
   */
  handle: (event: EventEnvelope<S>, context: { requestId?: string; msg: JsMsg }) => Promise<void>;
  log: Logger;
  /**
   * Seconds JetStream waits before redelivering: entry n-1 after the n-th delivery failed or went
   * unacknowledged (the last entry repeats). The first entry is therefore also the ack wait; a
   * running handler keeps its delivery alive with progress acks. Default
   * {@link DEFAULT_BACKOFF_SECONDS}.
   */
  backoffSeconds?: readonly number[];
  /** Handler attempts before the message is dead-lettered. Default {@link DEFAULT_MAX_DELIVER}. */
  maxDeliver?: number;
  /** Envelope validation; default `validateEvent` of `@portico/contracts`. */
  validate?: EventValidator;
}

/** A running consumer. */
export interface RunningConsumer {
  /** Stops pulling, waits for the message in hand to settle. */
  stop(): Promise<void>;
}

/** The body of a message: parsed JSON when it is JSON, else its text. */
type Body = { json: true; value: unknown } | { json: false; value: string };

function readBody(msg: JsMsg): Body {
  try {
    return { json: true, value: msg.json<unknown>() };
  } catch {
    return { json: false, value: msg.string() };
  }
}

/** The validation errors in one line: `/data/stock must be >= 1; /id must match format "uuid"`. */
export function describeValidationErrors(errors: readonly EventValidationError[]): string {
  return errors.map((e) => `${e.path || "(envelope)"} ${e.message}`).join("; ");
}

/** The message of a thrown value. */
function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The JetStream consumer configuration for these options.
 * @throws Error when the options are out of range (no back-off, non-positive values).
 */
export function consumerConfig<S extends EventSubject>(
  options: Pick<ConsumerOptions<S>, "durable" | "subject" | "backoffSeconds" | "maxDeliver">,
): Partial<ConsumerConfig> & { durable_name: string } {
  const backoff = options.backoffSeconds ?? DEFAULT_BACKOFF_SECONDS;
  const maxDeliver = options.maxDeliver ?? DEFAULT_MAX_DELIVER;
  if (backoff.length === 0 || backoff.some((s) => !(s > 0))) {
    throw new Error(`${options.durable}: backoffSeconds must be positive numbers`);
  }
  if (!Number.isInteger(maxDeliver) || maxDeliver < 1) {
    throw new Error(`${options.durable}: maxDeliver must be a positive integer`);
  }
  const nanos = (seconds: number) => Math.round(seconds * 1_000_000_000);
  return {
    durable_name: options.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: options.subject,
    // With a back-off, JetStream uses its first entry as the ack wait; say so explicitly.
    ack_wait: nanos(backoff[0] as number),
    backoff: backoff.map(nanos),
    // JetStream requires max_deliver > backoff.length.
    max_deliver: Math.max(maxDeliver + DEAD_LETTER_RETRIES, backoff.length + 1),
  };
}

/** Creates the durable consumer, or updates it to `config`. */
async function upsertConsumer(
  nc: NatsConnection,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.consumers.info(stream, config.durable_name);
  } catch (err) {
    if (!String((err as Error).message).includes("not found")) throw err;
    await jsm.consumers.add(stream, config);
    return;
  }
  await jsm.consumers.update(stream, config.durable_name, config);
}

/**
 * Consumes one event subject through a durable pull consumer, one message at a time (several
 * instances sharing the durable name share the work). For each message:
 * - not JSON, or not valid against the subject's contract → dead-lettered at once;
 * - handled → acknowledged;
 * - handler failed before the last delivery → negatively acknowledged with the back-off delay;
 * - handler failed at delivery `maxDeliver` or later → dead-lettered with the handler's error.
 * Dead-lettering publishes to `deadletter.<durable>` (stream `DEADLETTER`, declared here) and then
 * terminates the message; when the publish fails the message is nak'ed and comes back.
 * @returns a stop function that ends consumption.
 * @throws Error when the options are out of range or JetStream refuses the consumer.
 */
export async function consumeEvents<S extends EventSubject>(
  nc: NatsConnection,
  options: ConsumerOptions<S>,
): Promise<RunningConsumer> {
  const config = consumerConfig(options);
  const backoffMs = (options.backoffSeconds ?? DEFAULT_BACKOFF_SECONDS).map((s) => s * 1_000);
  const maxDeliver = options.maxDeliver ?? DEFAULT_MAX_DELIVER;
  const validate = options.validate ?? validateAgainstContract;
  const { log, durable, stream } = options;

  await ensureStream(nc, STREAMS.deadletter);
  await upsertConsumer(nc, stream, config);

  /** Delay before the delivery after the `deliveries`-th, as JetStream's back-off would pick. */
  const retryDelay = (deliveries: number) =>
    backoffMs[Math.min(deliveries - 1, backoffMs.length - 1)] as number;
  // Progress acks while a handler runs, well inside the shortest redelivery timeout.
  const heartbeatMs = Math.max(100, Math.min(...backoffMs) / 3);
  const { consumerProcessed, consumerFailed } = serviceMetrics();

  async function deadLetter(
    msg: JsMsg,
    body: Body,
    error: string,
    requestId: string | undefined,
  ): Promise<void> {
    const record: DeadLetterRecord = {
      subject: msg.subject,
      streamSequence: msg.seq,
      consumer: durable,
      deliveries: msg.info.deliveryCount,
      error,
      envelope: body.value,
      deadLetteredAt: new Date().toISOString(),
    };
    try {
      await publishDeadLetter(nc, record, { stream, ...(requestId ? { requestId } : {}) });
    } catch (err) {
      // Keep the message: it comes back after the back-off and dead-lettering is retried.
      log.error(
        { err, subject: msg.subject, seq: msg.seq, requestId },
        "dead letter not published; message kept for a retry",
      );
      msg.nak(retryDelay(msg.info.deliveryCount));
      return;
    }
    log.error(
      { subject: msg.subject, seq: msg.seq, deliveries: record.deliveries, error, requestId },
      "message dead-lettered",
    );
    consumerFailed.inc({ consumer: durable, subject: msg.subject, outcome: "dead_lettered" });
    // No reason on the term: nats-server before 2.10.4 ignores `+TERM <reason>` and redelivers.
    msg.term();
  }

  async function handleMessage(msg: JsMsg): Promise<void> {
    const requestId = msg.headers?.get("X-Request-Id") || undefined;
    const body = readBody(msg);
    if (!body.json) {
      await deadLetter(msg, body, "the message body is not JSON", requestId);
      return;
    }
    const validation = validate(msg.subject, body.value);
    if (!validation.valid) {
      const reason = `the envelope violates the ${msg.subject} contract: ${describeValidationErrors(validation.errors)}`;
      await deadLetter(msg, body, reason, requestId);
      return;
    }
    const heartbeat = setInterval(() => msg.working(), heartbeatMs);
    // A CONSUMER span, child of the publisher's (the W3C traceparent the outbox relay set).
    const traceparent = msg.headers?.get(TRACEPARENT_HEADER) || undefined;
    const span = {
      kind: SpanKind.CONSUMER,
      parent: extractTraceContext(traceparent ? { [TRACEPARENT_HEADER]: traceparent } : {}),
      attributes: {
        "messaging.system": "nats",
        "messaging.operation.type": "process",
        "messaging.destination.name": msg.subject,
        "messaging.consumer.group.name": durable,
        "messaging.message.id": (body.value as { id?: string }).id ?? "",
      },
    };
    try {
      // Events the handler writes to the outbox carry the request id and trace context of the
      // message it applies (see withEventOrigin), as a request's handler's carry the request's.
      const origin = requestId ? { requestId, traceparent } : undefined;
      const apply = () =>
        options.handle(body.value as EventEnvelope<S>, {
          ...(requestId ? { requestId } : {}),
          msg,
        });
      await withSpan(`process ${msg.subject}`, span, () =>
        origin ? withEventOrigin(origin, apply) : apply(),
      );
    } catch (err) {
      const deliveries = msg.info.deliveryCount;
      if (deliveries >= maxDeliver) {
        await deadLetter(msg, body, messageOf(err), requestId);
        return;
      }
      log.warn(
        { err, subject: msg.subject, seq: msg.seq, deliveries, requestId },
        "event handling failed; will be redelivered",
      );
      consumerFailed.inc({ consumer: durable, subject: msg.subject, outcome: "retried" });
      msg.nak(retryDelay(deliveries));
      return;
    } finally {
      clearInterval(heartbeat);
    }
    msg.ack();
    consumerProcessed.inc({ consumer: durable, subject: msg.subject });
  }

  const consumer = await jetstream(nc).consumers.get(stream, durable);
  // One message at a time: a prefetched message would wait unacknowledged behind the one in hand
  // and could be redelivered (spending a delivery) before its handler ever ran.
  // A short pull expiry re-issues pulls soon after a server or consumer leader fails over
  // (the 30 s default left consumers idle for up to ~45 s in the cluster fault test).
  const messages = await consumer.consume({ max_messages: 1, expires: 5_000 });
  const done = (async () => {
    for await (const msg of messages) {
      await handleMessage(msg).catch((err: unknown) => {
        log.error({ err, subject: msg.subject, seq: msg.seq }, "message left for redelivery");
      });
    }
  })();
  return {
    stop: async () => {
      await messages.close();
      await done;
    },
  };
}
