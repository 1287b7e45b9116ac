/**
 * The transactional outbox (`outbox`, defined by the kit): `users.user.registered` is written
 * here in the registration's transaction and published to JetStream by the outbox relay.
 */
import { outboxMigration } from "@portico/kit";

/** Creates `outbox` and its pending-row indexes. */
export const up = outboxMigration.up;

/** Drops `outbox`. */
export const down = outboxMigration.down;
