/**
 * An express-rate-limit `Store` over a NATS JetStream key-value bucket, so every gateway instance
 * counts against the same limit. Fixed windows aligned to the epoch: each client has one key per
 * window (`<window start>.<client key, base64url>`), incremented with compare-and-set
 * (`kv.update` at the last seen revision; `kv.create` for the window's first hit), retried when
 * another instance wrote first. The bucket's `max_age` is one window, so old windows' keys expire
 * by themselves; it is kept in memory (counters are worth less than the disk writes).
 */
import { JetStreamApiCodes, JetStreamApiError, StorageType } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { streamReplicasFromEnv } from "@portico/kit/core";
import type { ClientRateLimitInfo, Options, Store } from "express-rate-limit";

/** The bucket of windows `windowMs` long: one per window length, as `max_age` is per bucket. */
export function rateLimitBucketName(windowMs: number): string {
  return `portico_rate_limits_${windowMs}ms`;
}

/**
 * Opens (creating when missing) the bucket for windows `windowMs` long.
 * @throws Error when JetStream does not answer.
 */
export async function openRateLimitBucket(nc: NatsConnection, windowMs: number): Promise<KV> {
  const kvm = new Kvm(nc);
  const options = {
    ttl: windowMs,
    history: 1,
    storage: StorageType.Memory,
    replicas: streamReplicasFromEnv(),
  };
  // A second attempt binds the bucket another instance created between our lookup and our add.
  return kvm
    .create(rateLimitBucketName(windowMs), options)
    .catch(() => kvm.create(rateLimitBucketName(windowMs), options));
}

/** A counter as last read or written: its value and the bucket revision that holds it. */
interface Counter {
  hits: number;
  revision: number;
}

/** Compare-and-set attempts before an increment gives up (the limiter then lets it pass). */
const MAX_ATTEMPTS = 20;
/** Counters remembered to skip the read before a write; the oldest is forgotten first. */
const MAX_REMEMBERED = 10_000;

/** True when a write failed only because another writer changed the key first. */
function isConflict(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/** The express-rate-limit store over a NATS KV bucket (see the module comment). */
export class NatsKvRateLimitStore implements Store {
  /** Counts are shared between processes. */
  readonly localKeys = false;
  private windowMs = 60_000;
  private readonly remembered = new Map<string, Counter>();

  /**
   * @param bucket resolves to the bucket for the limiter's window length (called per operation,
   *   so it can wait for NATS or reopen; a rejection fails that operation).
   * @param now clock in ms (replaceable in tests).
   */
  constructor(
    private readonly bucket: (windowMs: number) => Promise<KV>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes the window length from the limiter's options. */
  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  /** Counts one more hit of `key` in the current window. */
  async increment(key: string): Promise<ClientRateLimitInfo> {
    const { kvKey, resetTime } = this.window(key);
    const hits = await this.change(kvKey, (n) => n + 1);
    return { totalHits: hits, resetTime };
  }

  /** Takes one hit of `key` back (express-rate-limit's skip options). */
  async decrement(key: string): Promise<void> {
    await this.change(this.window(key).kvKey, (n) => Math.max(0, n - 1));
  }

  /** Forgets `key`'s hits in the current window. */
  async resetKey(key: string): Promise<void> {
    const { kvKey } = this.window(key);
    this.remembered.delete(kvKey);
    await (await this.bucket(this.windowMs)).delete(kvKey);
  }

  /** `key`'s hits in the current window, if it has any. */
  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const { kvKey, resetTime } = this.window(key);
    const counter = await this.read(await this.bucket(this.windowMs), kvKey);
    return counter ? { totalHits: counter.hits, resetTime } : undefined;
  }

  /** The bucket key of `key` in the current window, and when that window ends. */
  private window(key: string): { kvKey: string; resetTime: Date } {
    const start = Math.floor(this.now() / this.windowMs) * this.windowMs;
    return {
      kvKey: `${start}.${Buffer.from(key).toString("base64url")}`,
      resetTime: new Date(start + this.windowMs),
    };
  }

  private async read(kv: KV, kvKey: string): Promise<Counter | undefined> {
    const entry = await kv.get(kvKey);
    if (entry?.operation !== "PUT") return undefined;
    const hits = Number(entry.string());
    return { hits: Number.isInteger(hits) && hits >= 0 ? hits : 0, revision: entry.revision };
  }

  /**
   * Applies `next` to the counter with compare-and-set and returns the new count. Starts from the
   * counter this instance wrote last (no read when no other instance wrote since).
   * @throws Error after {@link MAX_ATTEMPTS} conflicting writes, or NATS's error.
   */
  private async change(kvKey: string, next: (hits: number) => number): Promise<number> {
    const kv = await this.bucket(this.windowMs);
    let known = this.remembered.get(kvKey);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      known ??= await this.read(kv, kvKey);
      const hits = next(known?.hits ?? 0);
      try {
        const revision = known
          ? await kv.update(kvKey, String(hits), known.revision)
          : await kv.create(kvKey, String(hits));
        this.remember(kvKey, { hits, revision });
        return hits;
      } catch (err) {
        if (!isConflict(err)) throw err;
        known = undefined;
      }
    }
    this.remembered.delete(kvKey);
    throw new Error(`rate-limit counter ${kvKey}: too many concurrent writers`);
  }

  private remember(kvKey: string, counter: Counter): void {
    this.remembered.delete(kvKey);
    while (this.remembered.size >= MAX_REMEMBERED) {
      this.remembered.delete(this.remembered.keys().next().value as string);
    }
    this.remembered.set(kvKey, counter);
  }
}
