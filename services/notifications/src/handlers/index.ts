import type { NotificationsApi } from "@portico/contracts";
import type { Handlers } from "@portico/kit";
import type { Kysely } from "kysely";
import type { Lookups } from "../queries.js";
import type { NotificationsDatabase } from "../store/schema.js";
import { notificationHandlers } from "./notifications.js";
import { subscriptionHandlers } from "./subscriptions.js";

/** What the handlers need: the database and the products lookup. */
export interface HandlerDeps {
  db: Kysely<NotificationsDatabase>;
  lookups: Pick<Lookups, "getProduct">;
}

/** Every handler of contracts/notifications.yaml, keyed by operationId. */
export function createHandlers(deps: HandlerDeps): Handlers<NotificationsApi.operations> {
  return { ...subscriptionHandlers(deps), ...notificationHandlers(deps) };
}
