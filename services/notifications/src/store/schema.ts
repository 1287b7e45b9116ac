/**
 * Kysely types of the notifications database (see migrations/). Timestamps are
 * `timestamptz(3)` (next_attempt_at: `timestamptz`), read as `Date`.
 */
import type { OutboxDatabase, ProcessedEventsDatabase } from "@portico/kit";
import type { ColumnType, Generated, Insertable, Selectable } from "kysely";

/** A timestamp the database fills in (`default now()`) unless given. */
type CreatedAt = ColumnType<Date, Date | undefined, never>;

/** One user's back-in-stock subscription to one product; unique per (user, product). */
export interface SubscriptionsTable {
  /** UUID v7. */
  id: string;
  user_id: string;
  product_id: string;
  created_at: CreatedAt;
}

/** An inbox entry; unique per (user, event) so a redelivered event adds nothing. */
export interface NotificationsTable {
  /** UUID v7. */
  id: string;
  user_id: string;
  type: "back_in_stock";
  title: string;
  body: string;
  product_id: string;
  /** Id of the event envelope that caused it. */
  event_id: string;
  created_at: CreatedAt;
  read_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

/** Where an outbox row is: waiting to be sent, sent, or given up on. */
export type EmailStatus = "pending" | "sent" | "failed";

/** An email to send (transactional outbox: written with its notification or digest, sent later). */
export interface EmailOutboxTable {
  /** UUID v7. */
  id: string;
  /** The notification it announces; null for a digest email (exactly one of the two is set). */
  notification_id: ColumnType<string | null, string | null | undefined, never>;
  /** The daily digest it carries; null for a notification email. */
  digest_id: ColumnType<string | null, string | null | undefined, never>;
  to_address: string;
  subject: string;
  text: string;
  status: ColumnType<EmailStatus, EmailStatus | undefined, EmailStatus>;
  /** Delivery attempts that failed so far. */
  attempts: Generated<number>;
  last_error: ColumnType<string | null, string | null | undefined, string | null>;
  /** Earliest time of the next attempt (back-off after a failure). */
  next_attempt_at: ColumnType<Date, Date | undefined, Date>;
  created_at: CreatedAt;
  sent_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

/** One user's daily digest; unique per (user, digest day), so a re-run of a day adds nothing. */
export interface DigestsTable {
  /** UUID v7. */
  id: string;
  user_id: string;
  /**
   * Calendar day of the digest in the job's time zone, written `YYYY-MM-DD`; pg reads a `date` as
   * a Date at local midnight, so compare it as text (`digest_day::text`).
   */
  digest_day: ColumnType<Date, string, never>;
  /** Unread notifications the digest announced. */
  unread_count: number;
  created_at: CreatedAt;
}

/** A dead letter that was replayed successfully (so a second replay is refused). */
export interface DeadLetterReplaysTable {
  /** The dead letter's sequence in the `DEADLETTER` stream (its id in the admin API). */
  dead_letter_id: string;
  /** The durable consumer whose handler ran. */
  consumer: string;
  /** The subject of the replayed message. */
  subject: string;
  /** The replayed envelope's id, when it had one. */
  event_id: string | null;
  /** `applied` now, or `already_applied` earlier (nothing changed). */
  outcome: "applied" | "already_applied";
  replayed_at: CreatedAt;
}

/** The notifications database (with the kit's `outbox` of the events it publishes). */
export interface NotificationsDatabase extends ProcessedEventsDatabase, OutboxDatabase {
  subscriptions: SubscriptionsTable;
  notifications: NotificationsTable;
  email_outbox: EmailOutboxTable;
  digests: DigestsTable;
  dead_letter_replays: DeadLetterReplaysTable;
}

export type SubscriptionRow = Selectable<SubscriptionsTable>;
export type NotificationRow = Selectable<NotificationsTable>;
export type NewNotification = Insertable<NotificationsTable>;
export type EmailOutboxRow = Selectable<EmailOutboxTable>;
