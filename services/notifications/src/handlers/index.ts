import type { NotificationsApi } from "@portico/contracts";
import type { Handlers } from "@portico/kit";
import type { Kysely } from "kysely";
import type { DeadLetterAccess } from "../dead-letters.js";
import type { Lookups } from "../queries.js";
import type { NotificationsDatabase } from "../store/schema.js";
import { deadLetterHandlers } from "./dead-letters.js";
import { notificationHandlers } from "./notifications.js";
import { subscriptionHandlers } from "./subscriptions.js";

/**
 * What the handlers need: the database, the products lookup and, for the admin operations, the
 * consumers' dead letters (without them those operations answer 503).
 */
export interface HandlerDeps {
  db: Kysely<NotificationsDatabase>;
  lookups: Pick<Lookups, "getProduct">;
  deadLetters?: DeadLetterAccess;
}

/** Every handler of contracts/notifications.yaml, keyed by operationId. */
export function createHandlers(deps: HandlerDeps): Handlers<NotificationsApi.operations> {
  return {
    ...subscriptionHandlers(deps),
    ...notificationHandlers(deps),
    ...deadLetterHandlers(deps),
  };
}
