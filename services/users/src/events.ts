/**
 * What the users service publishes on NATS JetStream (stream `USERS`). It consumes no events.
 *
 * - `users.user.registered` — written into the `outbox` table in the registration's own
 *   transaction; the kit's outbox relay publishes it (with `Nats-Msg-Id` = event id), so a
 *   committed registration always gets its event out, also after a NATS outage or a crash.
 */
import { type EventPayloads, STREAMS } from "@portico/contracts";
import { enqueueEvent } from "@portico/kit";
import type { Transaction } from "kysely";
import type { UserRow, UsersDatabase } from "./store/schema.js";

/** The stream holding this service's events. */
export const USERS_STREAM = STREAMS.users;

/** The envelope `source` of every event this service publishes. */
export const USERS_SOURCE = "users";

/** Subject of the event published when an account is created. */
export const USER_REGISTERED = "users.user.registered";

/** The `data` of `users.user.registered` for a newly stored user. */
export function userRegisteredData(user: UserRow): EventPayloads[typeof USER_REGISTERED] {
  return { userId: user.id, email: user.email, name: user.name, role: user.role };
}

/**
 * Where an event came from, propagated as NATS headers. Optional: by default the kit takes the
 * request id and trace context of the request being served (its EventOrigin).
 */
export interface EventContext {
  /** `X-Request-Id` to publish with. */
  requestId?: string;
  /** W3C `traceparent` to publish with. */
  traceparent?: string | undefined;
}

/** Writes this service's events into its outbox and hands committed ones to the relay. */
export interface UserEvents {
  /**
   * Writes `users.user.registered` for `user` into the outbox inside `trx` (the transaction
   * that inserts the user): it is published if and only if `trx` commits.
   * @throws InvalidEventError (from `@portico/contracts`) when the event breaks its contract;
   *   nothing is written and the transaction fails.
   */
  registered(trx: Transaction<UsersDatabase>, user: UserRow, context?: EventContext): Promise<void>;
  /** Call after the commit: the relay publishes now instead of at its next poll. */
  committed(): void;
}

/**
 * {@link UserEvents} over the kit's outbox.
 * @param onCommitted called by `committed()`: kicks the outbox relay (absent while NATS is not
 *   connected yet; its poll then picks the event up).
 */
export function createUserEvents(onCommitted: () => void = () => undefined): UserEvents {
  return {
    async registered(trx, user, context = {}) {
      await enqueueEvent(trx, {
        source: USERS_SOURCE,
        subject: USER_REGISTERED,
        aggregateId: user.id,
        data: userRegisteredData(user),
        ...context,
      });
    },
    committed: onCommitted,
  };
}
