/**
 * Kysely types of the notifications database (see migrations/001_init.ts). Timestamps are
 * `timestamptz(3)` (next_attempt_at: `timestamptz`), read as `Date`.
 */
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

/** An email to send (transactional outbox: written with its notification, sent later). */
export interface EmailOutboxTable {
  /** UUID v7. */
  id: string;
  notification_id: string;
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

/** The notifications database. */
export interface NotificationsDatabase {
  subscriptions: SubscriptionsTable;
  notifications: NotificationsTable;
  email_outbox: EmailOutboxTable;
}

export type SubscriptionRow = Selectable<SubscriptionsTable>;
export type NotificationRow = Selectable<NotificationsTable>;
export type NewNotification = Insertable<NotificationsTable>;
export type EmailOutboxRow = Selectable<EmailOutboxTable>;
