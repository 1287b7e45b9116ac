import type { Migration } from "kysely";
import * as init from "./001_init.js";
import * as digestsAndEmailRetry from "./002_digests_and_email_retry.js";
import * as consumerIdempotency from "./003_consumer_idempotency.js";
import * as createOutbox from "./004_create_outbox.js";

/** Every migration of the notifications database, by name (applied in name order). */
export const migrations: Record<string, Migration> = {
  "001_init": init,
  "002_digests_and_email_retry": digestsAndEmailRetry,
  "003_consumer_idempotency": consumerIdempotency,
  "004_create_outbox": createOutbox,
};
