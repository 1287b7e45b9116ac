/**
 * The gateway's event-fed side, as the contracts declare it: the event feeds behind `GET /events`
 * (`x-portico-feed`, one feed per stream) and the invalidation of the declared caches
 * (`x-portico-cache`), all read from JetStream over the gateway's NATS connection
 * (edge/nats-connection.ts, established in the background). Until they run — no `NATS_URL`, NATS
 * not reachable yet, or a stream not created yet by the service that publishes it (the gateway
 * only reads, and retries with back-off) — `/events` answers 503 and the caches are off; proxied
 * traffic is served all along.
 */
import { setTimeout as delay } from "node:timers/promises";
import type { Logger, NatsConnection } from "@portico/kit/core";
import { cacheEvictions } from "../observability/metrics.js";
import type { FeedPolicy } from "../operations/extensions.js";
import type { OperationTable } from "../operations/table.js";
import { EventFeed } from "./feed.js";
import { invalidationRules, streamOf, watchInvalidations } from "./invalidation.js";
import { ResponseCache, type ResponseCacheOptions } from "./response-cache.js";

/** Options of {@link startLiveUpdates}. */
export interface LiveUpdatesOptions {
  /** The operation table: its declared caches and feeds. */
  table: OperationTable;
  /**
   * Resolves with the gateway's NATS connection once established (undefined: none will come);
   * `undefined` when NATS is not configured.
   */
  nats: Promise<NatsConnection | undefined> | undefined;
  log: Logger;
  cache: ResponseCacheOptions;
  /** First retry delay when a stream is not there yet, in ms, doubled per failure (250). */
  retryBaseMs?: number;
  /** Largest retry delay, in ms (2 000): a stream info request is cheap. */
  retryMaxMs?: number;
}

/** The running event-fed side of the gateway. */
export interface LiveUpdates {
  /** The feeds of the declared events, one per stream, in a fixed order (by stream name). */
  feeds: readonly EventFeed[];
  cache: ResponseCache;
  /**
   * Resolves true once every feed and the cache invalidation run (each starts as soon as its
   * own streams answer); false without NATS or if closed first.
   */
  ready: Promise<boolean>;
  /**
   * Ends every feed subscription and stops the consumers (the connection is not closed: its
   * owner drains it afterwards). Idempotent.
   */
  close(): Promise<void>;
}

/** The declared feeds grouped by the stream holding their subjects, by stream name. */
function feedsByStream(feeds: readonly FeedPolicy[]): [string, FeedPolicy[]][] {
  const byStream = new Map<string, FeedPolicy[]>();
  for (const feed of feeds) {
    const stream = streamOf(feed.subject);
    byStream.set(stream, [...(byStream.get(stream) ?? []), feed]);
  }
  return [...byStream].sort(([a], [b]) => a.localeCompare(b));
}

/**
 * Starts the feeds and the cache invalidation once NATS and the streams answer.
 * @throws Error at start-up when a declared subject is in no stream.
 */
export function startLiveUpdates(options: LiveUpdatesOptions): LiveUpdates {
  const { log, table } = options;
  const retryBaseMs = options.retryBaseMs ?? 250;
  const retryMaxMs = options.retryMaxMs ?? 2_000;
  const feeds = feedsByStream(table.feeds).map(
    ([stream, policies]) =>
      new EventFeed({ log: log.child({ component: "event-feed", stream }), stream, policies }),
  );
  const rules = invalidationRules(table);
  const cache = new ResponseCache({ ...options.cache, onEvict: () => cacheEvictions.inc() });
  const stops: (() => Promise<void>)[] = [];
  const wake = new AbortController();
  let stopped = false;

  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  // Closing must not wait for a connection (or a stream) that may never come.
  const closed = new Promise<undefined>((resolve) => {
    wake.signal.addEventListener("abort", () => resolve(undefined), { once: true });
  });

  /** Runs `start` until it succeeds (each side waits for its own stream), or until closed. */
  const keepTrying = async (
    what: string,
    start: (nc: NatsConnection) => Promise<() => Promise<void>>,
  ): Promise<boolean> => {
    const nc = await Promise.race([options.nats, closed]);
    for (let failures = 0; nc && !stopped; ) {
      try {
        stops.push(await start(nc));
        if (failures > 0) log.info({ failedAttempts: failures }, `${what} running`);
        return true;
      } catch (err) {
        failures += 1;
        if (failures === 1)
          log.warn({ err }, `${what} not running yet (stream missing?); retrying`);
        const step = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(failures - 1, 30));
        await delay(step, undefined, { signal: wake.signal }).catch(() => undefined);
      }
    }
    return false;
  };

  const ready = Promise.all([
    ...(rules.size > 0
      ? [
          keepTrying("cache invalidation", (nc) =>
            watchInvalidations(nc, cache, rules, log.child({ component: "cache" })),
          ),
        ]
      : [Promise.race([options.nats, closed]).then((nc) => nc !== undefined && !stopped)]),
    ...feeds.map((feed) => keepTrying(`event feed of ${feed.stream}`, (nc) => feed.attach(nc))),
  ]).then((started) => started.every(Boolean));

  let closing: Promise<void> | undefined;
  return {
    feeds,
    cache,
    ready,
    close() {
      closing ??= (async () => {
        stopped = true;
        wake.abort();
        for (const feed of feeds) feed.endAll();
        await ready;
        await stopAll();
        cache.disable();
      })();
      return closing;
    },
  };
}
