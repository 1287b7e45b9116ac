/** Handlers of `/notifications`: the caller's inbox. */
import type { NotificationsApi } from "@portico/contracts";
import { type Handlers, keysetCursorAfter, notFound, toPage } from "@portico/kit";
import type { Kysely } from "kysely";
import { toNotification } from "../representation.js";
import { findNotifications, markNotificationRead } from "../store/notifications.js";
import type { NotificationsDatabase } from "../store/schema.js";
import { callerId, DEFAULT_PAGE_SIZE } from "./common.js";

type Ops = NotificationsApi.operations;

/** The inbox handlers, keyed by operationId. */
export type NotificationHandlers = Pick<
  Handlers<Ops>,
  "listNotifications" | "markNotificationRead"
>;

export { toNotification };

/** Builds the inbox handlers over the database. */
export function notificationHandlers(deps: {
  db: Kysely<NotificationsDatabase>;
}): NotificationHandlers {
  const { db } = deps;
  return {
    async listNotifications({ query, principal }) {
      const userId = callerId(principal);
      const limit = query.limit ?? DEFAULT_PAGE_SIZE;
      const after = keysetCursorAfter(query.cursor);
      const rows = await findNotifications(db, userId, {
        limit: limit + 1,
        ...(after ? { after } : {}),
        ...(query.unread !== undefined ? { unread: query.unread } : {}),
      });
      const page = toPage(
        rows.map((row) => ({ ...row, createdAt: row.created_at })),
        limit,
        toNotification,
      );
      return { status: 200, body: page };
    },

    async markNotificationRead({ path, principal }) {
      const userId = callerId(principal);
      const row = await markNotificationRead(db, userId, path.notificationId);
      if (!row) throw notFound("You have no notification with this id.");
      return { status: 200, body: toNotification(row) };
    },
  };
}
