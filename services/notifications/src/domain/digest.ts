/**
 * The daily digest: which calendar day a tick belongs to, and the wording of the digest email.
 * Pure, so the exact text is unit-tested once and the job only stores what these return.
 */
import type { EmailMessage } from "./messages.js";

/** Titles listed in one digest; the rest are counted. */
export const DIGEST_MAX_TITLES = 20;

/** What the digest says about a user's unread notifications. */
export interface DigestFacts {
  /** Unread notifications (positive). */
  unread: number;
  /** Titles of the most recent unread notifications, newest first (at most {@link DIGEST_MAX_TITLES} are listed). */
  titles: readonly string[];
}

/**
 * The calendar day (`YYYY-MM-DD`) of instant `at` in IANA time zone `timeZone`: the digest's
 * idempotency key with the user id.
 * @throws RangeError when `timeZone` is not a valid IANA time zone.
 */
export function digestDay(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).formatToParts(at);
  const part = (type: Intl.DateTimeFormatPartTypes) =>
    parts.find((p) => p.type === type)?.value ?? "";
  return `${part("year").padStart(4, "0")}-${part("month")}-${part("day")}`;
}

/**
 * Digest wording: subject "You have 3 unread notifications" ("1 unread notification"); the text
 * greets the recipient by name (when known), lists the titles, counts the ones not listed, and
 * says why the mail was sent.
 */
export function digestEmail(facts: DigestFacts, recipientName?: string): EmailMessage {
  const noun = facts.unread === 1 ? "notification" : "notifications";
  const subject = `You have ${facts.unread} unread ${noun}`;
  const greeting = recipientName?.trim() ? `Hello ${recipientName.trim()},` : "Hello,";
  const listed = facts.titles.slice(0, DIGEST_MAX_TITLES);
  const more = facts.unread - listed.length;
  const text = [
    greeting,
    "",
    `You have ${facts.unread} unread ${noun} on Portico:`,
    "",
    ...listed.map((title) => `- ${title}`),
    ...(more > 0 ? [`- … and ${more} more`] : []),
    "",
    "You are receiving this daily digest because you have unread notifications.",
    "Read them in your Portico account.",
    "",
    "— Portico",
    "",
  ].join("\n");
  return { subject, text };
}
