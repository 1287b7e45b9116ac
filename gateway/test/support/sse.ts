/**
 * A Server-Sent Events reader for tests: `fetch` plus eventsource-parser, collecting every event
 * of one response so a test can wait for the ones it expects.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";

/** An open event stream. */
export interface TestEventStream {
  status: number;
  headers: Headers;
  /** Every event received so far, in order. */
  events: EventSourceMessage[];
  /** The `retry` value the server advised, if any. */
  retry: number | undefined;
  /** Resolves with the first event (from the start) matching `match`, waiting up to `timeoutMs`. */
  waitFor(
    match: (event: EventSourceMessage) => boolean,
    timeoutMs?: number,
  ): Promise<EventSourceMessage>;
  /** Resolves once the server ended the response. */
  ended: Promise<void>;
  close(): void;
}

/**
 * Opens `url` as an event stream (`Accept: text/event-stream`). A non-200 answer is returned
 * with no events and already ended; read its Problem with {@link problemOf}.
 */
export async function openEventStream(
  url: string,
  headers: Record<string, string> = {},
): Promise<TestEventStream & { body: string }> {
  const abort = new AbortController();
  const response = await fetch(url, {
    headers: { Accept: "text/event-stream", ...headers },
    signal: abort.signal,
  });
  const events: EventSourceMessage[] = [];
  const waiters = new Set<() => void>();
  const stream = {
    status: response.status,
    headers: response.headers,
    events,
    retry: undefined as number | undefined,
    body: "",
    ended: Promise.resolve(),
    close: () => abort.abort(),
    waitFor(match: (event: EventSourceMessage) => boolean, timeoutMs = 5_000) {
      return new Promise<EventSourceMessage>((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(events)}`),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
  if (response.status !== 200 || !response.body) {
    stream.body = await response.text();
    return stream;
  }
  const parser = createParser({
    onEvent: (event) => {
      events.push(event);
      for (const waiter of [...waiters]) waiter();
    },
    onRetry: (retry) => {
      stream.retry = retry;
    },
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  stream.ended = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        parser.feed(value);
      }
    } catch {
      // aborted by close()
    }
  })();
  return stream;
}

/** The JSON body of a non-200 answer. */
export function problemOf(stream: { body: string }): Record<string, unknown> {
  return JSON.parse(stream.body) as Record<string, unknown>;
}
