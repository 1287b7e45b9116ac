/**
 * Keeps the product cache consistent with the event stream: an ordered consumer of the `PRODUCTS`
 * JetStream stream, from the next sequence at start, drops the cached product of every event the
 * moment it arrives. Whenever events could have been missed or be late — the NATS connection
 * dropped, the consumer was recreated or missed its heartbeats — the whole cache is flushed
 * (correctness over hit rate), and while NATS is disconnected the cache is off.
 */
import { DeliverPolicy, type JsMsg, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { STREAMS } from "@portico/contracts";
import type { Logger } from "@portico/kit/core";
import type { ResponseCache } from "./cache.js";

/** Consumer notifications after which events may have been missed or be late. */
const FLUSH_ON = new Set([
  "heartbeats_missed",
  "ordered_consumer_recreated",
  "reset",
  "consumer_deleted",
  "stream_not_found",
]);

/**
 * The product ids an event is about: its envelope `subject` (the aggregate), and the `productId`
 * or `product.id` of its data when present. Empty when the body is not an envelope.
 */
export function productIdsOf(body: unknown): string[] {
  if (!body || typeof body !== "object") return [];
  const envelope = body as { subject?: unknown; data?: unknown };
  const data = (envelope.data ?? {}) as { productId?: unknown; product?: { id?: unknown } };
  const ids = [envelope.subject, data.productId, data.product?.id];
  return [...new Set(ids.filter((id): id is string => typeof id === "string" && id !== ""))];
}

/** Drops the cache entries of the product(s) `msg` is about; flushes all when it is unreadable. */
export function invalidateFor(cache: ResponseCache, msg: Pick<JsMsg, "data">, log: Logger): void {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(msg.data));
  } catch {
    body = undefined;
  }
  const ids = productIdsOf(body);
  if (ids.length === 0) {
    log.warn("unreadable products event: flushing the product cache");
    cache.flush();
    return;
  }
  for (const id of ids) cache.invalidate(id);
}

/**
 * Starts invalidating `cache` from the `PRODUCTS` stream on `nc` and enables the cache (empty).
 * @returns stops watching and disables the cache.
 * @throws Error when the stream does not exist or JetStream does not answer (the cache stays off).
 */
export async function watchProductEvents(
  nc: NatsConnection,
  cache: ResponseCache,
  log: Logger,
  stream: string = STREAMS.products.name,
): Promise<() => Promise<void>> {
  const info = await (await jetstreamManager(nc)).streams.info(stream);
  // An explicit start sequence: nats.js recreates an ordered consumer from its last delivered
  // sequence + 1, which for DeliverPolicy.New before any delivery would replay the stream.
  const consumer = await jetstream(nc).consumers.get(stream, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: info.state.last_seq + 1,
  });
  const messages = await consumer.consume({ max_messages: 256 });
  let stopped = false;

  const watchConsumer = (async () => {
    for await (const status of messages.status()) {
      if (!FLUSH_ON.has(status.type)) continue;
      log.warn({ consumer: status.type }, "product events may have been missed: cache flushed");
      cache.flush();
    }
  })();
  const connection = nc.status();
  const watchConnection = (async () => {
    for await (const status of connection) {
      if (status.type === "disconnect") {
        cache.disable();
        log.warn("NATS disconnected: product cache off");
      } else if (status.type === "reconnect") {
        cache.enable();
        log.info("NATS reconnected: product cache on (flushed)");
      }
    }
  })();
  const consume = (async () => {
    for await (const msg of messages) invalidateFor(cache, msg, log);
    if (!stopped) {
      cache.disable();
      log.error("product events consumer ended: product cache off");
    }
  })();

  cache.enable();
  return async () => {
    stopped = true;
    cache.disable();
    messages.stop();
    (connection as { stop?: () => void }).stop?.();
    await Promise.all([consume, watchConsumer, watchConnection].map((p) => p.catch(() => {})));
  };
}
