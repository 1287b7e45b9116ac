/**
 * `GET /events` (operationId `streamEvents`, contracts/gateway.yaml): the events declared with
 * `x-portico-feed` whose recipient is the signed-in principal, as Server-Sent Events, live from
 * the event feeds (feed.ts, one per stream). The request arrives authenticated and validated by
 * the contract validator. Each event's `id` is the caller's position in every feeding stream —
 * the stream sequence when one stream feeds (`42`), the sequences joined by `.` in a fixed
 * stream order when several do (`42.7`) — and `Last-Event-ID` resumes after it. A `heartbeat`
 * event every `heartbeatMs` lets clients and proxies tell a quiet stream from a dead one.
 */
import { HttpProblem, type Logger, type Principal, unauthorized } from "@portico/kit/core";
import type { RequestHandler } from "express";
import {
  type EventFeed,
  type FeedItem,
  type FeedRegistration,
  FeedUnavailableError,
} from "./feed.js";
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
  /** The feeds of the declared events, one per stream, in a fixed order. */
  feeds: readonly EventFeed[];
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

/**
 * The `Last-Event-ID` header as a position in each of `streams` feeding streams (sequence
 * numbers joined by `.`, see the module comment); undefined when absent or not `streams` numbers.
 */
export function lastEventPositions(
  header: string | string[] | undefined,
  streams: number,
): number[] | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const parts = value?.split(".") ?? [];
  if (parts.length !== streams || !parts.every((part) => /^[0-9]{1,16}$/.test(part))) {
    return undefined;
  }
  return parts.map(Number);
}

/** The SSE event of a feed item, whose `id` is the caller's position in every stream. */
export function feedEvent(item: FeedItem, positions: readonly number[]): string {
  return formatEvent({ event: item.event, id: positions.join("."), data: item.data });
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
  const { feeds, log } = options;
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
    if (!feeds.every((feed) => feed.available)) {
      next(
        new HttpProblem(503, "Live events are unavailable at the moment.", {
          headers: { "Retry-After": String(UNAVAILABLE_RETRY_AFTER_SECONDS) },
        }),
      );
      return;
    }
    const resumed = lastEventPositions(req.headers["last-event-id"], feeds.length);
    const positions = resumed ?? feeds.map(() => 0);

    const registrations: FeedRegistration[] = [];
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      enders.delete(end);
      for (const registration of registrations) registration.close();
      options.connections?.dec();
      if (!res.writableEnded) res.end();
    };
    const write = (text: string) => {
      if (ended) return;
      res.write(text);
      if (res.writableLength > maxBufferedBytes) {
        log.warn({ principal: principal.userId }, "event stream dropped: the client does not read");
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

    // Registers at once (the replay, if any, is asynchronous): an event published after the
    // client received the response headers reaches it.
    feeds.forEach((feed, index) => {
      const send = (item: FeedItem) => {
        positions[index] = item.sequence;
        write(feedEvent(item, positions));
      };
      feed
        .open(principal.userId, { send, end }, resumed ? { after: resumed[index] as number } : {})
        .then(
          (opened) => {
            registrations.push(opened);
            if (ended) opened.close();
          },
          (err: unknown) => {
            if (!(err instanceof FeedUnavailableError)) {
              log.error({ err, principal: principal.userId }, "event stream could not resume");
            }
            end();
          },
        );
    });
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
