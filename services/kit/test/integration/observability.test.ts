/**
 * Tracing and metrics of the kit, in one process with spans recorded in memory, against real
 * PostgreSQL (a fresh database) and a nats-server of this file's own (the relay publishes a real
 * event subject, which on the shared server would reach other test files' consumers):
 * one trace from an HTTP handler through the outbox, the relay's publish and NATS headers into a
 * consumer and its SQL; `/metrics` with the request histogram per operationId, the outbox backlog
 * and the consumer counters; and with tracing off, `traceparent` passed through unchanged.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-node";
import { STREAMS } from "@portico/contracts";
import { type NatsServer, startNats } from "@portico/scripts/infra/nats";
import { createDatabase as createTestDatabase } from "@portico/scripts/testing/provision";
import { type Kysely, sql } from "kysely";
import { v7 as uuidv7 } from "uuid";
import { createApp } from "../../src/app.js";
import { consumeEvents, type RunningConsumer } from "../../src/consumer.js";
import { createDatabase, migrateToLatest } from "../../src/db.js";
import type { Handlers } from "../../src/handlers.js";
import { createLogger } from "../../src/logger.js";
import { connectNats, ensureStream, type NatsConnection } from "../../src/nats.js";
import {
  enqueueEvent,
  type OutboxDatabase,
  type OutboxRelay,
  outboxMigration,
  startOutboxRelay,
} from "../../src/outbox.js";
import { notFound } from "../../src/problem.js";
import { listen, type RunningServer } from "../../src/server.js";
import { startTelemetry, type Telemetry, TRACEPARENT_HEADER } from "../../src/telemetry.js";
import { createTestIssuer, type TestIssuer } from "../../src/testing.js";
import { waitFor } from "../support/wait.js";
import { type operations, widgetsContract } from "../support/widgets-contract.js";

interface Database extends OutboxDatabase {
  seen: { event_id: string; product_id: string };
}

const logger = createLogger("kit-observability-test", process.env.TEST_LOG_LEVEL ?? "silent");
const DURABLE = `kit-observability-${randomBytes(4).toString("hex")}`;
const CALLER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID = "00f067aa0ba902b7";
const PRODUCT_ID = "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10";

const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
let storeDir: string;
let natsServer: NatsServer;
let nc: NatsConnection;
let db: Kysely<Database>;
let relay: OutboxRelay;
let consumer: RunningConsumer;
let server: RunningServer;
let baseUrl: string;
let tokens: TestIssuer;
/** What the consumer received: each event id with the request id of its message. */
const consumed: { eventId: string; requestId: string | undefined }[] = [];

/** createWidget writes a stock change into the outbox, like a service handler does. */
const handlers: Handlers<operations> = {
  createWidget: async ({ body, requestId, headers }) => {
    await db.transaction().execute((trx) =>
      enqueueEvent(trx, {
        source: "products",
        subject: "products.stock.changed",
        aggregateId: PRODUCT_ID,
        data: { productId: PRODUCT_ID, previous: 0, current: 4 },
        requestId,
        // The incoming header: while tracing is on, the handler's own span is stored instead.
        ...(typeof headers.traceparent === "string" ? { traceparent: headers.traceparent } : {}),
      }),
    );
    relay.kick();
    return { status: 201, body: { id: PRODUCT_ID, ...body } };
  },
  getWidget: async () => {
    throw notFound();
  },
  getBrokenWidget: async () => {
    throw notFound();
  },
  waitForRelease: async () => ({ status: 200, body: { released: true } }),
};

