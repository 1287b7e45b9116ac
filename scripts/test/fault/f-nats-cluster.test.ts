/**
 * Fault scenario f: a three-node NATS cluster (three nats-server processes on loopback, the
 * PRODUCTS stream with 3 replicas); the stream's leader node is killed with SIGKILL while events
 * are published; a durable consumer connected to every node receives every event, none stored
 * twice.
 *
 * Events go the production way: written into a PostgreSQL outbox (the kit's `enqueueEvent`, 50
 * aggregates × 12 events) and published by the kit's outbox relay, with `Nats-Msg-Id` = event id,
 * over a connection given all three node URLs (`NATS_STREAM_REPLICAS=3`, read by `ensureStream`).
 * A publish whose ack was lost in the failover is retried by the relay with the same id, which
 * the stream's duplicate window absorbs. The consumer is the kit's `consumeEvents`; it records
 * each delivery's envelope id and stream sequence: an id under two sequences was stored twice.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { jetstreamManager } from "@nats-io/jetstream";
import { type EventEnvelope, STREAMS } from "@portico/contracts";
import {
  connectNats,
  consumeEvents,
  createDatabase,
  createLogger,
  enqueueEvent,
  ensureStream,
  type Kysely,
  migrateToLatest,
  type NatsConnection,
  type OutboxDatabase,
  outboxBacklog,
  outboxMigration,
  type RunningConsumer,
  startOutboxRelay,
} from "@portico/kit";
import { waitFor } from "../../src/demo/journey.js";
import { type NatsCluster, startNatsCluster } from "../../src/infra/nats-cluster.js";
import { fileSink } from "../../src/infra/process.js";
import { dataRoot } from "../../src/paths.js";
import { recordScenario } from "../../src/reliability/record.js";
import { createDatabase as createTestDatabase } from "../../src/testing/provision.js";

const AGGREGATES = 50;
const EVENTS_PER_AGGREGATE = 12;
const EVENTS = AGGREGATES * EVENTS_PER_AGGREGATE;
/** The stream leader is killed once this many events are on the stream. */
const KILL_AFTER = Math.floor(EVENTS / 3);
const SUBJECT = "products.product.back_in_stock";
const DURABLE = "fault-f-audit";

const log = createLogger("fault-f", "silent");
let dir: string;
let cluster: NatsCluster;
let logs: ReturnType<typeof fileSink>;
let db: Kysely<OutboxDatabase>;
let publisher: NatsConnection;
let subscriber: NatsConnection;
const previousReplicas = process.env.NATS_STREAM_REPLICAS;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portico-fault-f-"));
  logs = fileSink(join(dataRoot, "test-logs", "fault-f-nats-cluster.log"));
  cluster = await startNatsCluster({ storeDir: join(dir, "nats"), log: logs.sink });
  db = createDatabase<OutboxDatabase>(await createTestDatabase("fault_f"));
  await migrateToLatest(db, { "001_outbox": outboxMigration });
  // Each service connection is given every node; ensureStream reads the replica count.
  process.env.NATS_STREAM_REPLICAS = "3";
  publisher = await connectNats(cluster.urls, "fault-f-publisher", log);
  subscriber = await connectNats(cluster.urls, "fault-f-subscriber", log);
  await ensureStream(publisher, STREAMS.products);
}, 60_000);

