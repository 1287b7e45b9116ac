/**
 * The email retry job: the scheduled phase of the delivery policy (domain/delivery-policy.ts).
 * The outbox sender retries a failed delivery a few times on its own, then marks it `failed` with
 * the time of its next scheduled retry; this job puts each `failed` email whose back-off has
 * elapsed back in the sender's queue, so every delivery still goes through the one sender.
 */
import type { Logger } from "@portico/kit";
import type { Kysely } from "kysely";
import { SCHEDULED_RETRY, type ScheduledRetryPolicy } from "../domain/delivery-policy.js";
import { requeueFailedEmails } from "../store/outbox.js";
import type { NotificationsDatabase } from "../store/schema.js";

/** The job's name (lock keys `notifications.email-retry.<tick>`). */
export const EMAIL_RETRY_JOB = "email-retry";

/** What the retry job needs. */
export interface EmailRetryDeps {
  db: Kysely<NotificationsDatabase>;
  log: Logger;
  /** Called when emails were requeued (kicks the outbox sender). */
  onRequeued?: () => void;
  /** Default {@link SCHEDULED_RETRY}. */
  policy?: ScheduledRetryPolicy;
}

/**
 * Requeues the failed emails that are due for a scheduled retry.
 * @returns how many were requeued.
 */
export async function runEmailRetry(deps: EmailRetryDeps): Promise<number> {
  const policy = deps.policy ?? SCHEDULED_RETRY;
  const ids = await requeueFailedEmails(deps.db, policy.maxTotalAttempts);
  if (ids.length > 0) {
    deps.log.info({ requeued: ids.length, emailIds: ids.slice(0, 20) }, "failed emails requeued");
    deps.onRequeued?.();
  }
  return ids.length;
}
