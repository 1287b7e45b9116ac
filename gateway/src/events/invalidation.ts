/**
 * Keeps the declared caches (http-cache.ts) consistent with the event stream: for each JetStream
 * stream holding a subject some `x-portico-cache` is invalidated by, an ordered consumer from the
 * stream's next sequence at start drops, the moment an event arrives, the entries of the
 * resource the event carries the key of (the envelope's `subject` unless the declaration names
 * another field). Whenever events could have been missed or be late — the NATS connection
 * dropped, a consumer was recreated or missed its heartbeats, an event without the declared key —
 * the whole cache is flushed (correctness over hit rate), and while NATS is disconnected the
 * cache is off.
 */
import { DeliverPolicy, type JsMsg, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { STREAMS } from "@portico/contracts";
import type { Logger } from "@portico/kit/core";
import { cacheInvalidations } from "../observability/metrics.js";
import { stringAt } from "../operations/extensions.js";
import type { OperationTable } from "../operations/table.js";
import { type ResponseCache, resourceOf } from "./response-cache.js";

/** Consumer status events after which events may have been missed or be late. */
const FLUSH_ON = new Set([
  "heartbeats_missed",
  "ordered_consumer_recreated",
  "reset",
  "consumer_deleted",
  "stream_not_found",
]);

/** What one event subject invalidates: the cached operation and where the event carries its key. */
export interface InvalidationRule {
  operationId: string;
  key: readonly string[];
}

/** The invalidation rules of `table`'s declared caches, by event subject. */
export function invalidationRules(table: OperationTable): Map<string, InvalidationRule[]> {
  const rules = new Map<string, InvalidationRule[]>();
  for (const { operationId, cache } of table.operations) {
    for (const { subjects, key } of cache?.invalidatedBy ?? []) {
      for (const subject of subjects) {
        rules.set(subject, [...(rules.get(subject) ?? []), { operationId, key }]);
      }
    }
  }
  return rules;
}

/**
 * The JetStream stream holding `subject` (contracts/events.yaml `x-portico-stream`).
 * @throws Error when no declared stream holds it.
 */
export function streamOf(subject: string): string {
  const stream = Object.values(STREAMS).find((s) =>
    (s.subjects as readonly string[]).includes(subject),
  );
  if (!stream) throw new Error(`no JetStream stream holds ${subject} (contracts/events.yaml)`);
  return stream.name;
}

/**
 * Drops the entries `msg` invalidates under `rules`; flushes everything when it is unreadable or
 * lacks a declared key (better a miss than a stale answer).
 */
export function invalidateFor(
  cache: ResponseCache,
  rules: ReadonlyMap<string, readonly InvalidationRule[]>,
  msg: Pick<JsMsg, "subject" | "data">,
  log: Logger,
): void {
  const applying = rules.get(msg.subject);
  if (!applying) return;
  let envelope: unknown;
  try {
    envelope = JSON.parse(new TextDecoder().decode(msg.data));
  } catch {
    envelope = undefined;
  }
  for (const { operationId, key } of applying) {
    const value = stringAt(envelope, key);
    if (value === undefined) {
      log.warn(
        { subject: msg.subject, key: key.join(".") },
        "event without its key: cache flushed",
      );
      cache.flush();
      cacheInvalidations.inc();
      return;
    }
    cache.invalidate(resourceOf(operationId, value));
    cacheInvalidations.inc();
  }
}

/**
 * Starts invalidating `cache` from the streams of `rules` on `nc` and enables the cache (empty).
 * @returns stops watching and disables the cache.
 * @throws Error when a stream does not exist or JetStream does not answer (the cache stays off).
 */
export async function watchInvalidations(
  nc: NatsConnection,
  cache: ResponseCache,
  rules: ReadonlyMap<string, readonly InvalidationRule[]>,
  log: Logger,
): Promise<() => Promise<void>> {
  const streams = [...new Set([...rules.keys()].map(streamOf))];
  const jsm = await jetstreamManager(nc);
  const consumers = await Promise.all(
    streams.map(async (stream) => {
      const info = await jsm.streams.info(stream);
      // An explicit start sequence: nats.js recreates an ordered consumer from its last delivered
      // sequence + 1, which for DeliverPolicy.New before any delivery would replay the stream.
      const consumer = await jetstream(nc).consumers.get(stream, {
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: info.state.last_seq + 1,
      });
      return { stream, messages: await consumer.consume({ max_messages: 256 }) };
    }),
  );
  let stopped = false;
  const watched = consumers.flatMap(({ stream, messages }) => [
    (async () => {
      for await (const status of messages.status()) {
        if (!FLUSH_ON.has(status.type)) continue;
        log.warn({ stream, consumer: status.type }, "events may have been missed: cache flushed");
        cache.flush();
      }
    })(),
    (async () => {
      for await (const msg of messages) invalidateFor(cache, rules, msg, log);
      if (!stopped) {
        cache.disable();
        log.error({ stream }, "cache invalidation consumer ended: cache off");
      }
    })(),
  ]);
  const connection = nc.status();
  const watchConnection = (async () => {
    for await (const status of connection) {
      if (status.type === "disconnect") {
        cache.disable();
        log.warn("NATS disconnected: cache off");
      } else if (status.type === "reconnect") {
        cache.enable();
        log.info("NATS reconnected: cache on (flushed)");
      }
    }
  })();

  cache.enable();
  return async () => {
    stopped = true;
    cache.disable();
    for (const { messages } of consumers) messages.stop();
    (connection as { stop?: () => void }).stop?.();
    await Promise.all([...watched, watchConnection].map((p) => p.catch(() => {})));
  };
}
