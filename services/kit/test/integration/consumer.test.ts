/**
 * consumeEvents against the real NATS server at NATS_URL (jest's globalSetup): delivery and ack,
 * back-off, progress acks, validation and dead letters. Every stream, subject and durable carries
 * a random suffix, so the tests never touch the services' streams or durables; the shared
 * DEADLETTER stream is read filtered by this file's durable names. The one test that must make
 * dead-lettering fail runs on a nats-server of its own.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { EventEnvelope, EventSubject, StreamDeclaration } from "@portico/contracts";
import { startNats } from "@portico/scripts/infra/nats";
import {
  type ConsumerOptions,
  consumeEvents,
  DEAD_LETTER_RETRIES,
  type EventValidator,
} from "../../src/consumer.js";
import { DEAD_LETTER_STREAM, findDeadLetters } from "../../src/dead-letter.js";
import { createLogger } from "../../src/logger.js";
import {
  connectNats,
  createEventPublisher,
  ensureStream,
  type NatsConnection,
} from "../../src/nats.js";
import { waitFor } from "../support/wait.js";

const suffix = randomBytes(4).toString("hex");
const prefix = `kitconsumer.${suffix}`;
const STREAM = `KIT_CONSUMER_${suffix.toUpperCase()}`;
const logger = createLogger("kit-consumer-test", process.env.TEST_LOG_LEVEL ?? "silent");

/** A test-only event subject under this run's prefix (subjects are typed from contracts). */
const eventSubject = (name: string) => `${prefix}.${name}` as EventSubject;
/** A durable name unique to this run. */
const durableFor = (name: string) => `kit-consumer-${suffix}-${name}`;
/** Test subjects have no contract: these tests validate with their own validator. */
const acceptAll: EventValidator = () => ({ valid: true });
/** Short back-off so the tests run in seconds. */
const FAST = { backoffSeconds: [0.2, 0.4], maxDeliver: 3 } as const;

let nc: NatsConnection;

beforeAll(async () => {
  const url = process.env.NATS_URL;
  if (!url) throw new Error("NATS_URL is not set: run the tests through jest");
  nc = await connectNats(url, `kit-consumer-test-${suffix}`, logger);
  await ensureStream(nc, {
    name: STREAM,
    subjects: [`${prefix}.>`],
  } as unknown as StreamDeclaration);
});

afterAll(async () => {
  if (!nc) return;
  await (await jetstreamManager(nc)).streams.delete(STREAM).catch(() => false);
  await nc.drain();
});

/** Consumer state of `durable` on the test stream. */
const consumerInfo = async (durable: string) =>
  (await jetstreamManager(nc)).consumers.info(STREAM, durable);

/** Resolves once `durable` has nothing pending and nothing awaiting an ack. */
const settled = (durable: string, timeoutMs = 5_000) =>
  waitFor(
    `${durable} to settle`,
    async () => {
      const info = await consumerInfo(durable);
      return info.num_pending === 0 && info.num_ack_pending === 0 ? info : undefined;
    },
    timeoutMs,
  );

/** Starts consuming `subject` with `durable` on the test stream. */
function consume<S extends EventSubject>(
  options: Pick<ConsumerOptions<S>, "durable" | "subject" | "handle"> & Partial<ConsumerOptions<S>>,
) {
  return consumeEvents(nc, { stream: STREAM, log: logger, validate: acceptAll, ...options });
}

