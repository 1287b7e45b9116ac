/** The transactional outbox (defined by the kit): events wait here until the relay publishes them. */
import { outboxMigration } from "@portico/kit";

/** Creates `outbox` and its pending-row indexes. */
export const up = outboxMigration.up;

/** Drops `outbox`. */
export const down = outboxMigration.down;
