/**
 * The dead-letter store against the real NATS server at NATS_URL: the shared DEADLETTER stream,
 * read filtered by this file's (random) consumer names so other files' dead letters never count.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import {
  DEAD_LETTER_STREAM,
  type DeadLetterRecord,
  deadLetterSubject,
  findDeadLetters,
  getDeadLetter,
  publishDeadLetter,
  removeDeadLetter,
} from "../../src/dead-letter.js";
import { createLogger } from "../../src/logger.js";
import { connectNats, ensureStream, type NatsConnection } from "../../src/nats.js";

const suffix = randomBytes(4).toString("hex");
const consumerA = `kit-deadletter-${suffix}-a`;
const consumerB = `kit-deadletter-${suffix}-b`;
const logger = createLogger("kit-dead-letter-test", "silent");
let nc: NatsConnection;

beforeAll(async () => {
  const url = process.env.NATS_URL;
  if (!url) throw new Error("NATS_URL is not set: run the tests through jest");
  nc = await connectNats(url, `kit-dead-letter-test-${suffix}`, logger);
  await ensureStream(nc, DEAD_LETTER_STREAM);
});

afterAll(async () => {
  await nc?.drain();
});

let nextSequence = 1;
function record(consumer: string, overrides: Partial<DeadLetterRecord> = {}): DeadLetterRecord {
  return {
    subject: `kitdl.${suffix}.created`,
    streamSequence: nextSequence++,
    consumer,
    deliveries: 5,
    error: "handler failed",
    envelope: { id: `e-${nextSequence}` },
    deadLetteredAt: new Date().toISOString(),
    ...overrides,
  };
}

describe("dead letters", () => {
  it("publishes on deadletter.<consumer> and reads it back by sequence with its request id", async () => {
    expect(deadLetterSubject("notifications-back-in-stock")).toBe(
      "deadletter.notifications-back-in-stock",
    );
    const dead = record(consumerA, { envelope: "{not json" });
    await publishDeadLetter(nc, dead, { stream: "KITDL", requestId: "req-dl" });
    const [found] = await findDeadLetters(nc, { consumers: [consumerA], limit: 10 });
    expect(found).toEqual({ sequence: expect.any(Number), record: dead, requestId: "req-dl" });
    expect(await getDeadLetter(nc, found?.sequence ?? 0)).toEqual(found);
  });

  it("stores a dead letter published twice for the same message once (Nats-Msg-Id)", async () => {
    const dead = record(consumerB);
    await publishDeadLetter(nc, dead, { stream: "KITDL" });
    await publishDeadLetter(nc, { ...dead, deliveries: 6 }, { stream: "KITDL" });
    const found = await findDeadLetters(nc, { consumers: [consumerB], limit: 10 });
    expect(found.map((d) => d.record)).toEqual([dead]);
  });

  it("lists only the given consumers' dead letters, oldest first, page by page", async () => {
    const mine = [record(consumerA), record(consumerA), record(consumerA)];
    await publishDeadLetter(nc, mine[0] as DeadLetterRecord, { stream: "KITDL" });
    await publishDeadLetter(nc, record(`kit-deadletter-${suffix}-other`), { stream: "KITDL" });
    await publishDeadLetter(nc, mine[1] as DeadLetterRecord, { stream: "KITDL" });
    await publishDeadLetter(nc, mine[2] as DeadLetterRecord, { stream: "KITDL" });

    const all = await findDeadLetters(nc, { consumers: [consumerA], limit: 100 });
    expect(all.map((d) => d.record.consumer)).toEqual([consumerA, consumerA, consumerA, consumerA]);
    expect(all.slice(1).map((d) => d.record)).toEqual(mine);

    const first = await findDeadLetters(nc, { consumers: [consumerA], limit: 2 });
    const rest = await findDeadLetters(nc, {
      consumers: [consumerA],
      limit: 2,
      fromSequence: (first[1]?.sequence ?? 0) + 1,
    });
    expect([...first, ...rest]).toEqual(all);
    expect(await findDeadLetters(nc, { consumers: [], limit: 10 })).toEqual([]);
  });

  it("removes a dead letter; an unknown or removed one is reported as absent", async () => {
    const dead = record(consumerB);
    await publishDeadLetter(nc, dead, { stream: "KITDL" });
    const found = (await findDeadLetters(nc, { consumers: [consumerB], limit: 10 })).find(
      (d) => d.record.streamSequence === dead.streamSequence,
    );
    expect(found).toBeDefined();
    const sequence = found?.sequence ?? 0;
    expect(await removeDeadLetter(nc, sequence)).toBe(true);
    expect(await getDeadLetter(nc, sequence)).toBeUndefined();
    expect(await removeDeadLetter(nc, sequence)).toBe(false);
    expect(await getDeadLetter(nc, 2 ** 40)).toBeUndefined();
  });
});
