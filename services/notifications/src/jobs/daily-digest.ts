/**
 * The daily digest job: each user with unread notifications gets one email a day listing them.
 * The email is queued in `email_outbox` with its `digests` row in one transaction (the outbox
 * sender delivers and retries it; nothing is sent here), and (user, day) is unique, so a re-run of
 * the same day — another tick, another instance, a retry after a crash — adds only what is missing.
 */
import type { Logger } from "@portico/kit";
import type { Kysely } from "kysely";
import { DIGEST_MAX_TITLES, digestDay, digestEmail } from "../domain/digest.js";
import type { Lookups } from "../queries.js";
import { findDigestCandidates, lastKnownAddress, recordDigest } from "../store/digests.js";
import type { NotificationsDatabase } from "../store/schema.js";

/** The job's name (lock keys `notifications.daily-digest.<tick>`). */
export const DAILY_DIGEST_JOB = "daily-digest";

/** What the digest job needs. */
export interface DailyDigestDeps {
  db: Kysely<NotificationsDatabase>;
  lookups: Pick<Lookups, "getUserContact">;
  log: Logger;
  /** IANA time zone whose calendar day a tick belongs to, e.g. `UTC`. */
  timeZone: string;
  /** Called after each digest email is queued (kicks the outbox sender). */
  onEmailQueued?: () => void;
  /** Users read per query (default 100). */
  batchSize?: number;
}

/** What one run did. */
export interface DailyDigestOutcome {
  /** `YYYY-MM-DD` in the job's time zone. */
  day: string;
  /** Digest emails queued. */
  queued: number;
  /** Users left without a digest: unknown to the users service, or it did not answer. */
  skipped: number;
}

/**
 * Where to send a user's digest: the address of their latest notification email, else the users
 * service's answer (`users.query.getUserContact`). Undefined when the user no longer exists.
 * @throws Error when the users service has to be asked and does not answer.
 */
async function recipientOf(
  deps: DailyDigestDeps,
  userId: string,
): Promise<{ to: string; name?: string } | undefined> {
  const known = await lastKnownAddress(deps.db, userId);
  if (known) return { to: known };
  const contact = await deps.lookups.getUserContact(userId);
  return contact ? { to: contact.email, name: contact.name } : undefined;
}

/**
 * Queues the digest of the day of `at` for every user with unread notifications who has none
 * yet. A user whose address cannot be resolved is logged and skipped (the next run of the same
 * day retries them).
 */
export async function runDailyDigest(deps: DailyDigestDeps, at: Date): Promise<DailyDigestOutcome> {
  const day = digestDay(at, deps.timeZone);
  const limit = deps.batchSize ?? 100;
  const outcome: DailyDigestOutcome = { day, queued: 0, skipped: 0 };
  let afterUserId: string | undefined;
  for (;;) {
    const candidates = await findDigestCandidates(deps.db, {
      day,
      limit,
      titleLimit: DIGEST_MAX_TITLES,
      ...(afterUserId ? { afterUserId } : {}),
    });
    for (const { userId, unread, titles } of candidates) {
      let recipient: Awaited<ReturnType<typeof recipientOf>>;
      try {
        recipient = await recipientOf(deps, userId);
      } catch (err) {
        deps.log.warn({ err, userId, day }, "digest recipient unresolved; skipped");
        outcome.skipped += 1;
        continue;
      }
      if (!recipient) {
        deps.log.warn({ userId, day }, "digest recipient no longer exists; skipped");
        outcome.skipped += 1;
        continue;
      }
      const email = digestEmail({ unread, titles }, recipient.name);
      if (
        await recordDigest(deps.db, { userId, day, unread, email: { to: recipient.to, ...email } })
      ) {
        outcome.queued += 1;
        deps.onEmailQueued?.();
      }
    }
    if (candidates.length < limit) break;
    afterUserId = candidates.at(-1)?.userId;
  }
  deps.log.info(outcome, "daily digest queued");
  return outcome;
}
