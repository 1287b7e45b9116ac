/**
 * The live event stream of the public API (`GET /events`, Server-Sent Events) for Node and
 * browsers: `fetch` (so the bearer token goes in a header, never in the URL) and the
 * eventsource-parser package, typed from the contract's `StreamEvent`. Reconnects like
 * `EventSource` does — after the server's `retry` delay, sending the last `id` received as
 * `Last-Event-ID` — so the gateway replays what was missed, without gaps or duplicates.
 */
import type { PublicApi } from "@portico/contracts";
import { createParser } from "eventsource-parser";

type Schemas = PublicApi.components["schemas"];

/** One event of the stream: a `notification` (with its `id`) or a `heartbeat`. */
export type StreamEvent = Schemas["StreamEvent"];
/** A notification added to the signed-in user's inbox. */
export type NotificationStreamEvent = Schemas["NotificationStreamEvent"];
/** The stream is alive (sent every 15 s). */
export type HeartbeatStreamEvent = Schemas["HeartbeatStreamEvent"];

/** Options of `subscribe()`. */
export interface SubscribeOptions {
  /** Ends the subscription when aborted. */
  signal?: AbortSignal;
  /** Resume after this event (`id` of a notification received earlier). */
  lastEventId?: string;
  /** Reconnect after the stream ends or the network fails (default true). */
  reconnect?: boolean;
  /** Called each time the stream is (re)opened. */
  onOpen?: () => void;
  /** Called with each connection failure that a reconnection will follow. */
  onError?: (error: unknown) => void;
}

/** An open subscription. */
export interface EventSubscription {
  /** The `id` of the last notification received (what a reconnection sends). */
  readonly lastEventId: string | undefined;
  /**
   * Settles when the subscription ends: resolves after `close()` or an abort of the signal;
   * rejects with the error when the gateway refuses a reconnection for good (401, 403, 400) or,
   * without `reconnect`, when the stream fails.
   */
  readonly closed: Promise<void>;
  /** Ends the subscription (idempotent). */
  close(): void;
}

/** How the client reaches the gateway. */
export interface StreamConnection {
  /** The gateway's base URL. */
  baseUrl: string;
  /** The bearer token to send, read at each (re)connection. */
  token: () => string | undefined;
  fetch?: typeof globalThis.fetch;
}

/** An answer other than the stream: the HTTP status and its Problem Details body, if any. */
export class StreamRefusedError extends Error {
  readonly status: number;
  readonly problem: Schemas["Problem"] | undefined;
  /** `Retry-After` in ms, when the gateway sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(status: number, problem: Schemas["Problem"] | undefined, retryAfterMs?: number) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
    this.name = "StreamRefusedError";
    this.status = status;
    this.problem = problem;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Statuses after which reconnecting cannot help (the request itself is refused). */
const FINAL_STATUSES = new Set([400, 401, 403, 404, 405]);

/** The default reconnection delay, until the server advises one (`retry`), in ms. */
const DEFAULT_RETRY_MS = 3_000;

/** Turns one parsed SSE message into a typed event, or undefined for unknown or malformed ones. */
export function toStreamEvent(message: {
  event?: string | undefined;
  id?: string | undefined;
  data: string;
}): StreamEvent | undefined {
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    return undefined;
  }
  if (message.event === "notification" && message.id !== undefined) {
    return { event: "notification", id: message.id, data } as NotificationStreamEvent;
  }
  if (message.event === "heartbeat") return { event: "heartbeat", data } as HeartbeatStreamEvent;
  return undefined;
}

/** Waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Subscribes to `GET /events`: `onEvent` receives every event, in order.
 * @returns once the stream is open (the gateway registered the subscription: notifications
 *   created from then on arrive).
 * @throws StreamRefusedError when the gateway refuses the first connection (401 without a valid
 *   token, 503 while its event feed is down, ...); the network's error when it cannot connect.
 */
export async function subscribeToEvents(
  connection: StreamConnection,
  onEvent: (event: StreamEvent) => void,
  options: SubscribeOptions = {},
): Promise<EventSubscription> {
  const doFetch = connection.fetch ?? globalThis.fetch.bind(globalThis);
  const url = `${connection.baseUrl.replace(/\/+$/, "")}/events`;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  if (options.signal?.aborted) stop.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let lastEventId = options.lastEventId;
  let retryMs = DEFAULT_RETRY_MS;

  /** Opens the stream: resolves with its body, or throws StreamRefusedError. */
  const open = async (): Promise<ReadableStream<Uint8Array>> => {
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    const token = connection.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (lastEventId !== undefined) headers["Last-Event-ID"] = lastEventId;
    const response = await doFetch(url, { headers, signal: stop.signal });
    if (response.status !== 200 || !response.body) {
      const problem = (await response.json().catch(() => undefined)) as Schemas["Problem"];
      const retryAfter = Number(response.headers.get("retry-after"));
      throw new StreamRefusedError(
        response.status,
        problem,
        Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
      );
    }
    options.onOpen?.();
    return response.body;
  };

  /** Reads one opened stream to its end. */
  const read = async (body: ReadableStream<Uint8Array>): Promise<void> => {
    const parser = createParser({
      onEvent: (message) => {
        const event = toStreamEvent(message);
        if (!event) return;
        if (event.event === "notification") lastEventId = event.id;
        onEvent(event);
      },
      onRetry: (ms) => {
        retryMs = ms;
      },
    });
    const reader = body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } finally {
      reader.releaseLock();
    }
  };

  const first = await open().catch((err: unknown) => {
    options.signal?.removeEventListener("abort", onAbort);
    throw err;
  });

  const closed = (async () => {
    let body: ReadableStream<Uint8Array> | undefined = first;
    try {
      for (;;) {
        let failure: unknown;
        if (body) {
          try {
            await read(body);
          } catch (err) {
            failure = err;
          }
        }
        if (stop.signal.aborted) return;
        if (options.reconnect === false) {
          if (failure !== undefined) throw failure;
          return;
        }
        if (failure !== undefined) options.onError?.(failure);
        body = undefined;
        await pause(retryMs, stop.signal);
        if (stop.signal.aborted) return;
        try {
          body = await open();
        } catch (err) {
          if (stop.signal.aborted) return;
          if (err instanceof StreamRefusedError && FINAL_STATUSES.has(err.status)) throw err;
          options.onError?.(err);
          if (err instanceof StreamRefusedError && err.retryAfterMs !== undefined) {
            await pause(err.retryAfterMs, stop.signal);
          }
        }
      }
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
    }
  })();
  // A rejection nobody awaits must not crash the process; `closed` still rejects for its readers.
  closed.catch(() => undefined);

  return {
    get lastEventId() {
      return lastEventId;
    },
    closed,
    close: () => stop.abort(),
  };
}
