import { describe, expect, it } from "@jest/globals";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { feedEvent, heartbeatEvent, lastEventPositions } from "../../src/events/events-stream.js";
import { formatEvent, formatRetry } from "../../src/events/sse.js";

/** What a conforming SSE parser reads from `text`. */
function parse(text: string): { events: EventSourceMessage[]; retry: number | undefined } {
  const events: EventSourceMessage[] = [];
  let retry: number | undefined;
  const parser = createParser({
    onEvent: (event) => events.push(event),
    onRetry: (value) => {
      retry = value;
    },
  });
  parser.feed(text);
  return { events, retry };
}

const notification = {
  id: "0192f0c3-2222-7b3e-9f43-2d8a5c1e4b10",
  type: "back_in_stock" as const,
  title: "Cup is back\nin stock",
  body: "Line one\r\nline two",
  productId: "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10",
  createdAt: "2026-11-21T10:00:00.000Z",
  readAt: null,
};

describe("the SSE wire format", () => {
  it("writes event, id and one JSON data line, ended by a blank line", () => {
    expect(formatEvent({ event: "notification", id: "42", data: { a: 1 } })).toBe(
      'event: notification\nid: 42\ndata: {"a":1}\n\n',
    );
    expect(formatEvent({ data: "x" })).toBe('data: "x"\n\n');
    expect(formatRetry(3000)).toBe("retry: 3000\n\n");
  });

  it("keeps line breaks inside the data on one line (JSON escapes them)", () => {
    const item = { sequence: 7, recipient: "u", event: "notification", data: notification };
    const { events } = parse(feedEvent(item, [7]));
    expect(events).toEqual([
      { event: "notification", id: "7", data: JSON.stringify(notification) },
    ]);
    expect(JSON.parse(events[0]?.data ?? "")).toEqual(notification);
  });

  it("refuses an event name or id that would forge another field", () => {
    expect(() => formatEvent({ event: "a\ndata: forged", data: 1 })).toThrow(/line break/);
    expect(() => formatEvent({ id: "1\r2", data: 1 })).toThrow(/line break/);
    expect(() => formatEvent({ id: "1\u00002", data: 1 })).toThrow(/NUL/);
  });

  it("sends heartbeats without an id, so Last-Event-ID stays on the last notification", () => {
    const at = new Date("2026-11-21T10:00:15.000Z");
    const { events, retry } = parse(`${formatRetry(3000)}${heartbeatEvent(at)}`);
    expect(retry).toBe(3000);
    expect(events).toEqual([
      { event: "heartbeat", id: undefined, data: '{"at":"2026-11-21T10:00:15.000Z"}' },
    ]);
  });

  it("reads Last-Event-ID as one position per feeding stream, ignoring anything else", () => {
    expect(lastEventPositions("42", 1)).toEqual([42]);
    expect(lastEventPositions(["7", "8"], 1)).toEqual([7]);
    expect(lastEventPositions("42.7", 2)).toEqual([42, 7]);
    for (const value of [undefined, "", "-1", "4.2", "abc", "12345678901234567"]) {
      expect(lastEventPositions(value, 1)).toBeUndefined();
    }
    expect(lastEventPositions("42", 2)).toBeUndefined();
  });

  it("gives each event the caller's position in every stream", () => {
    const item = { sequence: 9, recipient: "u", event: "thing", data: { a: 1 } };
    expect(parse(feedEvent(item, [3, 9])).events).toEqual([
      { event: "thing", id: "3.9", data: '{"a":1}' },
    ]);
  });
});
