/**
 * NATS as a background dependency: a service whose writes go through the transactional outbox
 * does not need NATS to serve HTTP, so it starts without waiting for it and attaches its NATS
 * side (streams, queries, the outbox relay) once NATS answers.
 */
import { setTimeout as delay } from "node:timers/promises";
import type { Logger } from "./logger.js";
import { connectNats, type NatsConnection } from "./nats.js";

/** Options of {@link connectNatsInBackground}. */
export interface BackgroundNatsOptions {
  /** Comma-separated server URLs, as for `connectNats`. */
  url: string;
  /** Connection name shown by the server. */
  name: string;
  log: Logger;
  /**
   * Sets up what needs the connection. Register a closer for each thing started with `defer`:
   * closers run in reverse order on {@link BackgroundNats.close}, and also when `attach` throws
   * (it is then retried on the same connection after the back-off).
   */
  attach: (nc: NatsConnection, defer: (closer: () => Promise<void>) => void) => Promise<void>;
  /** First retry delay in ms, doubled per failure (default 500). */
  retryBaseMs?: number;
  /** Largest retry delay in ms (default 5 000). */
  retryMaxMs?: number;
}

/** A NATS connection being established in the background. */
export interface BackgroundNats {
  /** The connection once established, else undefined. */
  current(): NatsConnection | undefined;
  /**
   * Resolves with the connection once `attach` succeeded, or with undefined when closed first.
   * Never rejects.
   */
  ready: Promise<NatsConnection | undefined>;
  /** Stops retrying, runs the deferred closers (reverse order), drains the connection. Idempotent. */
  close(): Promise<void>;
}

/**
 * Connects to NATS and runs `attach`, retrying both with capped exponential back-off until they
 * succeed; returns at once. The first failure is logged as a warning, success as info. After the
 * first connection the client reconnects by itself (`connectNats`).
 */
export function connectNatsInBackground(options: BackgroundNatsOptions): BackgroundNats {
  const { url, name, log, attach } = options;
  const retryBaseMs = options.retryBaseMs ?? 500;
  const retryMaxMs = options.retryMaxMs ?? 5_000;
  const closers: (() => Promise<void>)[] = [];
  const wake = new AbortController();
  let nc: NatsConnection | undefined;
  let stopped = false;

  const runClosers = async () => {
    for (const closer of closers.splice(0).reverse()) {
      await closer().catch((err: unknown) => log.error({ err }, "error while closing"));
    }
  };

  const ready = (async (): Promise<NatsConnection | undefined> => {
    for (let failures = 0; !stopped; ) {
      try {
        nc ??= await connectNats(url, name, log);
        if (stopped) break;
        await attach(nc, (closer) => closers.push(closer));
        if (failures > 0) log.info({ failedAttempts: failures }, "NATS attached");
        return nc;
      } catch (err) {
        await runClosers();
        failures += 1;
        if (failures === 1) {
          log.warn({ err }, "NATS unavailable; serving without it and retrying in the background");
        }
        const step = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(failures - 1, 30));
        await delay(step, undefined, { signal: wake.signal }).catch(() => undefined);
      }
    }
    return undefined;
  })();

  let closing: Promise<void> | undefined;
  return {
    current: () => nc,
    ready,
    close() {
      closing ??= (async () => {
        stopped = true;
        wake.abort();
        await ready;
        await runClosers();
        if (nc && !nc.isClosed()) await nc.drain();
      })();
      return closing;
    },
  };
}
