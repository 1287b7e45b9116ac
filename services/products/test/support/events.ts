/**
 * Reads what the service published to the PRODUCTS JetStream stream: note the stream's last
 * sequence before an action, then read everything after it with an ordered consumer. The
 * service awaits JetStream's ack before it answers, so after the response the events are there.
 */
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { EventEnvelope } from "@portico/contracts";
import type { NatsConnection } from "@portico/kit";
import { PRODUCTS_STREAM } from "../../src/events.js";

/** An event as read back: its envelope and the `X-Request-Id` NATS header. */
export interface ReadEvent {
  envelope: EventEnvelope;
  requestId: string | undefined;
}

/** The last sequence number of the PRODUCTS stream (0 when empty). */
export async function streamPosition(nc: NatsConnection): Promise<number> {
  const info = await (await jetstreamManager(nc)).streams.info(PRODUCTS_STREAM.name);
  return info.state.last_seq;
}

/**
 * Events published after stream sequence `since` about the product `productId` (other test
 * files share the stream), oldest first.
 * @throws Error when the stream cannot be read within 5 s.
 */
export async function eventsAbout(
  nc: NatsConnection,
  since: number,
  productId: string,
): Promise<ReadEvent[]> {
  const last = await streamPosition(nc);
  if (last <= since) return [];
  const consumer = await jetstream(nc).consumers.get(PRODUCTS_STREAM.name, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: since + 1,
  });
  const messages = await consumer.consume();
  const timer = setTimeout(() => messages.stop(new Error("timed out reading PRODUCTS")), 5_000);
  const read: ReadEvent[] = [];
  try {
    for await (const msg of messages) {
      read.push({
        envelope: msg.json<EventEnvelope>(),
        requestId: msg.headers?.get("X-Request-Id") || undefined,
      });
      if (msg.seq >= last) break;
    }
  } finally {
    clearTimeout(timer);
    await messages.close();
  }
  return read.filter((event) => event.envelope.subject === productId);
}
