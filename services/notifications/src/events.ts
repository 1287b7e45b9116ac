/**
 * Events of the notifications service. It publishes none; it consumes
 * `products.product.back_in_stock` (stream PRODUCTS, durable `notifications-back-in-stock`) and,
 * for each subscriber of the product, writes an inbox notification and its outbox email.
 */
import { type EventEnvelope, STREAMS } from "@portico/contracts";
import { consumeEvents, ensureStream, type Logger, type NatsConnection } from "@portico/kit";
import type { Kysely } from "kysely";
import { validate as isUuid } from "uuid";
import { backInStockEmail, backInStockInboxMessage } from "./domain/messages.js";
import type { Lookups } from "./queries.js";
import { recordBackInStock } from "./store/notifications.js";
import type { NotificationsDatabase } from "./store/schema.js";
import { subscribersWithoutNotification } from "./store/subscriptions.js";

/** The subject consumed. */
export const BACK_IN_STOCK_SUBJECT = "products.product.back_in_stock";
/** Durable consumer name (`<consumer-service>-<purpose>`). */
export const BACK_IN_STOCK_DURABLE = "notifications-back-in-stock";

/** A `products.product.back_in_stock` event. */
export type BackInStockEvent = EventEnvelope<typeof BACK_IN_STOCK_SUBJECT>;

/** What handling a back-in-stock event needs. */
export interface BackInStockDeps {
  db: Kysely<NotificationsDatabase>;
  lookups: Pick<Lookups, "getUserContact">;
  log: Logger;
  /** Called after each email is queued (kicks the outbox sender). */
  onEmailQueued?: () => void;
}

/** True when the event carries what handling needs; anything else can never succeed. */
function isWellFormed(event: BackInStockEvent): boolean {
  const data = event?.data as Partial<BackInStockEvent["data"]> | undefined;
  return (
    isUuid(event?.id) &&
    isUuid(data?.productId) &&
    typeof data?.name === "string" &&
    data.name.length > 0 &&
    Number.isInteger(data.stock)
  );
}

/**
 * Applies one back-in-stock event: for each subscriber not yet notified of this event, looks up
 * the user's contact, then in one transaction inserts the notification and (only if it was new)
 * its email. A user who no longer exists is skipped; a malformed event is logged and dropped.
 * @returns how many notifications were created.
 * @throws Error when the users service does not answer, so JetStream redelivers the event; the
 *   (user_id, event_id) key makes the retry add only what is missing.
 */
export async function handleBackInStock(
  deps: BackInStockDeps,
  event: BackInStockEvent,
  context: { requestId?: string; progress?: () => void } = {},
): Promise<number> {
  const log = deps.log.child({ eventId: event?.id, requestId: context.requestId });
  if (!isWellFormed(event)) {
    log.error({ event }, "malformed back_in_stock event dropped");
    return 0;
  }
  const { productId, name, stock } = event.data;
  const userIds = await subscribersWithoutNotification(deps.db, productId, event.id);
  const inbox = backInStockInboxMessage({ name, stock });
  let created = 0;
  for (const userId of userIds) {
    const contact = await deps.lookups.getUserContact(userId, context.requestId);
    if (!contact) {
      log.warn({ userId, productId }, "subscriber no longer exists; skipped");
      continue;
    }
    const email = backInStockEmail({ name, stock }, contact.name);
    const inserted = await recordBackInStock(deps.db, {
      userId,
      productId,
      eventId: event.id,
      ...inbox,
      email: { to: contact.email, ...email },
    });
    if (inserted) {
      created += 1;
      deps.onEmailQueued?.();
    }
    context.progress?.();
  }
  log.info({ productId, subscribers: userIds.length, created }, "back_in_stock handled");
  return created;
}

/**
 * Starts consuming back-in-stock events. Declares the PRODUCTS stream first (idempotent) so the
 * consumer can be created even when the products service starts later.
 * @returns a stop function (waits for the event in hand).
 */
export async function consumeBackInStock(
  nc: NatsConnection,
  deps: BackInStockDeps,
): Promise<{ stop: () => Promise<void> }> {
  await ensureStream(nc, STREAMS.products);
  return consumeEvents(nc, {
    stream: STREAMS.products.name,
    durable: BACK_IN_STOCK_DURABLE,
    subject: BACK_IN_STOCK_SUBJECT,
    log: deps.log,
    handle: async (event, { requestId, msg }) => {
      await handleBackInStock(deps, event, {
        ...(requestId ? { requestId } : {}),
        // Many subscribers can outlast the ack wait: tell JetStream the work is progressing.
        progress: () => msg.working(),
      });
    },
  });
}
