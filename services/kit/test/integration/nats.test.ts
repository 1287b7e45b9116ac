/**
 * The kit's NATS wiring against the real NATS server at NATS_URL (jest's globalSetup). Every
 * stream, subject, durable and service name here carries a random suffix, so the tests never
 * touch the services' USERS/PRODUCTS streams, their durables or their query responders.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type {
  EventEnvelope,
  EventSubject,
  QuerySubject,
  StreamDeclaration,
} from "@portico/contracts";
import { createLogger } from "../../src/logger.js";
import {
  connectNats,
  createEventPublisher,
  ensureStream,
  type NatsConnection,
  pingNats,
  query,
  serveQueries,
} from "../../src/nats.js";

const suffix = randomBytes(4).toString("hex");
const prefix = `kittest.${suffix}`;
const STREAM = `KIT_TEST_${suffix.toUpperCase()}`;
const ENSURE_STREAM = `${STREAM}_ENSURE`;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const logger = createLogger("kit-test", process.env.TEST_LOG_LEVEL ?? "silent");

/** A test-only event subject under this run's prefix (subjects are typed from contracts). */
const eventSubject = (name: string) => `${prefix}.${name}` as EventSubject;
/** A stream declaration for test-only subjects. */
const streamOf = (name: string, subjects: string[]) =>
  ({ name, subjects }) as unknown as StreamDeclaration;

let nc: NatsConnection;

beforeAll(async () => {
  const url = process.env.NATS_URL;
  if (!url) throw new Error("NATS_URL is not set: run the tests through jest");
  nc = await connectNats(url, `kit-test-${suffix}`, logger);
  await ensureStream(nc, streamOf(STREAM, [`${prefix}.events.>`]));
});

afterAll(async () => {
  if (!nc) return;
  const jsm = await jetstreamManager(nc);
  for (const name of [STREAM, ENSURE_STREAM]) await jsm.streams.delete(name).catch(() => false);
  await nc.drain();
});

describe("pingNats", () => {
  it("resolves on an open connection and rejects on a closed one", async () => {
    await expect(pingNats(nc)).resolves.toBeUndefined();
    const other = await connectNats(process.env.NATS_URL as string, "kit-test-ping", logger);
    await other.close();
    await expect(pingNats(other)).rejects.toThrow("connection closed");
  });
});

describe("ensureStream", () => {
  it("creates the stream with a 2-minute duplicate window, is idempotent and updates subjects", async () => {
    const jsm = await jetstreamManager(nc);
    const first = `${prefix}.ensure.created`;
    const second = `${prefix}.ensure.updated`;

    await ensureStream(nc, streamOf(ENSURE_STREAM, [first]));
    await jetstream(nc).publish(first, "{}");
    await ensureStream(nc, streamOf(ENSURE_STREAM, [first]));
    let info = await jsm.streams.info(ENSURE_STREAM);
    expect(info.config.subjects).toEqual([first]);
    expect(info.config.duplicate_window).toBe(120_000_000_000);
    expect(info.state.messages).toBe(1);

    await ensureStream(nc, streamOf(ENSURE_STREAM, [first, second]));
    info = await jsm.streams.info(ENSURE_STREAM);
    expect(info.config.subjects).toEqual([first, second]);
    expect(info.state.messages).toBe(1);
    await expect(jetstream(nc).publish(second, "{}")).resolves.toMatchObject({
      stream: ENSURE_STREAM,
    });
  });
});

