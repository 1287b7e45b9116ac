/**
 * The NATS queries the users service answers (NATS service API, service name `users`):
 * - `users.query.getUserContact` — `{ userId }` → `{ id, email, name }`, or null when unknown;
 * - `users.query.verifyApiKey` — `{ apiKey }` → `{ apiKeyId, name, role }`, or null when the key
 *   is malformed, unknown, revoked or wrong.
 */
import type { Kysely, QueryHandlers } from "@portico/kit";
import { validate as isUuid } from "uuid";
import { verifyStoredApiKey } from "./security/api-keys.js";
import type { UsersDatabase } from "./store/schema.js";
import { findUserById } from "./store/users.js";

/** Name and version under which the queries are served (discoverable via `$SRV.*`). */
export const QUERY_SERVICE = { name: "users", version: "1.0.0" } as const;

/** The query handlers, reading from `db`. A malformed `userId` is answered like an unknown one. */
export function userQueryHandlers(db: Kysely<UsersDatabase>): QueryHandlers {
  return {
    "users.query.getUserContact": async (request) => {
      const userId = (request as { userId?: unknown } | null)?.userId;
      if (typeof userId !== "string" || !isUuid(userId)) return null;
      const user = await findUserById(db, userId);
      return user ? { id: user.id, email: user.email, name: user.name } : null;
    },
    "users.query.verifyApiKey": async (request) => {
      const apiKey = (request as { apiKey?: unknown } | null)?.apiKey;
      return typeof apiKey === "string" ? verifyStoredApiKey(db, apiKey) : null;
    },
  };
}
