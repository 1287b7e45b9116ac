/** Watching the durable back-in-stock consumer from a test. */
import { type ConsumerInfo, jetstreamManager } from "@nats-io/jetstream";
import { STREAMS } from "@portico/contracts";
import type { NatsConnection } from "@portico/kit";
import { BACK_IN_STOCK_DURABLE } from "../../src/consumers.js";
import { waitFor } from "./wait.js";

/** The consumer's current state. */
export async function consumerInfo(nc: NatsConnection): Promise<ConsumerInfo> {
  const jsm = await jetstreamManager(nc);
  return jsm.consumers.info(STREAMS.products.name, BACK_IN_STOCK_DURABLE);
}

/**
 * Resolves once every back_in_stock event stored so far was delivered and acknowledged (nothing
 * pending, nothing awaiting an ack or a redelivery).
 */
export async function waitUntilConsumed(nc: NatsConnection, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    "the back-in-stock consumer to acknowledge every event",
    async () => {
      const info = await consumerInfo(nc);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    },
    timeoutMs,
  );
}

/** Deletes the durable consumer (test clean-up), ignoring one that is already gone. */
export async function deleteConsumer(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.delete(STREAMS.products.name, BACK_IN_STOCK_DURABLE).catch(() => false);
}