beforeAll(async () => {
  telemetry = await startTelemetry({
    serviceName: "kit-test",
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  storeDir = await mkdtemp(join(tmpdir(), "portico-observability-nats-"));
  natsServer = await startNats({ storeDir });
  nc = await connectNats(natsServer.url, "observability-test", logger);
  await ensureStream(nc, STREAMS.products);
  db = createDatabase<Database>(await createTestDatabase("kit_observability"));
  await migrateToLatest(db, {
    "001_create_outbox": outboxMigration,
    "002_seen": {
      up: async (d) => {
        await sql`create table seen (event_id uuid primary key, product_id uuid)`.execute(d);
      },
    },
  });
  relay = startOutboxRelay({ db, nc, log: logger, idleMs: 200 });
  consumer = await consumeEvents(nc, {
    stream: STREAMS.products.name,
    durable: DURABLE,
    subject: "products.stock.changed",
    log: logger,
    handle: async (event, { requestId }) => {
      await db
        .insertInto("seen")
        .values({ event_id: event.id, product_id: event.data.productId })
        .execute();
      consumed.push({ eventId: event.id, requestId });
    },
  });
  tokens = await createTestIssuer();
  const app = createApp<operations>({
    contract: widgetsContract,
    handlers,
    verifyToken: tokens.verifyToken,
    logger,
    validateResponses: false,
    readiness: {},
  });
  server = await listen(app, { port: 0, host: "127.0.0.1", log: logger, exitOnSignal: false });
  baseUrl = `http://127.0.0.1:${server.port}`;
}, 30_000);

afterAll(async () => {
  await server?.close();
  await consumer?.stop();
  await relay?.stop();
  await telemetry?.shutdown();
  await nc?.close();
  await db?.destroy();
  await natsServer?.stop();
  if (storeDir) await rm(storeDir, { recursive: true, force: true });
});

async function createWidget(headers: Record<string, string>): Promise<Response> {
  return fetch(`${baseUrl}/widgets`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${await tokens.tokenFor({ role: "admin" })}`,
      "content-type": "application/json",
      ...headers,
    },
    body: JSON.stringify({ name: "Sprocket", price: { amount: 250, currency: "EUR" } }),
  });
}

/** The finished spans of `traceId` once one is named `last`. */
async function traceUntil(traceId: string, last: RegExp): Promise<ReadableSpan[]> {
  const of = () => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  await waitFor(`a span named ${last} in trace ${traceId}`, () =>
    of().some((s) => last.test(s.name)),
  );
  return of();
}

function parentOf(span: ReadableSpan | undefined): string | undefined {
  return span?.parentSpanContext?.spanId;
}

describe("one trace from the handler to the consumer's database write", () => {
  it("links handler → outbox publish → consumer → insert through HTTP and NATS headers", async () => {
    const response = await createWidget({
      traceparent: `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01`,
      "x-request-id": "obs-req-1",
    });
    expect(response.status).toBe(201);

    const spans = await traceUntil(CALLER_TRACE_ID, /^INSERT seen$/);
    const named = (name: string) => spans.find((s) => s.name === name);
    const handler = named("POST /widgets");
    const publish = named("publish products.stock.changed");
    const processing = named("process products.stock.changed");
    const insert = named("INSERT seen");

    expect(parentOf(handler)).toBe(CALLER_SPAN_ID);
    expect(handler?.attributes["portico.operation_id"]).toBe("createWidget");
    expect(parentOf(publish)).toBe(handler?.spanContext().spanId);
    expect(parentOf(processing)).toBe(publish?.spanContext().spanId);
    expect(processing?.attributes["messaging.consumer.group.name"]).toBe(DURABLE);
    expect(parentOf(insert)).toBe(processing?.spanContext().spanId);
    expect(insert?.attributes["db.query.text"]).toMatch(/^insert into "seen"/);
    // The outbox row kept the handler's span as the parent, and the request id.
    const row = await db
      .selectFrom("outbox")
      .select("headers")
      .orderBy("seq", "desc")
      .executeTakeFirstOrThrow();
    expect(row.headers).toEqual({
      "X-Request-Id": "obs-req-1",
      [TRACEPARENT_HEADER]: `00-${CALLER_TRACE_ID}-${handler?.spanContext().spanId}-01`,
    });
    expect(consumed.at(-1)?.requestId).toBe("obs-req-1");
  });

  it("does not attach the relay's polling or SQL outside a traced operation to any trace", async () => {
    const traced = new Set(exporter.getFinishedSpans().map((s) => s.spanContext().traceId));
    await new Promise((resolve) => setTimeout(resolve, 500));

    const roots = exporter
      .getFinishedSpans()
      .filter(
        (s) => !traced.has(s.spanContext().traceId) && /^(SELECT|UPDATE) outbox/.test(s.name),
      );
    expect(roots).toEqual([]);
  });
});

describe("/metrics", () => {
  it("exposes the request histogram per operationId, the outbox backlog and the consumer counters", async () => {
    await createWidget({});
    await waitFor("the event to be consumed", () => consumed.length >= 2);
    await fetch(`${baseUrl}/widgets/not-a-uuid`);

    const response = await fetch(`${baseUrl}/metrics`);
    const text = await response.text();

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text).toMatch(
      /^portico_http_request_duration_seconds_count\{operation_id="createWidget",method="POST",status="201"\} [2-9]\d*$/m,
    );
    expect(text).toMatch(
      /^portico_http_request_duration_seconds_bucket\{le="0\.1",operation_id="getWidget",method="GET",status="400"\} 1$/m,
    );
    expect(text).toMatch(/^portico_outbox_pending_events 0$/m);
    expect(text).toMatch(/^portico_outbox_oldest_pending_seconds 0$/m);
    expect(text).toMatch(
      new RegExp(
        `^portico_consumer_events_processed_total\\{consumer="${DURABLE}",subject="products.stock.changed"\\} [2-9]\\d*$`,
        "m",
      ),
    );
    expect(text).toContain("# TYPE portico_consumer_events_failed_total counter");
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    // Scrapes and probes are not requests of the contract: not measured.
    expect(text).not.toMatch(/operation_id="unmatched",method="GET",status="200"/);
  });
});

describe("with tracing off", () => {
  it("passes the caller's traceparent through to the outbox unchanged", async () => {
    await telemetry.shutdown();
    const traceparent = `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01`;
    const eventId = uuidv7();

    const response = await createWidget({ traceparent, "x-request-id": eventId });

    expect(response.status).toBe(201);
    const row = await db
      .selectFrom("outbox")
      .select("headers")
      .orderBy("seq", "desc")
      .executeTakeFirstOrThrow();
    expect(row.headers).toEqual({ "X-Request-Id": eventId, [TRACEPARENT_HEADER]: traceparent });
  });
});
