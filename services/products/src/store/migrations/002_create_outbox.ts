/**
 * The transactional outbox (`outbox`, defined by the kit): product events are written here in
 * the transaction of the change they announce and published to JetStream by the outbox relay.
 */
import { outboxMigration } from "@portico/kit";

/** Creates `outbox` and its pending-row indexes. */
export const up = outboxMigration.up;

/** Drops `outbox`. */
export const down = outboxMigration.down;
