/** Queries of the daily digest job: who is due a digest, where to send it, and recording it. */

import { type Kysely, sql } from "kysely";
import { v7 as uuidv7 } from "uuid";
import { queueEmail } from "./outbox.js";
import type { NotificationsDatabase } from "./schema.js";

type Db = Kysely<NotificationsDatabase>;

/** A user with unread notifications and no digest for the day yet. */
export interface DigestCandidate {
  userId: string;
  /** Unread notifications. */
  unread: number;
  /** Titles of the newest unread notifications, newest first (at most `titleLimit`). */
  titles: string[];
}

/**
 * Up to `limit` users with unread notifications who have no digest for `day` (`YYYY-MM-DD`), in
 * user id order after `afterUserId` (keyset paging).
 */
export async function findDigestCandidates(
  db: Db,
  page: { day: string; limit: number; titleLimit: number; afterUserId?: string },
): Promise<DigestCandidate[]> {
  let q = db
    .selectFrom("notifications as n")
    .select([
      "n.user_id as userId",
      sql<number>`count(*)::int`.as("unread"),
      sql<
        string[]
      >`(array_agg(n.title order by n.created_at desc, n.id desc))[1:${page.titleLimit}]`.as(
        "titles",
      ),
    ])
    .where("n.read_at", "is", null)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("digests as d")
            .select(sql.lit(1).as("one"))
            .whereRef("d.user_id", "=", "n.user_id")
            .where(sql<boolean>`d.digest_day = ${page.day}::date`),
        ),
      ),
    );
  if (page.afterUserId) q = q.where("n.user_id", ">", page.afterUserId);
  return q.groupBy("n.user_id").orderBy("n.user_id").limit(page.limit).execute();
}

/**
 * The address of the user's most recent notification email, or undefined when none was ever
 * queued (notifications do not keep the address; the outbox does).
 */
export async function lastKnownAddress(db: Db, userId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom("email_outbox as e")
    .innerJoin("notifications as n", "n.id", "e.notification_id")
    .select("e.to_address")
    .where("n.user_id", "=", userId)
    .orderBy("e.created_at", "desc")
    .orderBy("e.id", "desc")
    .limit(1)
    .executeTakeFirst();
  return row?.to_address;
}

/** A digest for one user and day, and its email. */
export interface DigestRecord {
  userId: string;
  /** `YYYY-MM-DD`; with `userId`, the idempotency key. */
  day: string;
  unread: number;
  email: { to: string; subject: string; text: string };
}

/**
 * In one transaction: inserts the digest unless the user already has one for the day
 * (`on conflict (user_id, digest_day) do nothing`) and, only when it was inserted, its outbox email.
 * @returns true when the digest (and email) were created, false for a repeat.
 */
export async function recordDigest(db: Db, record: DigestRecord): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto("digests")
      .values({
        id: uuidv7(),
        user_id: record.userId,
        digest_day: record.day,
        unread_count: record.unread,
      })
      .onConflict((oc) => oc.columns(["user_id", "digest_day"]).doNothing())
      .returning("id")
      .executeTakeFirst();
    if (!inserted) return false;
    await queueEmail(trx, { digestId: inserted.id }, record.email);
    return true;
  });
}
