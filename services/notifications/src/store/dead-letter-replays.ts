/** Queries on `dead_letter_replays`: which dead letters were replayed successfully. */
import type { Kysely, Selectable } from "kysely";
import type { DeadLetterReplaysTable, NotificationsDatabase } from "./schema.js";

type Db = Kysely<NotificationsDatabase>;

/** A recorded replay. */
export type DeadLetterReplayRow = Selectable<DeadLetterReplaysTable>;

/** The replay of dead letter `deadLetterId`, if it was replayed. */
export async function findReplay(
  db: Db,
  deadLetterId: string,
): Promise<DeadLetterReplayRow | undefined> {
  return db
    .selectFrom("dead_letter_replays")
    .selectAll()
    .where("dead_letter_id", "=", deadLetterId)
    .executeTakeFirst();
}

/**
 * Records a successful replay; a concurrent replay of the same dead letter that recorded first
 * wins (its row is returned).
 */
export async function recordReplay(
  db: Db,
  replay: Omit<DeadLetterReplayRow, "replayed_at">,
): Promise<DeadLetterReplayRow> {
  const inserted = await db
    .insertInto("dead_letter_replays")
    .values(replay)
    .onConflict((oc) => oc.column("dead_letter_id").doNothing())
    .returningAll()
    .executeTakeFirst();
  return (
    inserted ??
    (await db
      .selectFrom("dead_letter_replays")
      .selectAll()
      .where("dead_letter_id", "=", replay.dead_letter_id)
      .executeTakeFirstOrThrow())
  );
}