describe("createEventPublisher", () => {
  const subject = eventSubject("events.widget.created");

  it("publishes the envelope with Nats-Msg-Id and X-Request-Id headers", async () => {
    const publisher = createEventPublisher(nc, "widgets");
    const before = Date.now();
    const envelope = await publisher.publish(subject, "widget-1", { n: 1 } as never, {
      requestId: "req-pub-1",
    });
    expect(envelope).toEqual({
      id: expect.stringMatching(UUID_V7),
      type: subject,
      occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      source: "widgets",
      subject: "widget-1",
      data: { n: 1 },
    });
    expect(Date.parse(envelope.occurredAt)).toBeGreaterThanOrEqual(before - 1);

    const jsm = await jetstreamManager(nc);
    const stored = await jsm.streams.getMessage(STREAM, { last_by_subj: subject });
    expect(stored?.json<EventEnvelope>()).toEqual(envelope);
    expect(stored?.header.get("Nats-Msg-Id")).toBe(envelope.id);
    expect(stored?.header.get("X-Request-Id")).toBe("req-pub-1");
  });

  it("gives each publish a distinct, time-ordered UUID v7 id", async () => {
    const publisher = createEventPublisher(nc, "widgets");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await publisher.publish(subject, `widget-${i}`, { i } as never)).id);
    }
    expect(new Set(ids).size).toBe(5);
    expect([...ids].sort()).toEqual(ids);
  });

  it("lets JetStream drop a re-publish of the same id within the duplicate window", async () => {
    const publisher = createEventPublisher(nc, "widgets");
    const envelope = await publisher.publish(subject, "widget-dup", { dup: true } as never);
    const jsm = await jetstreamManager(nc);
    const count = (await jsm.streams.info(STREAM)).state.messages;

    const again = await jetstream(nc).publish(subject, JSON.stringify(envelope), {
      msgID: envelope.id,
    });
    expect(again.duplicate).toBe(true);
    expect((await jsm.streams.info(STREAM)).state.messages).toBe(count);
  });

  it("rejects when no stream holds the subject", async () => {
    const publisher = createEventPublisher(nc, "widgets");
    await expect(
      publisher.publish(eventSubject("nowhere.widget.created"), "w", {} as never),
    ).rejects.toThrow();
  });
});

describe("serveQueries and query", () => {
  const getWidget = `${prefix}.query.getWidget` as QuerySubject;
  const nobody = `${prefix}.query.nobody` as QuerySubject;
  let service: { stop: () => Promise<void> } | undefined;
  /** What the handler awaits before answering a `slow` request (released by its test). */
  let releaseSlowReply: () => void = () => undefined;
  const slowReplyReleased = new Promise<void>((resolve) => {
    releaseSlowReply = resolve;
  });

  beforeAll(async () => {
    service = await serveQueries(
      nc,
      { name: `kit-test-${suffix}`, version: "1.0.0" },
      {
        [getWidget]: async (request: { widgetId: string }) => {
          if (request.widgetId === "boom") throw new Error("database unavailable");
          if (request.widgetId === "slow") await slowReplyReleased;
          return request.widgetId === "missing" ? null : { id: request.widgetId, name: "Cog" };
        },
      } as never,
      logger,
    );
  });

  afterAll(async () => {
    await service?.stop();
  });

  it("round-trips a request and its reply", async () => {
    await expect(query(nc, getWidget, { widgetId: "w-1" } as never)).resolves.toEqual({
      id: "w-1",
      name: "Cog",
    });
  });

  it("passes a null (not found) reply through", async () => {
    await expect(query(nc, getWidget, { widgetId: "missing" } as never)).resolves.toBeNull();
  });

  it("rejects with the subject when the handler fails", async () => {
    await expect(query(nc, getWidget, { widgetId: "boom" } as never)).rejects.toThrow(
      `${getWidget}: query failed`,
    );
  });

  it("rejects when the reply does not come in time", async () => {
    try {
      await expect(
        query(nc, getWidget, { widgetId: "slow" } as never, { timeoutMs: 100 }),
      ).rejects.toThrow(/timeout/i);
    } finally {
      releaseSlowReply();
    }
  });

  it("rejects when nobody serves the subject", async () => {
    await expect(query(nc, nobody, {} as never, { timeoutMs: 2_000 })).rejects.toThrow(
      /no responders/i,
    );
  });

  it("stops answering once stopped", async () => {
    const subject = `${prefix}.query.stopped` as QuerySubject;
    const stopped = await serveQueries(
      nc,
      { name: `kit-test-${suffix}-stopped`, version: "1.0.0" },
      { [subject]: async () => ({ ok: true }) } as never,
      logger,
    );
    await expect(query(nc, subject, {} as never)).resolves.toEqual({ ok: true });
    await stopped.stop();
    await expect(query(nc, subject, {} as never)).rejects.toThrow(/no responders/i);
  });
});
