/**
 * The notifications service's scheduled jobs, each run once per tick across every instance
 * (kit `scheduleJob`: a lock per tick in NATS KV): the daily digest and the email retry.
 */
import { type Logger, type NatsConnection, type ScheduledJob, scheduleJob } from "@portico/kit";
import type { Kysely } from "kysely";
import type { Lookups } from "../queries.js";
import type { NotificationsDatabase } from "../store/schema.js";
import { DAILY_DIGEST_JOB, runDailyDigest } from "./daily-digest.js";
import { EMAIL_RETRY_JOB, runEmailRetry } from "./email-retry.js";

/** The service name the jobs' locks are scoped to. */
export const JOBS_SERVICE = "notifications";

/** What scheduling the jobs needs. */
export interface NotificationJobsOptions {
  nc: NatsConnection;
  db: Kysely<NotificationsDatabase>;
  lookups: Pick<Lookups, "getUserContact">;
  log: Logger;
  /** Cron pattern of the digest (croner syntax), read in `digestTimeZone`. */
  digestCron: string;
  /** IANA time zone of the digest's pattern and of its calendar day. */
  digestTimeZone: string;
  /** Cron pattern of the email retry (UTC). */
  emailRetryCron: string;
  /** Kicks the outbox sender after emails were queued or requeued. */
  kickSender: () => void;
}

/**
 * Schedules the daily digest and the email retry.
 * @returns a stop function that stops both and waits for their runs in flight.
 * @throws Error when a pattern is invalid or the lock bucket cannot be opened.
 */
export async function scheduleNotificationJobs(
  options: NotificationJobsOptions,
): Promise<{ stop: () => Promise<void> }> {
  const { nc, db, lookups, log, kickSender } = options;
  const jobs: ScheduledJob[] = [];
  try {
    jobs.push(
      await scheduleJob({
        service: JOBS_SERVICE,
        name: DAILY_DIGEST_JOB,
        cron: options.digestCron,
        timezone: options.digestTimeZone,
        nc,
        log,
        run: async (tick) => {
          await runDailyDigest(
            {
              db,
              lookups,
              log: tick.log,
              timeZone: options.digestTimeZone,
              onEmailQueued: kickSender,
            },
            tick.at,
          );
        },
      }),
    );
    jobs.push(
      await scheduleJob({
        service: JOBS_SERVICE,
        name: EMAIL_RETRY_JOB,
        cron: options.emailRetryCron,
        nc,
        log,
        run: async (tick) => {
          await runEmailRetry({ db, log: tick.log, onRequeued: kickSender });
        },
      }),
    );
  } catch (err) {
    await Promise.all(jobs.map((job) => job.stop()));
    throw err;
  }
  return {
    stop: async () => {
      await Promise.all(jobs.map((job) => job.stop()));
    },
  };
}
