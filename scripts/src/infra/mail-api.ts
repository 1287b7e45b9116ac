/**
 * Shapes of the small subset of Mailpit's HTTP API (v1) that the development SMTP sink serves, so
 * that code reading mail works against either. Field names follow Mailpit (PascalCase).
 */

/** A mailbox as Mailpit shows it. */
export interface MailAddress {
  Name: string;
  Address: string;
}

/** One entry of `GET /api/v1/messages`. */
export interface MailSummary {
  ID: string;
  MessageID: string;
  Read: boolean;
  From: MailAddress;
  To: MailAddress[];
  Subject: string;
  /** When the sink received it, RFC 3339 UTC. */
  Created: string;
  /** Size of the raw message in bytes. */
  Size: number;
  /** Start of the text body, whitespace collapsed (at most 250 characters). */
  Snippet: string;
}

/** `GET /api/v1/messages`: newest first. */
export interface MailList {
  total: number;
  unread: number;
  count: number;
  start: number;
  messages: MailSummary[];
}

/** `GET /api/v1/message/{ID}` (`ID` may be `latest`). */
export interface MailMessage extends MailSummary {
  /** The `Date` header (or receipt time), RFC 3339 UTC. */
  Date: string;
  /** Plain-text body ("" when the message has none). */
  Text: string;
  /** HTML body ("" when the message has none). */
  HTML: string;
}