describe("consumeEvents", () => {
  it("delivers each event with its request id and acks it once handled", async () => {
    const subject = eventSubject("delivered.created");
    const durable = durableFor("delivered");
    const publisher = createEventPublisher(nc, "widgets");
    const first = await publisher.publish(subject, "a", { n: 1 } as never, { requestId: "req-a" });
    const second = await publisher.publish(subject, "b", { n: 2 } as never);

    const handled: { event: EventEnvelope; requestId: string | undefined }[] = [];
    const consumer = await consume({
      durable,
      subject,
      handle: async (event, context) => {
        handled.push({ event, requestId: context.requestId });
      },
    });
    try {
      await waitFor("both events", () => handled.length >= 2);
      expect(handled).toEqual([
        { event: first, requestId: "req-a" },
        { event: second, requestId: undefined },
      ]);
      const info = await settled(durable);
      expect(info.num_redelivered).toBe(0);
      expect(info.config.filter_subject).toBe(subject);
    } finally {
      await consumer.stop();
    }
  });

  it("declares explicit ack, the back-off (first entry = ack wait) and the delivery limit", async () => {
    const subject = eventSubject("configured.created");
    const durable = durableFor("configured");
    // A durable left with an older configuration is brought up to date.
    await (await jetstreamManager(nc)).consumers.add(STREAM, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      filter_subject: subject,
      ack_wait: 30_000_000_000,
      max_deliver: 10,
    });
    const consumer = await consume({
      durable,
      subject,
      backoffSeconds: [1, 4, 9],
      maxDeliver: 4,
      handle: async () => undefined,
    });
    try {
      const { config } = await consumerInfo(durable);
      expect(config.ack_policy).toBe(AckPolicy.Explicit);
      expect(config.ack_wait).toBe(1_000_000_000);
      expect(config.backoff).toEqual([1_000_000_000, 4_000_000_000, 9_000_000_000]);
      expect(config.max_deliver).toBe(4 + DEAD_LETTER_RETRIES);
    } finally {
      await consumer.stop();
    }
  });

  it("rejects a delivery limit below one and an empty back-off", async () => {
    const subject = eventSubject("invalid.created");
    const handle = async () => undefined;
    await expect(
      consume({ durable: durableFor("invalid-a"), subject, maxDeliver: 0, handle }),
    ).rejects.toThrow(/maxDeliver/);
    await expect(
      consume({ durable: durableFor("invalid-b"), subject, backoffSeconds: [], handle }),
    ).rejects.toThrow(/backoffSeconds/);
  });

  it("redelivers a failed event after the back-off delay, until it succeeds", async () => {
    const subject = eventSubject("flaky.created");
    const durable = durableFor("flaky");
    const envelope = await createEventPublisher(nc, "widgets").publish(subject, "f", {} as never);

    const deliveries: { count: number; at: number }[] = [];
    const consumer = await consume({
      durable,
      subject,
      backoffSeconds: [0.4],
      maxDeliver: 3,
      handle: async (event, { msg }) => {
        expect(event.id).toBe(envelope.id);
        deliveries.push({ count: msg.info.deliveryCount, at: Date.now() });
        if (deliveries.length === 1) throw new Error("database unavailable");
      },
    });
    try {
      await waitFor("the redelivery", () => deliveries.length >= 2);
      expect(deliveries.map((d) => d.count)).toEqual([1, 2]);
      const [first, second] = deliveries.map((d) => d.at) as [number, number];
      expect(second - first).toBeGreaterThanOrEqual(350);
      await settled(durable);
      expect(await findDeadLetters(nc, { consumers: [durable], limit: 10 })).toEqual([]);
    } finally {
      await consumer.stop();
    }
  });

  it("keeps a slow handler's delivery alive with progress acks (no redelivery meanwhile)", async () => {
    const subject = eventSubject("slow.created");
    const durable = durableFor("slow");
    await createEventPublisher(nc, "widgets").publish(subject, "s", {} as never);

    const deliveries: number[] = [];
    const consumer = await consume({
      durable,
      subject,
      backoffSeconds: [0.3],
      maxDeliver: 3,
      handle: async (_event, { msg }) => {
        deliveries.push(msg.info.deliveryCount);
        await new Promise((resolve) => setTimeout(resolve, 1_200)); // 4 ack waits
      },
    });
    try {
      await waitFor("the slow event", () => deliveries.length >= 1);
      const info = await settled(durable);
      expect(deliveries).toEqual([1]);
      expect(info.num_redelivered).toBe(0);
    } finally {
      await consumer.stop();
    }
  });

  it("dead-letters an event still failing at the last delivery, with its last error", async () => {
    const subject = eventSubject("poison.created");
    const durable = durableFor("poison");
    const envelope = await createEventPublisher(nc, "widgets").publish(
      subject,
      "p",
      { n: 7 } as never,
      { requestId: "req-poison" },
    );
    const attempts: number[] = [];
    const consumer = await consume({
      durable,
      subject,
      ...FAST,
      handle: async (_event, { msg }) => {
        attempts.push(msg.info.deliveryCount);
        throw new Error(`users service down (attempt ${msg.info.deliveryCount})`);
      },
    });
    try {
      const [dead] = await waitFor("the dead letter", () =>
        findDeadLetters(nc, { consumers: [durable], limit: 10 }).then((d) =>
          d.length > 0 ? d : undefined,
        ),
      );
      expect(dead?.record).toEqual({
        subject,
        streamSequence: expect.any(Number),
        consumer: durable,
        deliveries: 3,
        error: "users service down (attempt 3)",
        envelope,
        deadLetteredAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T.*Z$/),
      });
      expect(dead?.requestId).toBe("req-poison");
      // Terminated: no further delivery once dead-lettered.
      const info = await settled(durable);
      expect(info.ack_floor.stream_seq).toBe(dead?.record.streamSequence);
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(attempts).toEqual([1, 2, 3]);
    } finally {
      await consumer.stop();
    }
  });

  it("dead-letters a body that is not JSON at once, keeping its text, and goes on", async () => {
    const subject = eventSubject("malformed.created");
    const durable = durableFor("malformed");
    const bad = await jetstream(nc).publish(subject, "{not json");
    const good = await createEventPublisher(nc, "widgets").publish(subject, "g", {} as never);

    const handled: string[] = [];
    const consumer = await consume({
      durable,
      subject,
      ...FAST,
      handle: async (event) => {
        handled.push(event.id);
      },
    });
    try {
      await waitFor("the valid event", () => handled.length >= 1);
      const info = await settled(durable);
      expect(handled).toEqual([good.id]);
      expect(info.num_redelivered).toBe(0);
      const dead = await findDeadLetters(nc, { consumers: [durable], limit: 10 });
      expect(dead.map((d) => d.record)).toEqual([
        expect.objectContaining({
          subject,
          streamSequence: bad.seq,
          deliveries: 1,
          error: "the message body is not JSON",
          envelope: "{not json",
        }),
      ]);
    } finally {
      await consumer.stop();
    }
  });

  it("dead-letters an envelope its validator rejects, naming the violations, without handling it", async () => {
    const subject = eventSubject("invalid-envelope.created");
    const durable = durableFor("invalid-envelope");
    const invalid = { id: "not-a-uuid", type: subject, data: { stock: -1 } };
    const bad = await jetstream(nc).publish(subject, JSON.stringify(invalid));

    const handled: unknown[] = [];
    const consumer = await consume({
      durable,
      subject,
      ...FAST,
      validate: (s, envelope) =>
        (envelope as { id?: string }).id === "not-a-uuid"
          ? {
              valid: false,
              errors: [
                { path: "/id", message: "must match format uuid" },
                { path: "/data/stock", message: "must be >= 0" },
              ],
            }
          : s === subject
            ? { valid: true }
            : { valid: false, errors: [{ path: "", message: "unexpected subject" }] },
      handle: async (event) => {
        handled.push(event);
      },
    });
    try {
      const [dead] = await waitFor("the dead letter", () =>
        findDeadLetters(nc, { consumers: [durable], limit: 10 }).then((d) =>
          d.length > 0 ? d : undefined,
        ),
      );
      expect(dead?.record).toMatchObject({
        streamSequence: bad.seq,
        deliveries: 1,
        envelope: invalid,
        error: `the envelope violates the ${subject} contract: /id must match format uuid; /data/stock must be >= 0`,
      });
      await settled(durable);
      expect(handled).toEqual([]);
    } finally {
      await consumer.stop();
    }
  });

  it("validates against the event contracts by default: a subject without one is dead-lettered", async () => {
    const subject = eventSubject("uncontracted.created");
    const durable = durableFor("uncontracted");
    await createEventPublisher(nc, "widgets").publish(subject, "u", {} as never);
    const handled: unknown[] = [];
    const consumer = await consumeEvents(nc, {
      stream: STREAM,
      durable,
      subject,
      log: logger,
      ...FAST,
      handle: async (event) => {
        handled.push(event);
      },
    });
    try {
      const [dead] = await waitFor("the dead letter", () =>
        findDeadLetters(nc, { consumers: [durable], limit: 10 }).then((d) =>
          d.length > 0 ? d : undefined,
        ),
      );
      expect(dead?.record.error).toMatch(/violates the .* contract/);
      expect(handled).toEqual([]);
    } finally {
      await consumer.stop();
    }
  });

  it("resumes a durable where it left off: an acked event is not delivered again", async () => {
    const subject = eventSubject("resumed.created");
    const durable = durableFor("resumed");
    const publisher = createEventPublisher(nc, "widgets");
    const first = await publisher.publish(subject, "r1", {} as never);
    const seen: string[] = [];
    const start = () =>
      consume({
        durable,
        subject,
        handle: async (event) => {
          seen.push(event.id);
        },
      });

    let consumer = await start();
    await waitFor("the first event", () => seen.length >= 1);
    await settled(durable);
    await consumer.stop();

    const second = await publisher.publish(subject, "r2", {} as never);
    consumer = await start();
    try {
      await waitFor("the second event", () => seen.length >= 2);
      expect(seen).toEqual([first.id, second.id]);
    } finally {
      await consumer.stop();
    }
  });
});

