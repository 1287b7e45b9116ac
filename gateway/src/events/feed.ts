/**
 * One JetStream stream's events declared to reach their recipients live (`x-portico-feed`,
 * operations/extensions.ts), fanned out to the subscribers of each recipient. One ordered
 * consumer per stream and gateway carries the live events (not one per connection: every
 * connection would then receive every recipient's events); a subscriber resuming after a
 * sequence number first replays the stream from there with a short-lived ordered consumer of its
 * own, then joins the live fan-out.
 *
 * No gap, no duplicate: a subscriber is registered before the stream's last sequence L is read;
 * the replay delivers the recipient's events up to L, events after L reach the subscriber
 * through the live consumer (which delivers every event stored after the registration, in
 * order), and each subscriber drops any event at or below the last sequence it delivered.
 */
import { setTimeout as delay } from "node:timers/promises";
import {
  type ConsumerMessages,
  DeliverPolicy,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { validateEvent } from "@portico/contracts";
import { describeValidationErrors, type Logger } from "@portico/kit/core";
import { type FeedPolicy, stringAt, valueAt } from "../operations/extensions.js";

/** One event of the feed, for its recipient. */
export interface FeedItem {
  /** Its sequence number in the stream. */
  sequence: number;
  /** The principal it is for (the declared `recipient` field). */
  recipient: string;
  /** The Server-Sent Event's name (the declared `event`). */
  event: string;
  /** What is sent as the event's data (the declared `data` field). */
  data: unknown;
}

/** Where a subscriber's events go. */
export interface FeedSink {
  /** Receives the recipient's events in stream order, each once. */
  send(item: FeedItem): void;
  /** The feed ended (gateway shutdown): no more events will come. */
  end(): void;
}

/** An open registration; `close` unregisters it (idempotent). */
export interface FeedRegistration {
  close(): void;
}

/** Thrown by {@link EventFeed.open} while the feed is not connected to NATS. */
export class FeedUnavailableError extends Error {
  constructor() {
    super("the event feed is not connected to NATS");
    this.name = "FeedUnavailableError";
  }
}

/**
 * The feed item of a message under the declarations `policies` (by subject), undefined when no
 * declaration covers its subject, or why it is not one (invalid envelope, no recipient).
 */
export function toFeedItem(
  msg: Pick<JsMsg, "seq" | "subject" | "data">,
  policies: ReadonlyMap<string, FeedPolicy>,
): FeedItem | string | undefined {
  const policy = policies.get(msg.subject);
  if (!policy) return undefined;
  let envelope: unknown;
  try {
    envelope = JSON.parse(new TextDecoder().decode(msg.data));
  } catch {
    return "the body is not JSON";
  }
  const validation = validateEvent(msg.subject, envelope);
  if (!validation.valid) return describeValidationErrors(validation.errors);
  const recipient = stringAt(envelope, policy.recipient);
  if (recipient === undefined) return `no recipient at ${policy.recipient.join(".")}`;
  return {
    sequence: msg.seq,
    recipient,
    event: policy.event,
    data: valueAt(envelope, policy.data),
  };
}

/** One registered subscriber. */
class Subscriber {
  /** Items received from the live consumer while the replay runs. */
  private buffered: FeedItem[] | undefined;
  /** The last sequence delivered (or known to hold nothing for this user). */
  private position: number;

  constructor(
    private readonly sink: FeedSink,
    after: number | undefined,
  ) {
    this.position = after ?? 0;
    if (after !== undefined) this.buffered = [];
  }

  /** An item from the live consumer. */
  live(item: FeedItem): void {
    if (this.buffered) this.buffered.push(item);
    else this.deliver(item);
  }

  /** Delivers `item` unless it is not newer than the last one delivered. */
  deliver(item: FeedItem): void {
    if (item.sequence <= this.position) return;
    this.position = item.sequence;
    this.sink.send(item);
  }

  /**
   * The replay covered everything up to `sequence` (the stream's last when it began): deliver
   * what the live consumer brought since. Also when the client's `Last-Event-ID` is beyond it
   * (the stream was recreated and numbers again from 1): its new events are not skipped.
   */
  caughtUp(sequence: number): void {
    this.position = sequence;
    const buffered = this.buffered ?? [];
    this.buffered = undefined;
    for (const item of buffered) this.deliver(item);
  }

  end(): void {
    this.sink.end();
  }
}

/** Options of {@link EventFeed}. */
export interface EventFeedOptions {
  log: Logger;
  /** The stream read. */
  stream: string;
  /** The declared feeds of subjects of that stream. */
  policies: readonly FeedPolicy[];
  /** How long a replay waits for the next batch before taking the stream as read, in ms. */
  replayBatchWaitMs?: number;
}

/**
 * The feed of one stream in one gateway. Created unattached ({@link EventFeed.open} throws
 * {@link FeedUnavailableError}); {@link EventFeed.attach} starts it on a NATS connection.
 */
export class EventFeed {
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  private readonly log: Logger;
  readonly stream: string;
  private readonly policies: ReadonlyMap<string, FeedPolicy>;
  /** The consumers' subject filter: the one subject, or none (several: dispatched here). */
  private readonly filter: { filter_subjects?: string };
  private readonly replayBatchWaitMs: number;
  private nc: NatsConnection | undefined;

  constructor(options: EventFeedOptions) {
    this.log = options.log;
    this.stream = options.stream;
    this.policies = new Map(options.policies.map((policy) => [policy.subject, policy]));
    const subjects = [...this.policies.keys()];
    this.filter = subjects.length === 1 ? { filter_subjects: subjects[0] as string } : {};
    this.replayBatchWaitMs = options.replayBatchWaitMs ?? 1_000;
  }

  /** Whether the live consumer runs (registrations can be opened). */
  get available(): boolean {
    return this.nc !== undefined && !this.nc.isClosed();
  }

  /** Open registrations, over all users. */
  get size(): number {
    let count = 0;
    for (const set of this.subscribers.values()) count += set.size;
    return count;
  }

  /**
   * Starts the live consumer on `nc` (the stream must exist): an ordered consumer from the
   * stream's next sequence, fanning each valid event out to its user's subscribers. nats.js
   * recreates an ordered consumer by itself after a reconnect, from the next sequence. Should the
   * consumer end anyway (its stream deleted), every registration is ended — their clients
   * reconnect with `Last-Event-ID` — and it is restarted after `restartDelayMs`.
   * @returns stops the consumer (the registrations stay registered; see {@link endAll}).
   * @throws Error when the stream does not exist or JetStream does not answer.
   */
  async attach(nc: NatsConnection, restartDelayMs = 1_000): Promise<() => Promise<void>> {
    let stopped = false;
    let messages = await this.consumeFrom(nc, (await this.lastSequence(nc)) + 1);
    this.nc = nc;
    const wake = new AbortController();
    const run = async () => {
      while (!stopped) {
        for await (const msg of messages) this.dispatch(msg);
        if (stopped) return;
        this.nc = undefined;
        this.log.error(
          { stream: this.stream },
          "event feed consumer ended; ending the streams and restarting it",
        );
        this.endAll();
        while (!stopped) {
          await delay(restartDelayMs, undefined, { signal: wake.signal }).catch(() => undefined);
          if (stopped) return;
          try {
            messages = await this.consumeFrom(nc, (await this.lastSequence(nc)) + 1);
            this.nc = nc;
            break;
          } catch (err) {
            this.log.warn({ err }, "event feed consumer cannot restart yet");
          }
        }
      }
    };
    const done = run();
    return async () => {
      stopped = true;
      wake.abort();
      if (this.nc === nc) this.nc = undefined;
      messages.stop();
      await done.catch(() => undefined);
    };
  }

  /** Fans one live message out to its recipient's subscribers. */
  private dispatch(msg: JsMsg): void {
    const item = toFeedItem(msg, this.policies);
    if (typeof item === "string") {
      this.log.warn({ subject: msg.subject, seq: msg.seq, error: item }, "invalid event skipped");
      return;
    }
    if (!item) return;
    for (const subscriber of this.subscribers.get(item.recipient) ?? []) subscriber.live(item);
  }

  /**
   * Subscribes to the events of `recipient` from now on, or, with `after`, to those
   * after the stream sequence `after` (replayed first, then live).
   * @throws FeedUnavailableError when the feed is not attached; Error when the replay fails (the
   *   registration is then closed).
   */
  async open(
    recipient: string,
    sink: FeedSink,
    options: { after?: number } = {},
  ): Promise<FeedRegistration> {
    const nc = this.nc;
    if (!nc || nc.isClosed()) throw new FeedUnavailableError();
    const subscriber = new Subscriber(sink, options.after);
    const set = this.subscribers.get(recipient) ?? new Set();
    set.add(subscriber);
    this.subscribers.set(recipient, set);
    const registration = {
      close: () => {
        set.delete(subscriber);
        if (set.size === 0 && this.subscribers.get(recipient) === set) {
          this.subscribers.delete(recipient);
        }
      },
    };
    if (options.after === undefined) return registration;
    try {
      // Registered first: whatever is stored after `last` reaches the subscriber live.
      const last = await this.lastSequence(nc);
      if (last > options.after) {
        await this.replay(nc, options.after + 1, last, (item) => {
          if (item.recipient === recipient) subscriber.deliver(item);
        });
      }
      subscriber.caughtUp(last);
      return registration;
    } catch (err) {
      registration.close();
      throw err;
    }
  }

  /** Ends every registration (their sinks' `end`) and forgets them. */
  endAll(): void {
    const all = [...this.subscribers.values()].flatMap((set) => [...set]);
    this.subscribers.clear();
    for (const subscriber of all) subscriber.end();
  }

  /** The stream's last sequence number (0 when it never held a message). */
  private async lastSequence(nc: NatsConnection): Promise<number> {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(this.stream);
    return info.state.last_seq;
  }

  /** An ordered consumer of the feed's subjects from `startSequence`, consuming. */
  private async consumeFrom(nc: NatsConnection, startSequence: number): Promise<ConsumerMessages> {
    // An explicit start sequence (not DeliverPolicy.New): nats.js recreates an ordered consumer
    // from its last delivered sequence + 1, which for "new" before any delivery would be 1.
    const consumer = await jetstream(nc).consumers.get(this.stream, {
      ...this.filter,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: startSequence,
    });
    return consumer.consume({ max_messages: 256 });
  }

  /**
   * Reads the feed's events from `from` to `to` (stream sequences, inclusive) in order; stops
   * early when the stream holds nothing more (events past their retention are gone).
   */
  private async replay(
    nc: NatsConnection,
    from: number,
    to: number,
    each: (item: FeedItem) => void,
  ): Promise<void> {
    const consumer = await jetstream(nc).consumers.get(this.stream, {
      ...this.filter,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: from,
    });
    try {
      for (;;) {
        const batch = await consumer.fetch({
          max_messages: 256,
          expires: this.replayBatchWaitMs,
        });
        let received = 0;
        for await (const msg of batch) {
          received += 1;
          if (msg.seq > to) return;
          const item = toFeedItem(msg, this.policies);
          if (item && typeof item !== "string") each(item);
          if (msg.seq === to || msg.info.pending === 0) return;
        }
        if (received === 0) return;
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  }
}
