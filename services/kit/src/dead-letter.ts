/**
 * Dead letters: messages a consumer gave up on (an envelope that breaks its contract, or a
 * handler still failing at the last delivery). Each is published, with the reason, to the
 * `DEADLETTER` JetStream stream on `deadletter.<consumer durable>`, where an operator lists it and
 * replays it once the cause is fixed. The record is the `DeadLetter` message of
 * contracts/events.yaml.
 */
import { jetstream, jetstreamManager, type MsgRequest, type StoredMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { type DeadLetter, STREAMS } from "@portico/contracts";

/** The stream that keeps every dead letter (subjects `deadletter.>`), declared in contracts. */
export const DEAD_LETTER_STREAM = STREAMS.deadletter;

/** The subject holding the dead letters of one durable consumer: `deadletter.<durable>`. */
export function deadLetterSubject(durable: string): string {
  return `deadletter.${durable}`;
}

/**
 * What a consumer records about a message it gave up on (JSON body of the dead letter): the
 * `DeadLetter` message of contracts/events.yaml. `envelope` is the parsed body, or its text when
 * it was not JSON; `deadLetteredAt` is RFC 3339 UTC.
 */
export type DeadLetterRecord = DeadLetter;

/** A dead letter as stored: its record and where it sits in the `DEADLETTER` stream. */
export interface StoredDeadLetter {
  /** Sequence number in the `DEADLETTER` stream: the dead letter's id. */
  sequence: number;
  record: DeadLetterRecord;
  /** The dead-lettered message's request id (`X-Request-Id` header), if it had one. */
  requestId?: string;
}

/**
 * The `Nats-Msg-Id` of a dead letter: one per original message and consumer, so a dead letter
 * published twice (a retry after a lost publish ack) is stored once within the duplicate window.
 */
export function deadLetterMessageId(
  record: Pick<DeadLetterRecord, "consumer" | "subject" | "streamSequence">,
  stream: string,
): string {
  return `deadletter:${record.consumer}:${stream}:${record.streamSequence}`;
}

/**
 * Publishes a dead letter on `deadletter.<record.consumer>` and waits for JetStream's ack.
 * @param stream the stream the original message came from (part of the message id).
 * @throws Error when JetStream does not store it (no `DEADLETTER` stream, NATS down, timeout).
 */
export async function publishDeadLetter(
  nc: NatsConnection,
  record: DeadLetterRecord,
  options: { stream: string; requestId?: string },
): Promise<void> {
  const h = natsHeaders();
  if (options.requestId) h.set("X-Request-Id", options.requestId);
  await jetstream(nc).publish(deadLetterSubject(record.consumer), JSON.stringify(record), {
    msgID: deadLetterMessageId(record, options.stream),
    headers: h,
  });
}

/**
 * Reads one dead letter by its `DEADLETTER` sequence.
 * @returns undefined when there is none with this sequence (never stored, or removed).
 */
export async function getDeadLetter(
  nc: NatsConnection,
  sequence: number,
): Promise<StoredDeadLetter | undefined> {
  const jsm = await jetstreamManager(nc);
  const msg = await jsm.streams.getMessage(DEAD_LETTER_STREAM.name, { seq: sequence });
  return msg ? toStored(msg) : undefined;
}

/**
 * Up to `limit` dead letters of the given consumers, oldest first, starting at stream sequence
 * `fromSequence` (default 1). Reads message by message (`next_by_subj`), so it suits the small
 * numbers a dead-letter queue should hold.
 */
export async function findDeadLetters(
  nc: NatsConnection,
  filter: { consumers: readonly string[]; fromSequence?: number; limit: number },
): Promise<StoredDeadLetter[]> {
  const jsm = await jetstreamManager(nc);
  const wanted = new Set(filter.consumers.map(deadLetterSubject));
  const found: StoredDeadLetter[] = [];
  let seq = Math.max(1, filter.fromSequence ?? 1);
  while (found.length < filter.limit) {
    // STREAM.MSG.GET takes `next_by_subj` since nats-server 2.9; the client types list it only
    // for direct get, which the stream would have to allow.
    const next = { seq, next_by_subj: "deadletter.>" } as unknown as MsgRequest;
    const msg = await jsm.streams.getMessage(DEAD_LETTER_STREAM.name, next);
    if (!msg) break;
    if (wanted.has(msg.subject)) {
      const stored = toStored(msg);
      if (stored) found.push(stored);
    }
    seq = msg.seq + 1;
  }
  return found;
}

/**
 * Removes a dead letter from the stream (after a successful replay).
 * @returns false when there was none with this sequence.
 */
export async function removeDeadLetter(nc: NatsConnection, sequence: number): Promise<boolean> {
  const jsm = await jetstreamManager(nc);
  try {
    return await jsm.streams.deleteMessage(DEAD_LETTER_STREAM.name, sequence);
  } catch (err) {
    if (/no message found|not found/i.test(String((err as Error).message))) return false;
    throw err;
  }
}

/** A stored message as a dead letter; undefined when its body is not a dead-letter record. */
function toStored(msg: StoredMsg): StoredDeadLetter | undefined {
  let record: DeadLetterRecord;
  try {
    record = msg.json<DeadLetterRecord>();
  } catch {
    return undefined;
  }
  if (typeof record?.consumer !== "string" || typeof record.subject !== "string") return undefined;
  const requestId = msg.header?.get("X-Request-Id");
  return { sequence: msg.seq, record, ...(requestId ? { requestId } : {}) };
}
