/**
 * The outbox sender: delivers `email_outbox` rows written by the event consumer. It polls every
 * `intervalMs` and when kicked (right after new rows), sends small batches locked with
 * `FOR UPDATE SKIP LOCKED` (several instances never send the same row), marks each sent, or
 * records the error and retries with back-off until it gives up (`failed`); the email retry job
 * (src/jobs/email-retry.ts) later puts failed emails back in its queue (domain/delivery-policy.ts).
 * Delivery is at least once: a crash between the SMTP answer and the commit resends that batch.
 */
import type { Logger } from "@portico/kit";
import type { Kysely } from "kysely";
import {
  afterFailedAttempt,
  describeDeliveryError,
  MAX_DELIVERY_ATTEMPTS,
} from "../domain/delivery-policy.js";
import { claimDueEmails, markEmailSent, recordEmailFailure } from "../store/outbox.js";
import type { EmailOutboxRow, NotificationsDatabase } from "../store/schema.js";
import type { MailTransport } from "./transport.js";

/** Options of {@link createOutboxSender}. */
export interface OutboxSenderOptions {
  db: Kysely<NotificationsDatabase>;
  transport: MailTransport;
  /** `From` of every email, e.g. `Portico <no-reply@portico.local>`. */
  from: string;
  log: Logger;
  /** Polling period in ms (default 500). */
  intervalMs?: number;
  /** Rows per transaction (default 10). */
  batchSize?: number;
  /** Back-off after the first failure, doubled after each next one, in ms (default 2 000). */
  retryBaseDelayMs?: number;
  /** Attempts before an email is marked failed (default 5). */
  maxAttempts?: number;
}

/** A running (or startable) outbox sender. */
export interface OutboxSender {
  /** Starts polling; also sends what is already due. */
  start(): void;
  /** Sends what is due now (coalesced with a run in progress). */
  kick(): void;
  /** Sends one batch now; resolves with the number of rows attempted. */
  sendBatch(): Promise<number>;
  /** Stops polling, waits for the batch in flight, closes the transport. Idempotent. */
  stop(): Promise<void>;
}

/** Creates an outbox sender (not started). */
export function createOutboxSender(options: OutboxSenderOptions): OutboxSender {
  const { db, transport, from, log } = options;
  const batchSize = options.batchSize ?? 10;
  const policy = {
    baseDelayMs: options.retryBaseDelayMs ?? 2_000,
    maxAttempts: options.maxAttempts ?? MAX_DELIVERY_ATTEMPTS,
  };

  async function deliver(trx: Kysely<NotificationsDatabase>, row: EmailOutboxRow): Promise<void> {
    try {
      await transport.send({
        from,
        to: row.to_address,
        subject: row.subject,
        text: row.text,
        messageId: `<${row.id}@portico.local>`,
      });
    } catch (err) {
      const outcome = afterFailedAttempt(row.attempts + 1, policy);
      const error = describeDeliveryError(err);
      await recordEmailFailure(trx, row.id, { ...outcome, error });
      log.warn({ emailId: row.id, ...outcome, error }, "email delivery failed");
      return;
    }
    await markEmailSent(trx, row.id);
    log.info({ emailId: row.id, notificationId: row.notification_id }, "email sent");
  }

  async function sendBatch(): Promise<number> {
    return db.transaction().execute(async (trx) => {
      const rows = await claimDueEmails(trx, batchSize);
      // Deliveries of one batch go out concurrently over the transport's connection pool; their
      // row updates queue on the transaction's single connection.
      await Promise.all(rows.map((row) => deliver(trx, row)));
      return rows.length;
    });
  }

  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let runAgain = false;
  let stopped = false;

  async function drain(): Promise<void> {
    do {
      runAgain = false;
      try {
        // A full batch means more may be due: go again at once.
        if ((await sendBatch()) === batchSize) runAgain = true;
      } catch (err) {
        log.error({ err }, "outbox batch failed");
      }
    } while (runAgain && !stopped);
  }

  function kick(): void {
    if (stopped) return;
    if (inFlight) {
      runAgain = true;
      return;
    }
    inFlight = drain().finally(() => {
      inFlight = undefined;
    });
  }

  let stopping: Promise<void> | undefined;
  return {
    start() {
      if (timer || stopped) return;
      timer = setInterval(kick, options.intervalMs ?? 500);
      timer.unref();
      kick();
    },
    kick,
    sendBatch,
    stop() {
      stopping ??= (async () => {
        stopped = true;
        clearInterval(timer);
        await inFlight;
        transport.close();
      })();
      return stopping;
    },
  };
}
