/**
 * The wording of back-in-stock notifications: the inbox entry and its email. Pure, so the exact
 * text is unit-tested once and the consumer only stores what these return.
 */

/** What the wording needs to know about the product (from the `back_in_stock` event). */
export interface BackInStockFacts {
  /** Product name as published by the products service. */
  name: string;
  /** Units in stock when the event was published (positive). */
  stock: number;
}

/** An inbox entry's `title` and `body`. */
export interface InboxMessage {
  title: string;
  body: string;
}

/** An email's `subject` and plain-text body. */
export interface EmailMessage {
  subject: string;
  text: string;
}

/** "1 available", "25 available". */
function availability(stock: number): string {
  return `${stock} available`;
}

/** Inbox wording: title "Espresso cup is back in stock", body with the stock count. */
export function backInStockInboxMessage(facts: BackInStockFacts): InboxMessage {
  const title = `${facts.name} is back in stock`;
  return { title, body: `${title} (${availability(facts.stock)}).` };
}

/**
 * Email wording: subject "Espresso cup is back in stock"; the text greets the recipient by name
 * (when known), names the product and its stock, and says why the mail was sent.
 */
export function backInStockEmail(facts: BackInStockFacts, recipientName?: string): EmailMessage {
  const subject = `${facts.name} is back in stock`;
  const greeting = recipientName?.trim() ? `Hello ${recipientName.trim()},` : "Hello,";
  const text = [
    greeting,
    "",
    `Good news: ${facts.name} is back in stock, with ${availability(facts.stock)} right now.`,
    "",
    "You are receiving this email because you asked to be told when it returned.",
    "You can manage your subscriptions in your Portico account.",
    "",
    "— Portico",
    "",
  ].join("\n");
  return { subject, text };
}
