/**
 * Handlers of `/admin/dead-letters` (administrators only; the contract's `bearerAuth: [admin]`):
 * list the events this service's consumers gave up on, and replay one through its consumer's
 * handler once the cause is fixed.
 */
import type { NotificationsApi } from "@portico/contracts";
import {
  conflict,
  decodeCursor,
  type Handlers,
  invalidCursor,
  notFound,
  type StoredDeadLetter,
  serviceUnavailable,
  toPage,
  unprocessable,
} from "@portico/kit";
import type { Kysely } from "kysely";
import type { DeadLetterAccess } from "../dead-letters.js";
import { findReplay, recordReplay } from "../store/dead-letter-replays.js";
import type { NotificationsDatabase } from "../store/schema.js";
import { DEFAULT_PAGE_SIZE } from "./common.js";

type Ops = NotificationsApi.operations;
type DeadLetter = NotificationsApi.components["schemas"]["DeadLetter"];

/** The dead-letter handlers, keyed by operationId. */
export type DeadLetterHandlers = Pick<Handlers<Ops>, "listDeadLetters" | "replayDeadLetter">;

/** The contract's `DeadLetter` of a stored one. */
export function toDeadLetter(stored: StoredDeadLetter): DeadLetter {
  const { record } = stored;
  return {
    id: String(stored.sequence),
    consumer: record.consumer,
    subject: record.subject,
    streamSequence: record.streamSequence,
    deliveries: record.deliveries,
    error: record.error,
    deadLetteredAt: record.deadLetteredAt,
    envelope: record.envelope,
  };
}

/**
 * The stream sequence after which a `cursor` query parameter continues.
 * @throws HttpProblem 400 naming `cursor` when it is not one this operation returned.
 */
function sequenceAfter(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const { id } = decodeCursor(cursor);
  if (!/^[1-9][0-9]{0,15}$/.test(id)) {
    throw invalidCursor();
  }
  return Number(id);
}

/** The envelope's `id`, when it has a string one. */
function eventIdOf(envelope: unknown): string | null {
  const id = (envelope as { id?: unknown } | null)?.id;
  return typeof id === "string" ? id : null;
}

/**
 * Builds the dead-letter handlers. Without `deadLetters` (an app built without NATS, in tests)
 * both answer 503.
 */
export function deadLetterHandlers(deps: {
  db: Kysely<NotificationsDatabase>;
  deadLetters?: DeadLetterAccess;
}): DeadLetterHandlers {
  const { db } = deps;
  const access = (): DeadLetterAccess => {
    if (!deps.deadLetters) throw serviceUnavailable("Dead letters are not available here.");
    return deps.deadLetters;
  };
  const unavailable = () =>
    serviceUnavailable("The dead-letter stream cannot be read right now; try again later.");

  return {
    async listDeadLetters({ query, log }) {
      const { store } = access();
      const limit = query.limit ?? DEFAULT_PAGE_SIZE;
      const after = sequenceAfter(query.cursor);
      let found: StoredDeadLetter[];
      try {
        found = await store.find({ fromSequence: after + 1, limit: limit + 1 });
      } catch (err) {
        log.warn({ err }, "reading the dead-letter stream failed");
        throw unavailable();
      }
      const rows = found.map((stored) => ({
        ...stored,
        id: String(stored.sequence),
        createdAt: new Date(stored.record.deadLetteredAt),
      }));
      return { status: 200, body: toPage(rows, limit, toDeadLetter) };
    },

    async replayDeadLetter({ path, requestId, log }) {
      const { store, replayers } = access();
      const id = path.deadLetterId;
      const sequence = Number(id);
      const earlier = await findReplay(db, id);
      if (earlier) {
        // Its removal may have failed after the replay; finish it (best effort).
        await store.remove(sequence).catch(() => false);
        throw conflict(
          `Dead letter ${id} was already replayed at ${earlier.replayed_at.toISOString()}.`,
        );
      }
      let stored: StoredDeadLetter | undefined;
      try {
        stored = await store.get(sequence);
      } catch (err) {
        log.warn({ err }, "reading the dead-letter stream failed");
        throw unavailable();
      }
      const replay = stored && replayers[stored.record.consumer];
      if (!stored || !replay) throw notFound(`This service has no dead letter with id ${id}.`);

      const { record } = stored;
      let outcome: Awaited<ReturnType<typeof replay>>;
      try {
        outcome = await replay(record.envelope, { ...(requestId ? { requestId } : {}) });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        log.warn({ err, deadLetterId: id, consumer: record.consumer }, "replay failed");
        throw unprocessable(message);
      }
      const replayed = await recordReplay(db, {
        dead_letter_id: id,
        consumer: record.consumer,
        subject: record.subject,
        event_id: eventIdOf(record.envelope),
        outcome,
      });
      await store.remove(sequence).catch((err: unknown) => {
        log.warn({ err, deadLetterId: id }, "replayed dead letter not removed from the stream");
      });
      log.info({ deadLetterId: id, consumer: record.consumer, outcome }, "dead letter replayed");
      return {
        status: 200,
        body: {
          id,
          consumer: replayed.consumer,
          subject: replayed.subject,
          eventId: replayed.event_id,
          outcome: replayed.outcome,
          replayedAt: replayed.replayed_at.toISOString(),
        },
      };
    },
  };
}