describe("consumeEvents when the dead letter cannot be published", () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof startNats>>;
  let own: NatsConnection;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kit-consumer-"));
    server = await startNats({ storeDir: join(dir, "nats") });
    own = await connectNats(server.url, "kit-consumer-own", logger);
    await ensureStream(own, { name: STREAM, subjects: [`${prefix}.>`] } as never);
  }, 30_000);

  afterAll(async () => {
    await own?.drain();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps the message and retries until the dead letter is stored, then terminates it", async () => {
    const subject = eventSubject("undeliverable.created");
    const durable = durableFor("undeliverable");
    const attempts: number[] = [];
    const consumer = await consumeEvents(own, {
      stream: STREAM,
      durable,
      subject,
      log: logger,
      validate: acceptAll,
      backoffSeconds: [0.2],
      maxDeliver: 1,
      handle: async (_event, { msg }) => {
        attempts.push(msg.info.deliveryCount);
        throw new Error("always fails");
      },
    });
    const jsm = await jetstreamManager(own);
    try {
      // Without a DEADLETTER stream the dead letter has nowhere to go: the publish fails.
      await jsm.streams.delete(DEAD_LETTER_STREAM.name);
      await createEventPublisher(own, "widgets").publish(subject, "x", {} as never);
      await waitFor("a retry after the failed dead-lettering", () => attempts.length >= 2);
      expect((await jsm.consumers.info(STREAM, durable)).num_ack_pending).toBe(1);

      await ensureStream(own, DEAD_LETTER_STREAM);
      const [dead] = await waitFor("the dead letter", () =>
        findDeadLetters(own, { consumers: [durable], limit: 10 }).then((d) =>
          d.length > 0 ? d : undefined,
        ),
      );
      expect(dead?.record.error).toBe("always fails");
      expect(dead?.record.deliveries).toBeGreaterThanOrEqual(2);
      const info = await waitFor("the termination", async () => {
        const i = await jsm.consumers.info(STREAM, durable);
        return i.num_ack_pending === 0 ? i : undefined;
      });
      expect(info.num_pending).toBe(0);
    } finally {
      await consumer.stop();
    }
  });
});
