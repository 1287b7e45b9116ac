/** Queries of the email outbox sender. */
import { type Kysely, sql, type Transaction } from "kysely";
import { v7 as uuidv7 } from "uuid";
import type { EmailOutboxRow, NotificationsDatabase } from "./schema.js";

type Trx = Transaction<NotificationsDatabase> | Kysely<NotificationsDatabase>;

/**
 * Locks up to `limit` pending emails that are due, oldest first, skipping rows another sender
 * holds (`FOR UPDATE SKIP LOCKED`), so concurrent senders never send the same email. Call inside
 * a transaction; the locks last until it ends.
 */
export async function claimDueEmails(trx: Trx, limit: number): Promise<EmailOutboxRow[]> {
  return trx
    .selectFrom("email_outbox")
    .selectAll()
    .where("status", "=", "pending")
    .where("next_attempt_at", "<=", sql<Date>`now()`)
    .orderBy("next_attempt_at")
    .orderBy("id")
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
}

/** Marks an email delivered. */
export async function markEmailSent(trx: Trx, id: string): Promise<void> {
  await trx
    .updateTable("email_outbox")
    .set({ status: "sent", sent_at: sql<Date>`now()`, last_error: null })
    .where("id", "=", id)
    .execute();
}

/**
 * Records a failed attempt: the error, the attempt count, and either the time of the next attempt
 * (`status` pending, `retryInMs` from now) or `failed` for good.
 */
export async function recordEmailFailure(
  trx: Trx,
  id: string,
  failure: { status: "pending" | "failed"; attempts: number; retryInMs?: number; error: string },
): Promise<void> {
  await trx
    .updateTable("email_outbox")
    .set({
      status: failure.status,
      attempts: failure.attempts,
      last_error: failure.error,
      next_attempt_at: sql<Date>`now() + make_interval(secs => ${(failure.retryInMs ?? 0) / 1000})`,
    })
    .where("id", "=", id)
    .execute();
}

/**
 * The email retry job's step: puts every `failed` email whose back-off has elapsed
 * (`next_attempt_at <= now()`) and that has had fewer than `maxTotalAttempts` attempts back in the
 * sender's queue (`pending`, due now). One statement, so concurrent runs never requeue a row twice.
 * @returns the ids requeued.
 */
export async function requeueFailedEmails(trx: Trx, maxTotalAttempts: number): Promise<string[]> {
  const rows = await trx
    .updateTable("email_outbox")
    .set({ status: "pending", next_attempt_at: sql<Date>`now()` })
    .where("status", "=", "failed")
    .where("attempts", "<", maxTotalAttempts)
    .where("next_attempt_at", "<=", sql<Date>`now()`)
    .returning("id")
    .execute();
  return rows.map((r) => r.id);
}

/** An email to queue, and what it is about (a notification or a digest). */
export interface QueuedEmail {
  to: string;
  subject: string;
  text: string;
}

/**
 * Queues one email in the outbox inside the caller's transaction: it is sent (and retried) by the
 * outbox sender once the transaction commits, never by the code that queued it.
 */
export async function queueEmail(
  trx: Trx,
  about: { notificationId: string } | { digestId: string },
  email: QueuedEmail,
): Promise<void> {
  await trx
    .insertInto("email_outbox")
    .values({
      id: uuidv7(),
      ...("notificationId" in about
        ? { notification_id: about.notificationId }
        : { digest_id: about.digestId }),
      to_address: email.to,
      subject: email.subject,
      text: email.text,
    })
    .execute();
}
