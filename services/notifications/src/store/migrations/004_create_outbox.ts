/**
 * The transactional outbox (`outbox`, defined by the kit): `notifications.notification.created`
 * is written here in the transaction that inserts the notification, and published to JetStream by
 * the outbox relay.
 */
import { outboxMigration } from "@portico/kit";

/** Creates `outbox` and its pending-row indexes. */
export const up = outboxMigration.up;

/** Drops `outbox`. */
export const down = outboxMigration.down;
