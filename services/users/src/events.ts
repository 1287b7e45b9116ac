/**
 * What the users service publishes on NATS JetStream (stream `USERS`). It consumes no events.
 *
 * - `users.user.registered` — after a registration commits. Until the transactional outbox
 *   arrives, a failed publish is logged and the registration still succeeds (the event is lost).
 */
import { type EventPayloads, STREAMS } from "@portico/contracts";
import type { EventPublisher, Logger } from "@portico/kit";
import type { UserRow } from "./store/schema.js";

/** The stream holding this service's events. */
export const USERS_STREAM = STREAMS.users;

/** Subject of the event published when an account is created. */
export const USER_REGISTERED = "users.user.registered";

/** The `data` of `users.user.registered` for a newly stored user. */
export function userRegisteredData(user: UserRow): EventPayloads[typeof USER_REGISTERED] {
  return { userId: user.id, email: user.email, name: user.name, role: user.role };
}

/**
 * Publishes `users.user.registered` for `user`. Never throws: a failure is logged as an error
 * (the account exists either way; the outbox will make delivery reliable).
 */
export async function publishUserRegistered(
  events: EventPublisher,
  user: UserRow,
  context: { requestId: string; log: Logger },
): Promise<void> {
  try {
    await events.publish(USER_REGISTERED, user.id, userRegisteredData(user), {
      requestId: context.requestId,
    });
  } catch (err) {
    context.log.error(
      { err, subject: USER_REGISTERED, userId: user.id },
      "could not publish event; it is lost until the outbox exists",
    );
  }
}
