/**
 * The Server-Sent Events wire format (WHATWG HTML, section 9.2.6 "Interpreting an event stream"):
 * UTF-8 text, one `field: value` per line, a blank line ending each event.
 */

/** One event to send. */
export interface ServerSentEvent {
  /** The `event` field: the listener the client dispatches it to (`message` when absent). */
  event?: string;
  /** The `id` field: what the client sends back as `Last-Event-ID`; absent keeps the last one. */
  id?: string;
  /** Serialised as JSON on one `data` line (JSON text never holds a raw line break). */
  data: unknown;
}

/** No CR or LF: a field value that holds one would split into a second, forged field. */
function singleLine(name: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new Error(`SSE ${name} must not contain a line break`);
  return value;
}

/**
 * Serialises one event.
 * @throws Error when `event` or `id` holds a line break, or `id` a NUL (the client would ignore it).
 */
export function formatEvent(message: ServerSentEvent): string {
  let text = "";
  if (message.event !== undefined) text += `event: ${singleLine("event", message.event)}\n`;
  if (message.id !== undefined) {
    if (message.id.includes("\0")) throw new Error("SSE id must not contain NUL");
    text += `id: ${singleLine("id", message.id)}\n`;
  }
  return `${text}data: ${JSON.stringify(message.data)}\n\n`;
}

/** The `retry` field: how long a client waits before reconnecting, in ms (a whole number). */
export function formatRetry(ms: number): string {
  return `retry: ${Math.max(0, Math.round(ms))}\n\n`;
}
