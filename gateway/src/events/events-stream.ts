/**
 * `GET /events` (operationId `streamEvents`, contracts/gateway.yaml): the signed-in user's
 * notifications as Server-Sent Events, live from the notification feed. The request arrives
 * authenticated and validated by the contract validator; `Last-Event-ID` (a `NOTIFICATIONS`
 * stream sequence) resumes after that event. A `heartbeat` event every `heartbeatMs` lets clients
 * and proxies tell a quiet stream from a dead one.
 */
import { HttpProblem, type Logger, type Principal, unauthorized } from "@portico/kit/core";
import type { RequestHandler } from "express";
import {
  type FeedItem,
  type FeedSubscription,
  FeedUnavailableError,
  type NotificationFeed,
} from "./notification-feed.js";
import { formatEvent, formatRetry } from "./sse.js";

/** A gauge of open streams (prom-client's `Gauge` fits). */
export interface ConnectionGauge {
  inc(): void;
  dec(): void;
}

/** The operation served: `GET /events`. */
export const STREAM_EVENTS_OPERATION = "streamEvents";

/** Default pause between heartbeats, in ms. */
export const DEFAULT_HEARTBEAT_MS = 15_000;

/** Options of {@link createEventStreams}. */
export interface EventStreamsOptions {
  feed: NotificationFeed;
  log: Logger;
  /** Pause between heartbeats, in ms (default {@link DEFAULT_HEARTBEAT_MS}). */
  heartbeatMs?: number | undefined;
  /** Reconnection delay advised to clients (SSE `retry`), in ms (default 3 000). */
  retryMs?: number;
  /**
   * Unsent bytes a connection may hold before it is dropped (a client that does not read): it
   * reconnects and resumes with `Last-Event-ID` instead of growing the gateway's memory.
   * Default 1 MiB.
   */
  maxBufferedBytes?: number;
  /** Counts open streams (the metrics' SSE connections gauge), when given. */
  connections?: ConnectionGauge | undefined;
}

/** The event streams of one gateway. */
export interface EventStreams {
  /** The handler of `streamEvents`. */
  handler: RequestHandler;
  /** Open streams. */
  readonly open: number;
  /** Ends every open stream (at shutdown: they would hold the HTTP server open). */
  endAll(): void;
}

/** `Retry-After` of the 503 answered while the feed is not connected to NATS, in seconds. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** The `Last-Event-ID` header as a sequence number (the contract admits only digits). */
export function lastEventSequence(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !/^[0-9]{1,16}$/.test(value)) return undefined;
  return Number(value);
}

/** The SSE `notification` event of a feed item. */
export function notificationEvent(item: FeedItem): string {
  return formatEvent({ event: "notification", id: String(item.sequence), data: item.notification });
}

/** A `heartbeat` event (no `id`: it must not move the client's `Last-Event-ID`). */
export function heartbeatEvent(at: Date = new Date()): string {
  return formatEvent({ event: "heartbeat", data: { at: at.toISOString() } });
}

/**
 * Creates the `streamEvents` handler. Answers 401 without a principal (the contract requires a
 * bearer token) and 503 with `Retry-After` while the feed is not connected to NATS; otherwise
 * 200 `text/event-stream`, open until the client leaves or {@link EventStreams.endAll}.
 */
export function createEventStreams(options: EventStreamsOptions): EventStreams {
  const { feed, log } = options;
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const retryMs = options.retryMs ?? 3_000;
  const maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
  const enders = new Set<() => void>();

  const handler: RequestHandler = (req, res, next) => {
    const principal = (req as { principal?: Principal }).principal;
    if (!principal) {
      next(unauthorized());
      return;
    }
    if (!feed.available) {
      next(
        new HttpProblem(503, "Live events are unavailable at the moment.", {
          headers: { "Retry-After": String(UNAVAILABLE_RETRY_AFTER_SECONDS) },
        }),
      );
      return;
    }
    const after = lastEventSequence(req.headers["last-event-id"]);

    let subscription: FeedSubscription | undefined;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      enders.delete(end);
      subscription?.close();
      options.connections?.dec();
      if (!res.writableEnded) res.end();
    };
    const write = (text: string) => {
      if (ended) return;
      res.write(text);
      if (res.writableLength > maxBufferedBytes) {
        log.warn({ userId: principal.userId }, "event stream dropped: the client does not read");
        end();
        res.destroy();
      }
    };

    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache",
      // Tells nginx-style reverse proxies not to buffer the stream.
      "X-Accel-Buffering": "no",
    });
    req.socket.setNoDelay(true);
    res.write(formatRetry(retryMs));
    options.connections?.inc();
    enders.add(end);
    const heartbeat = setInterval(() => write(heartbeatEvent()), heartbeatMs);
    req.on("close", end);

    // Registers at once (the replay, if any, is asynchronous): a notification created after the
    // client received the response headers reaches it.
    feed
      .open(
        principal.userId,
        { send: (item) => write(notificationEvent(item)), end },
        after === undefined ? {} : { after },
      )
      .then(
        (opened) => {
          subscription = opened;
          if (ended) opened.close();
        },
        (err: unknown) => {
          if (!(err instanceof FeedUnavailableError)) {
            log.error({ err, userId: principal.userId }, "event stream could not resume");
          }
          end();
        },
      );
  };

  return {
    handler,
    get open() {
      return enders.size;
    },
    endAll() {
      for (const end of [...enders]) end();
    },
  };
}
