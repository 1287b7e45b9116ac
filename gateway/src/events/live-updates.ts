/**
 * The gateway's event-fed side: the notification feed behind `GET /events` and the invalidation
 * of the product cache, both read from JetStream over the gateway's NATS connection
 * (nats-connection.ts, established in the background). Until they run — no `NATS_URL`, NATS not
 * reachable yet, or the `NOTIFICATIONS`/`PRODUCTS` streams not created yet by the services that
 * publish them (the gateway only reads, and retries with back-off) — `/events` answers 503 and
 * the cache is off; proxied traffic is served all along.
 */
import { setTimeout as delay } from "node:timers/promises";
import type { Logger, NatsConnection } from "@portico/kit/core";
import { ResponseCache, type ResponseCacheOptions } from "./cache.js";
import { NotificationFeed } from "./notification-feed.js";
import { watchProductEvents } from "./product-invalidation.js";

/** Options of {@link startLiveUpdates}. */
export interface LiveUpdatesOptions {
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
  feed: NotificationFeed;
  cache: ResponseCache;
  /**
   * Resolves true once the feed and the cache invalidation both run (each starts as soon as its
   * own stream answers); false without NATS or if closed first.
   */
  ready: Promise<boolean>;
  /**
   * Ends every feed subscription and stops both consumers (the connection is not closed: its
   * owner drains it afterwards). Idempotent.
   */
  close(): Promise<void>;
}

/** Starts the feed and the cache invalidation once NATS and the streams answer. */
export function startLiveUpdates(options: LiveUpdatesOptions): LiveUpdates {
  const { log } = options;
  const retryBaseMs = options.retryBaseMs ?? 250;
  const retryMaxMs = options.retryMaxMs ?? 2_000;
  const feed = new NotificationFeed({ log: log.child({ component: "notification-feed" }) });
  const cache = new ResponseCache(options.cache);
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
    keepTrying("product cache invalidation", (nc) =>
      watchProductEvents(nc, cache, log.child({ component: "product-cache" })),
    ),
    keepTrying("notification feed", (nc) => feed.attach(nc)),
  ]).then((started) => started.every(Boolean));

  let closing: Promise<void> | undefined;
  return {
    feed,
    cache,
    ready,
    close() {
      closing ??= (async () => {
        stopped = true;
        wake.abort();
        feed.endAll();
        await ready;
        await stopAll();
        cache.disable();
      })();
      return closing;
    },
  };
}
