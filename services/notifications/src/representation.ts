/** How a stored notification is represented in the API and in the events this service publishes. */
import type { NotificationsApi } from "@portico/contracts";
import type { NotificationRow } from "./store/schema.js";

/** The contract's `Notification`. */
export type Notification = NotificationsApi.components["schemas"]["Notification"];

/** The contract's `Notification` of a row. */
export function toNotification(row: NotificationRow): Notification {
  return {
    id: row.id,
    type: row.type,
    title: row.title,
    body: row.body,
    productId: row.product_id,
    createdAt: row.created_at.toISOString(),
    readAt: row.read_at ? row.read_at.toISOString() : null,
  };
}
