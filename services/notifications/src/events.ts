/**
 * What the notifications service publishes: `notifications.notification.created` for each
 * notification added to an inbox, written into its `outbox` in the transaction that inserts the
 * notification (the kit's `enqueueEvent`) and published to the `NOTIFICATIONS` JetStream stream by
 * the kit's outbox relay. The envelope's `subject` is the user id, so one user's notifications are
 * published in the order they were created; the gateway streams them to that user (`GET /events`).
 */
import { STREAMS } from "@portico/contracts";
import { enqueueEvent } from "@portico/kit";
import type { Transaction } from "kysely";
import { toNotification } from "./representation.js";
import type { NotificationRow, NotificationsDatabase } from "./store/schema.js";

/** The envelope `source` of the events this service publishes. */
export const NOTIFICATIONS_SOURCE = "notifications";

/** The stream holding them (declared in `@portico/contracts`). */
export const NOTIFICATIONS_STREAM = STREAMS.notifications;

/** The subject announcing a new notification. */
export const NOTIFICATION_CREATED_SUBJECT = "notifications.notification.created";

/**
 * Writes `notifications.notification.created` for `row` into the outbox inside `trx`: it is
 * published if and only if `trx` commits.
 * @param context.requestId the request (or event) that caused it, sent as `X-Request-Id`.
 * @throws InvalidEventError when the event breaks its contract; the transaction then fails.
 */
export async function enqueueNotificationCreated(
  trx: Transaction<NotificationsDatabase>,
  row: NotificationRow,
  context: { requestId?: string | undefined } = {},
): Promise<void> {
  await enqueueEvent(trx, {
    source: NOTIFICATIONS_SOURCE,
    subject: NOTIFICATION_CREATED_SUBJECT,
    aggregateId: row.user_id,
    data: { userId: row.user_id, notification: toNotification(row) },
    ...(context.requestId ? { requestId: context.requestId } : {}),
  });
}
