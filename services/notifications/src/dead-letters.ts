/**
 * The dead letters of this service's consumers, as the admin operations see them: where they are
 * read from (the kit's DEADLETTER stream, filtered to this service's durables) and how each
 * consumer replays one (its handler, in this process).
 */
import {
  findDeadLetters,
  getDeadLetter,
  type NatsConnection,
  removeDeadLetter,
  type StoredDeadLetter,
} from "@portico/kit";

/** What a replay did: the event applied now, or already applied earlier (nothing changed). */
export type ReplayOutcome = "applied" | "already_applied";

/**
 * Runs a consumer's handler on a dead-lettered envelope (any JSON: it may be invalid).
 * @throws Error with a message for the operator when the envelope or the handler still fails.
 */
export type Replayer = (
  envelope: unknown,
  context: { requestId?: string },
) => Promise<ReplayOutcome>;

/** Read and remove access to this service's dead letters. */
export interface DeadLetterStore {
  /** Up to `limit` dead letters from stream sequence `fromSequence` on, oldest first. */
  find(page: { fromSequence?: number; limit: number }): Promise<StoredDeadLetter[]>;
  /** One dead letter of this service; undefined when there is none with this sequence. */
  get(sequence: number): Promise<StoredDeadLetter | undefined>;
  /** Removes a dead letter; false when it was not there. */
  remove(sequence: number): Promise<boolean>;
}

/** The dead-letter admin operations' dependencies: the store and a replayer per durable. */
export interface DeadLetterAccess {
  store: DeadLetterStore;
  /** Durable consumer name → its replay. */
  replayers: Record<string, Replayer>;
}

/** A {@link DeadLetterStore} over the DEADLETTER stream, limited to the given durables. */
export function natsDeadLetterStore(
  nc: NatsConnection,
  consumers: readonly string[],
): DeadLetterStore {
  const ours = (stored: StoredDeadLetter | undefined) =>
    stored && consumers.includes(stored.record.consumer) ? stored : undefined;
  return {
    find: (page) => findDeadLetters(nc, { consumers, ...page }),
    get: async (sequence) => ours(await getDeadLetter(nc, sequence)),
    remove: (sequence) => removeDeadLetter(nc, sequence),
  };
}
