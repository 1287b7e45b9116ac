/**
 * Reads what the service published to the PRODUCTS JetStream stream: note the stream's last
 * sequence before an action, then read everything after it with an ordered consumer. Events go
 * out through the outbox relay after the response, so both first wait until the service's outbox
 * holds nothing pending (what is committed is then on the stream).
 */
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { EventEnvelope } from "@portico/contracts";
import type { NatsConnection } from "@portico/kit";
import { PRODUCTS_STREAM } from "../../src/events.js";
import type { RunningProducts } from "./service.js";

/** An event as read back: its envelope and the `X-Request-Id` NATS header. */
export interface ReadEvent {
  envelope: EventEnvelope;
  requestId: string | undefined;
}

async function lastSequence(nc: NatsConnection): Promise<number> {
  const info = await (await jetstreamManager(nc)).streams.info(PRODUCTS_STREAM.name);
  return info.state.last_seq;
}

/** The last sequence number of the PRODUCTS stream (0 when empty) once the outbox is drained. */
export async function streamPosition(service: RunningProducts): Promise<number> {
  await service.eventsPublished();
  return lastSequence(service.nc);
}

/**
 * Events published after stream sequence `since` about the product `productId` (other test
 * files share the stream), oldest first, once the outbox is drained.
 * @throws Error when the outbox does not drain or the stream cannot be read within 5 s.
 */
export async function eventsAbout(
  service: RunningProducts,
  since: number,
  productId: string,
): Promise<ReadEvent[]> {
  const { nc } = service;
  const last = await streamPosition(service);
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