afterAll(async () => {
  if (previousReplicas === undefined) delete process.env.NATS_STREAM_REPLICAS;
  else process.env.NATS_STREAM_REPLICAS = previousReplicas;
  await Promise.all([publisher?.close(), subscriber?.close()]);
  await db?.destroy();
  await cluster?.stop();
  await logs?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

/** The node currently leading the PRODUCTS stream's raft group, and its followers. */
async function streamPlacement(nc: NatsConnection) {
  const info = await (await jetstreamManager(nc)).streams.info(STREAMS.products.name);
  return {
    replicas: info.config.num_replicas,
    leader: info.cluster?.leader,
    followers: (info.cluster?.replicas ?? []).map((r) => r.name),
    messages: info.state.messages,
  };
}

describe("fault f: a node of a three-node NATS cluster is killed while events are published", () => {
  it("keeps every event, each stored once, and delivers them to a consumer on the survivors", async () => {
    const placement = await streamPlacement(publisher);
    expect(placement.replicas).toBe(3);
    expect(placement.followers).toHaveLength(2);

    // Every delivery: envelope id → stream sequences it was stored under.
    const stored = new Map<string, Set<number>>();
    let deliveries = 0;
    const consumer: RunningConsumer = await consumeEvents(subscriber, {
      stream: STREAMS.products.name,
      durable: DURABLE,
      subject: SUBJECT,
      log,
      backoffSeconds: [2],
      handle: async (event: EventEnvelope<typeof SUBJECT>, { msg }) => {
        deliveries += 1;
        const seqs = stored.get(event.id) ?? new Set<number>();
        seqs.add(msg.seq);
        stored.set(event.id, seqs);
      },
    });

    // The outbox: 50 products, 12 restocks each, committed before the relay starts.
    const sent: string[] = [];
    for (let a = 0; a < AGGREGATES; a++) {
      const productId = randomUUID();
      await db.transaction().execute(async (trx) => {
        for (let k = 1; k <= EVENTS_PER_AGGREGATE; k++) {
          const envelope = await enqueueEvent(trx, {
            source: "products",
            subject: SUBJECT,
            aggregateId: productId,
            data: { productId, name: `Fault-f item ${a}`, stock: k },
          });
          sent.push(envelope.id);
        }
      });
    }

    const started = Date.now();
    const relay = startOutboxRelay({
      db,
      nc: publisher,
      log,
      batchSize: 20,
      publishTimeoutMs: 2_000,
      retryMaxMs: 1_000,
    });
    let killed: { name: string; at: number; published: number } | undefined;
    let drainedAt = 0;
    let consumedAt = 0;
    try {
      // Poll closely: the relay publishes hundreds of events per second.
      let { leader, messages } = await streamPlacement(publisher);
      const deadline = Date.now() + 30_000;
      while (messages < KILL_AFTER && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        ({ leader, messages } = await streamPlacement(publisher));
      }
      const victim = cluster.nodes.find((node) => node.name === leader);
      if (!victim) throw new Error(`no node is named after the stream leader ${leader}`);
      await victim.kill();
      killed = { name: victim.name, at: Date.now(), published: messages };

      await waitFor(
        "the outbox to drain",
        async () => ((await outboxBacklog(db)).pending === 0 ? true : undefined),
        60_000,
      );
      drainedAt = Date.now();
      await waitFor(
        "every event at the consumer",
        async () => (sent.every((id) => stored.has(id)) ? true : undefined),
        // A pull consumer whose leader moved re-pulls after missed idle heartbeats (~30 s).
        90_000,
      );
      consumedAt = Date.now();
      // Let any late copy or redelivery show up before counting.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    } finally {
      await relay.stop();
      await consumer.stop();
    }
    const after = await streamPlacement(subscriber);

    const received = sent.filter((id) => stored.has(id)).length;
    const lost = sent.length - received;
    const duplicated = [...stored.values()].reduce((n, seqs) => n + seqs.size - 1, 0);
    const unexpected = [...stored.keys()].filter((id) => !sent.includes(id)).length;
    await recordScenario({
      id: "f",
      scenario:
        "3-node NATS cluster, stream with 3 replicas: the stream leader is SIGKILLed while events are published",
      sent: sent.length,
      effects: received,
      lost,
      duplicated: duplicated + unexpected,
      notes:
        `${EVENTS} events (${AGGREGATES} aggregates × ${EVENTS_PER_AGGREGATE}) published by the ` +
        `kit's outbox relay; stream leader ${killed?.name} SIGKILLed after ${killed?.published} ` +
        `were stored; new leader ${after.leader}; stream holds ${after.messages} messages; ` +
        `${deliveries} deliveries to the consumer (redeliveries are absorbed by idempotent ` +
        `handlers). After the kill: outbox drained in ${drainedAt - (killed?.at ?? started)} ms, ` +
        `consumer complete in ${consumedAt - (killed?.at ?? started)} ms.`,
    });

    expect({ lost, duplicated, unexpected }).toEqual({ lost: 0, duplicated: 0, unexpected: 0 });
    expect(after.messages).toBe(EVENTS);
    expect(after.leader).not.toBe(killed?.name);
  }, 150_000);
});
