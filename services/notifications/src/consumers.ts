/**
 * Events the notifications service consumes: `products.product.back_in_stock` (stream PRODUCTS,
 * durable `notifications-back-in-stock`). For each subscriber of the product it writes an inbox
 * notification, its outbox email and its `notifications.notification.created` event (see
 * events.ts) — in one transaction with the record that the event was processed, so a
 * redelivery, a duplicate or a replay changes nothing. The email is sent later by the outbox
 * sender and the event published by the outbox relay, never here.
 */
import { CONSUMERS, type EventEnvelope, STREAMS, validateEvent } from "@portico/contracts";
import {
  consumeEvents,
  describeValidationErrors,
  ensureStream,
  type Logger,
  type NatsConnection,
  processOnce,
  type RunningConsumer,
  wasProcessed,
} from "@portico/kit";
import type { Kysely } from "kysely";
import type { Replayer } from "./dead-letters.js";
import { backInStockEmail, backInStockInboxMessage } from "./domain/messages.js";
import type { Lookups, UserContact } from "./queries.js";
import { insertBackInStock } from "./store/notifications.js";
import type { NotificationsDatabase } from "./store/schema.js";
import { subscribersWithoutNotification } from "./store/subscriptions.js";

/** The back-in-stock consumer as contracts/events.yaml declares it: stream, durable, subject. */
export const BACK_IN_STOCK = CONSUMERS["notifications-back-in-stock"];
/** The subject consumed. */
export const BACK_IN_STOCK_SUBJECT = BACK_IN_STOCK.subject;
/** Durable consumer name (`<consumer-service>-<purpose>`). */
export const BACK_IN_STOCK_DURABLE = BACK_IN_STOCK.durable;

/** A `products.product.back_in_stock` event. */
export type BackInStockEvent = EventEnvelope<typeof BACK_IN_STOCK_SUBJECT>;

/** What handling a back-in-stock event needs. */
export interface BackInStockDeps {
  db: Kysely<NotificationsDatabase>;
  lookups: Pick<Lookups, "getUserContact">;
  log: Logger;
  /** Called after the effect committed with at least one email queued (kicks the outbox sender). */
  onEmailQueued?: () => void;
  /**
   * Called after the effect committed with at least one notification created (kicks the event
   * outbox relay, so `notifications.notification.created` goes out now rather than at its poll).
   */
  onNotificationsCreated?: () => void;
}

/** Redelivery policy of the consumer (see the kit's consumeEvents). */
export interface ConsumerPolicy {
  /** Handler attempts before a failing event is dead-lettered. */
  maxDeliver?: number;
  /** Seconds before each redelivery (JetStream back-off); the first is also the ack wait. */
  backoffSeconds?: readonly number[];
}

/** What handling one event did. */
export interface BackInStockOutcome {
  /** False when this consumer had already applied the event (nothing changed). */
  applied: boolean;
  /** Notifications (each with its email) created. */
  notified: number;
}

/**
 * Applies one (valid) back-in-stock event: looks up the contact of each subscriber not yet
 * notified of it, then in ONE transaction records the event as processed (processOnce) and inserts
 * each notification with its outbox email. A user who no longer exists is skipped.
 * @throws Error when the users service does not answer (or the database fails): nothing was
 *   committed, and JetStream redelivers the event.
 */
export async function handleBackInStock(
  deps: BackInStockDeps,
  event: BackInStockEvent,
  context: { requestId?: string } = {},
): Promise<BackInStockOutcome> {
  const log = deps.log.child({ eventId: event.id, requestId: context.requestId });
  const key = { consumer: BACK_IN_STOCK_DURABLE, eventId: event.id };
  if (await wasProcessed(deps.db, key)) {
    log.info("back_in_stock already applied; nothing to do");
    return { applied: false, notified: 0 };
  }
  const { productId, name, stock } = event.data;
  const recipients: { userId: string; contact: NonNullable<UserContact> }[] = [];
  for (const userId of await subscribersWithoutNotification(deps.db, productId, event.id)) {
    const contact = await deps.lookups.getUserContact(userId, context.requestId);
    if (contact) recipients.push({ userId, contact });
    else log.warn({ userId, productId }, "subscriber no longer exists; skipped");
  }

  const inbox = backInStockInboxMessage({ name, stock });
  const outcome = await deps.db.transaction().execute(async (trx) => {
    if (!(await processOnce(trx, key))) return { applied: false, notified: 0 };
    let notified = 0;
    for (const { userId, contact } of recipients) {
      const email = backInStockEmail({ name, stock }, contact.name);
      const inserted = await insertBackInStock(trx, {
        userId,
        productId,
        eventId: event.id,
        ...inbox,
        email: { to: contact.email, ...email },
        requestId: context.requestId,
      });
      if (inserted) notified += 1;
    }
    return { applied: true, notified };
  });
  log.info({ productId, ...outcome }, "back_in_stock handled");
  if (outcome.notified > 0) {
    deps.onNotificationsCreated?.();
    deps.onEmailQueued?.();
  }
  return outcome;
}

/**
 * The replay of a dead-lettered back-in-stock envelope: validated against its contract, then
 * applied by {@link handleBackInStock} (idempotent).
 * @throws Error naming the contract violations, or the handler's error.
 */
export function backInStockReplayer(deps: BackInStockDeps): Replayer {
  return async (envelope, context) => {
    const validation = validateEvent(BACK_IN_STOCK_SUBJECT, envelope);
    if (!validation.valid) {
      throw new Error(
        `the envelope violates the ${BACK_IN_STOCK_SUBJECT} contract: ${describeValidationErrors(validation.errors)}`,
      );
    }
    const outcome = await handleBackInStock(deps, envelope as BackInStockEvent, context);
    return outcome.applied ? "applied" : "already_applied";
  };
}

/**
 * Starts consuming back-in-stock events. Declares the PRODUCTS stream first (idempotent) so the
 * consumer can be created even when the products service starts later.
 * @returns a stop function (waits for the event in hand).
 */
export async function consumeBackInStock(
  nc: NatsConnection,
  deps: BackInStockDeps,
  policy: ConsumerPolicy = {},
): Promise<RunningConsumer> {
  await ensureStream(nc, STREAMS.products);
  return consumeEvents(nc, {
    ...BACK_IN_STOCK,
    log: deps.log,
    ...policy,
    handle: async (event, { requestId }) => {
      await handleBackInStock(deps, event, requestId ? { requestId } : {});
    },
  });
}
