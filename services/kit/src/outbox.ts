/**
 * Transactional outbox: a service writes its events into its own `outbox` table in the same
 * database transaction as the state change ({@link enqueueEvent}), and a relay
 * ({@link startOutboxRelay}) publishes the committed rows to JetStream. A committed change
 * therefore always gets its events out — at least once, and exactly once on the stream because
 * each message carries `Nats-Msg-Id` = event id and JetStream drops a re-publish within the
 * stream's duplicate window — while HTTP writes keep succeeding when NATS is unreachable.
 *
 * Order: events of one aggregate (one product, one user) are published in the order their
 * transactions committed, also with several relays (several service instances) on one table.
 */
import { type JetStreamClient, jetstream } from "@nats-io/jetstream";
import { type NatsConnection, headers as natsHeaders } from "@nats-io/transport-node";
import {
  assertValidEvent,
  type EventEnvelope,
  type EventPayloads,
  type EventSubject,
} from "@portico/contracts";
import {
  type ColumnType,
  type Generated,
  type Kysely,
  type Migration,
  sql,
  type Transaction,
} from "kysely";
import { currentEventOrigin } from "./event-origin.js";
import type { Logger } from "./logger.js";
import { trackOutboxBacklog } from "./metrics.js";
import { newEnvelope } from "./nats.js";
import { type ParameterOf, prepareQuery } from "./prepared-query.js";

export {
  currentEventOrigin,
  type EventOrigin,
  traceparentOf,
  withEventOrigin,
} from "./event-origin.js";

import {
  activeTraceparent,
  detached,
  extractTraceContext,
  SpanKind,
  traceHeaders,
  withSpan,
} from "./telemetry.js";

/**
 * The `outbox` table (Kysely types), created by {@link outboxMigration}. Add it to a service's
 * database interface (`interface Database extends OutboxDatabase { … }`) to query it.
 */
export interface OutboxTable {
  /** The event id (UUID v7): the envelope's `id` and the JetStream `Nats-Msg-Id`. */
  id: string;
  /** Insertion order (identity column), the publication order within an aggregate. */
  seq: ColumnType<string, never, never>;
  /** The id of the entity the event is about (the envelope's `subject`). */
  aggregate_id: string;
  /** The NATS subject, e.g. `products.product.created`. */
  subject: string;
  /** The Portico envelope, published as the message body. */
  envelope: ColumnType<EventEnvelope, string, never>;
  /** NATS headers to publish with: `X-Request-Id` and `traceparent` when known. */
  headers: ColumnType<Record<string, string>, string | undefined, never>;
  created_at: Generated<Date>;
  /** When JetStream acknowledged it; null while pending. */
  published_at: ColumnType<Date | null, never, Date | null>;
  /** Failed publish attempts so far. */
  attempts: Generated<number>;
  /** The error of the last failed attempt. */
  last_error: ColumnType<string | null, never, string | null>;
}

/** A database that holds the outbox. */
export interface OutboxDatabase {
  outbox: OutboxTable;
}

/**
 * Creates the `outbox` table. A publishing service adds it as one of its own numbered
 * migrations (e.g. `002_create_outbox.ts`: `export const { up, down } = outboxMigration;`).
 * Once applied, a migration never changes: a later change to the table comes as a new migration.
 *
 * ```sql
 * create table outbox (
 *   id uuid primary key,                          -- event id (UUID v7) = Nats-Msg-Id
 *   seq bigint generated always as identity,      -- publication order within an aggregate
 *   aggregate_id text not null,
 *   subject text not null,
 *   envelope jsonb not null,
 *   headers jsonb not null default '{}',          -- X-Request-Id, traceparent
 *   created_at timestamptz(3) not null default now(),
 *   published_at timestamptz(3),                  -- null while pending
 *   attempts integer not null default 0,
 *   last_error text
 * );
 * create index outbox_pending_idx on outbox (seq) where published_at is null;
 * create index outbox_pending_aggregate_idx on outbox (aggregate_id, seq) where published_at is null;
 * ```
 */
export const outboxMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("outbox")
      .addColumn("id", "uuid", (col) => col.primaryKey())
      .addColumn("seq", "bigint", (col) => col.notNull().generatedAlwaysAsIdentity().unique())
      .addColumn("aggregate_id", "text", (col) => col.notNull())
      .addColumn("subject", "text", (col) => col.notNull())
      .addColumn("envelope", "jsonb", (col) => col.notNull())
      .addColumn("headers", "jsonb", (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
      .addColumn("created_at", sql`timestamptz(3)`, (col) => col.notNull().defaultTo(sql`now()`))
      .addColumn("published_at", sql`timestamptz(3)`)
      .addColumn("attempts", "integer", (col) => col.notNull().defaultTo(0))
      .addColumn("last_error", "text")
      .execute();
    // Partial indexes: they hold only pending rows, so they stay small however long the table.
    await sql`create index outbox_pending_idx on outbox (seq) where published_at is null`.execute(
      db,
    );
    await sql`create index outbox_pending_aggregate_idx on outbox (aggregate_id, seq)
      where published_at is null`.execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("outbox").execute();
  },
};

/** An event to write into the outbox. */
export interface NewEvent<S extends EventSubject> {
  /** The publishing service (envelope `source`), e.g. `products`. */
  source: string;
  /** The NATS subject, also the envelope `type`. */
  subject: S;
  /** The id of the entity the event is about (envelope `subject`); events are ordered per id. */
  aggregateId: string;
  data: EventPayloads[S];
  /**
   * The request that caused it, published as the `X-Request-Id` NATS header. Default: the
   * current {@link EventOrigin}'s (set by the kit's app around every handler).
   */
  requestId?: string;
  /**
   * W3C Trace Context `traceparent` of that request, published as a NATS header. While tracing is
   * on, the active span (the handler's) is stored instead, so the event continues the trace.
   * Default: the current {@link EventOrigin}'s.
   */
  traceparent?: string | undefined;
}

/** Two-key advisory lock namespace of the outbox ("OB"), separate from single-key locks. */
const AGGREGATE_LOCK_CLASS = 0x4f42;

/**
 * One round trip per event, compiled once: takes the aggregate's transaction advisory lock, then
 * inserts the row. The lock is taken in a materialised CTE, evaluated before the row (and its
 * `seq`) is produced from it, and held until commit, so a concurrent writer of this aggregate
 * gets its seq after ours. `INSERT … SELECT` does not type bare parameters from the target
 * columns as `VALUES` does: hence the casts.
 */
const insertOutboxRow = prepareQuery(
  (
    _db,
    param: ParameterOf<{
      id: string;
      aggregateId: string;
      subject: string;
      envelope: string;
      headers: string;
    }>,
  ) => sql`with lock as materialized (
      select pg_advisory_xact_lock(${AGGREGATE_LOCK_CLASS}, hashtext(${param("aggregateId")}::text)))
    insert into outbox (id, aggregate_id, subject, envelope, headers)
    select ${param("id")}::uuid, ${param("aggregateId")}::text, ${param("subject")}::text,
      ${param("envelope")}::jsonb, ${param("headers")}::jsonb
    from lock`,
);

/**
 * Writes an event into the outbox inside the caller's transaction: it is published only if,
 * and once, that transaction commits. The envelope is {@link newEnvelope}'s; the NATS headers
 * carry the request id and trace context of the current {@link EventOrigin} unless the event
 * gives its own. Concurrent transactions writing events of one aggregate are serialised (a transaction
 * advisory lock per aggregate), so the outbox order of an aggregate is its commit order.
 * @param trx a transaction (`db.transaction().execute((trx) => …)`); never the pool itself.
 * @returns the envelope as it will be published.
 * @throws Error when `trx` is not a transaction, and whatever `assertValidEvent` throws for an
 *   envelope that does not match the event contract: nothing is written then and the caller's
 *   transaction fails (a programming error; requests are validated before they get here).
 */
export async function enqueueEvent<DB, S extends EventSubject>(
  trx: Transaction<DB>,
  event: NewEvent<S>,
): Promise<EventEnvelope<S>> {
  if (!trx.isTransaction) {
    throw new Error("enqueueEvent must run inside the transaction of the change it announces");
  }
  const envelope = newEnvelope(event.source, event.subject, event.aggregateId, event.data);
  assertValidEvent(event.subject, envelope);
  const origin = currentEventOrigin();
  const headers: Record<string, string> = {};
  const requestId = event.requestId ?? origin?.requestId;
  if (requestId) headers["X-Request-Id"] = requestId;
  const traceparent = activeTraceparent() ?? event.traceparent ?? origin?.traceparent;
  if (traceparent) headers.traceparent = traceparent;
  await insertOutboxRow.execute(trx, {
    id: envelope.id,
    aggregateId: event.aggregateId,
    subject: event.subject,
    envelope: JSON.stringify(envelope),
    headers: JSON.stringify(headers),
  });
  return envelope;
}

/** What waits in the outbox. */
export interface OutboxBacklog {
  /** Committed events not yet published. */
  pending: number;
  /** Age of the oldest of them in ms (0 when none). */
  oldestAgeMs: number;
}

/** The outbox backlog (for logs and diagnostics). */
export async function outboxBacklog<DB>(db: Kysely<DB>): Promise<OutboxBacklog> {
  const { rows } = await sql<{ pending: number; oldest_age_ms: number | null }>`
    select count(*)::int as pending,
      (extract(epoch from now() - min(created_at)) * 1000)::float8 as oldest_age_ms
    from outbox where published_at is null`.execute(db);
  const row = rows[0];
  return {
    pending: row?.pending ?? 0,
    oldestAgeMs: Math.max(0, Math.round(row?.oldest_age_ms ?? 0)),
  };
}

/** Options of {@link startOutboxRelay}. */
export interface OutboxRelayOptions<DB> {
  /** The service's database (holding `outbox`). */
  db: Kysely<DB>;
  /** The NATS connection to publish on; the streams must exist. */
  nc: NatsConnection;
  log: Logger;
  /** Rows published per transaction (default 100). */
  batchSize?: number;
  /** Poll period in ms when nothing kicks the relay (default 1 000). */
  idleMs?: number;
  /**
   * How long a kick waits before the batch starts, in ms (default 5; 0 starts at once): the
   * linger of a batching producer (Kafka's `linger.ms`), so under load the commits of those few
   * ms share one batch — one claim, one mark and one commit — instead of a batch each.
   */
  lingerMs?: number;
  /** How long to wait for JetStream's ack of one message, in ms (default 5 000). */
  publishTimeoutMs?: number;
  /** First retry delay after a failure in ms, doubled per failure (default 250). */
  retryBaseMs?: number;
  /** Largest retry delay in ms (default 10 000). */
  retryMaxMs?: number;
  /**
   * How long published rows are kept, in ms (default {@link DEFAULT_OUTBOX_RETENTION_MS}, 7 days:
   * what was published when, with which request id, stays queryable for that long); older ones
   * are deleted by {@link pruneOutbox}, which the relay runs at start and every `pruneEveryMs`.
   * `Infinity` keeps every row. Pending rows are never pruned.
   */
  retentionMs?: number;
  /** Period of the pruning, in ms (default 10 minutes). */
  pruneEveryMs?: number;
}

/** How long the relay keeps published outbox rows by default: 7 days, in ms. */
export const DEFAULT_OUTBOX_RETENTION_MS = 7 * 24 * 60 * 60 * 1_000;

/** Deletes up to `limit` published rows published before `cutoff`, oldest first. */
const deletePublishedBefore = prepareQuery(
  (_db, param: ParameterOf<{ cutoff: Date; limit: number }>) => sql`
    delete from outbox where id in (
      select id from outbox
      where published_at < ${param("cutoff")}
      order by seq
      limit ${param("limit")}
      for update skip locked)`,
);

/**
 * Deletes the outbox rows published more than `retentionMs` ago (pending rows are never
 * touched), in statements of at most `chunk` rows so no single one holds many locks.
 * Safe beside other relays pruning the same table (`SKIP LOCKED`).
 * @returns how many rows were deleted.
 * @throws the database's error; rows deleted by earlier statements stay deleted.
 */
export async function pruneOutbox<DB>(
  db: Kysely<DB>,
  retentionMs: number,
  chunk = 1_000,
): Promise<number> {
  const cutoff = new Date(Date.now() - retentionMs);
  let deleted = 0;
  for (;;) {
    const { numAffectedRows } = await deletePublishedBefore.execute(db, { cutoff, limit: chunk });
    const count = Number(numAffectedRows ?? 0n);
    deleted += count;
    if (count < chunk) return deleted;
  }
}

/** A running relay. */
export interface OutboxRelay {
  /**
   * Publishes what is pending within `lingerMs` instead of at the next poll (call it after a
   * commit).
   */
  kick(): void;
  /** Stops polling and waits for the batch in flight. Idempotent. */
  stop(): Promise<void>;
  /** The backlog, and whether the relay is currently failing to publish. */
  status(): Promise<OutboxBacklog & { failing: boolean }>;
}

interface PendingRow {
  id: string;
  aggregate_id: string;
  subject: string;
  /** The envelope as stored, serialised (`envelope::text`): published as it is, never parsed. */
  envelope: string;
  headers: Record<string, string>;
}

/** The oldest pending row of each aggregate no other relay holds, locked (see claimPending). */
const claimHeads = prepareQuery(
  (_db, param: ParameterOf<{ limit: number }>) => sql<{ aggregate_id: string }>`
    select o.aggregate_id from outbox o
    where o.published_at is null
      and not exists (
        select 1 from outbox earlier
        where earlier.aggregate_id = o.aggregate_id
          and earlier.published_at is null
          and earlier.seq < o.seq)
    order by o.seq
    limit ${param("limit")}
    for update of o skip locked`,
);

/** The pending rows of the claimed aggregates, in order (see claimPending). */
const readClaimed = prepareQuery(
  (_db, param: ParameterOf<{ aggregateIds: string[]; limit: number }>) => sql<PendingRow>`
    select id, aggregate_id, subject, envelope::text as envelope, headers from outbox
    where published_at is null
      and aggregate_id = any(${param("aggregateIds")}::text[])
    order by seq
    limit ${param("limit")}`,
);

/** Marks the rows JetStream acknowledged as published: one statement per batch. */
const markPublished = prepareQuery(
  (_db, param: ParameterOf<{ ids: string[] }>) => sql`
    update outbox set published_at = now() where id = any(${param("ids")}::uuid[])`,
);

/** Counts a failed attempt on the rows whose publish failed. */
const markFailed = prepareQuery(
  (_db, param: ParameterOf<{ ids: string[]; error: string }>) => sql`
    update outbox set attempts = attempts + 1, last_error = ${param("error")}
    where id = any(${param("ids")}::uuid[])`,
);

/**
 * Locks the oldest pending row of each aggregate whose oldest pending row no other relay holds,
 * then reads the pending rows of those aggregates in order. Holding an aggregate's oldest
 * pending row is what entitles a relay to publish that aggregate: another relay cannot take a
 * later row of it until this transaction commits the earlier ones as published.
 */
async function claimPending<DB>(trx: Kysely<DB>, limit: number): Promise<PendingRow[]> {
  const heads = await claimHeads.execute(trx, { limit });
  if (heads.rows.length === 0) return [];
  // A separate statement, so its snapshot includes everything committed before the locks.
  // Ordered by seq and limited, it holds a prefix of each claimed aggregate's pending rows.
  const aggregateIds = heads.rows.map((h) => h.aggregate_id);
  return (await readClaimed.execute(trx, { aggregateIds, limit })).rows;
}

/** The rows of each aggregate, in their (seq) order; aggregates in the order they first appear. */
function byAggregate(rows: readonly PendingRow[]): PendingRow[][] {
  const chains = new Map<string, PendingRow[]>();
  for (const row of rows) {
    const chain = chains.get(row.aggregate_id);
    if (chain) chain.push(row);
    else chains.set(row.aggregate_id, [row]);
  }
  return [...chains.values()];
}

/** The error text stored in `last_error` and logged (bounded). */
function describeError(err: unknown): string {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return message.slice(0, 1_000);
}

/** Capped exponential back-off with jitter (50–100 % of the step), in ms. */
function backoffMs(failures: number, baseMs: number, maxMs: number): number {
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(step * (0.5 + Math.random() / 2));
}

/**
 * Starts publishing the outbox: pending rows go to JetStream in batches, in order per aggregate,
 * each with `Nats-Msg-Id` = event id and the headers stored with it, and are marked published in
 * the same transaction. Safe with several relays on one table (`FOR UPDATE SKIP LOCKED`). A
 * publish failure ends the batch; the relay then retries with capped exponential back-off until
 * JetStream answers again (a NATS reconnect retries at once). The outage is logged once when it
 * starts (with the backlog) and once when it ends. Rows stay pending meanwhile; none is dropped.
 * A crash between publish and commit republishes the batch, which JetStream de-duplicates.
 * Published rows are kept for `retentionMs` (default 7 days), then pruned ({@link pruneOutbox}).
 */
export function startOutboxRelay<DB>(options: OutboxRelayOptions<DB>): OutboxRelay {
  const { db, nc, log } = options;
  const batchSize = options.batchSize ?? 100;
  const idleMs = options.idleMs ?? 1_000;
  const lingerMs = options.lingerMs ?? 5;
  const publishTimeoutMs = options.publishTimeoutMs ?? 5_000;
  const retryBaseMs = options.retryBaseMs ?? 250;
  const retryMaxMs = options.retryMaxMs ?? 10_000;
  const retentionMs = options.retentionMs ?? DEFAULT_OUTBOX_RETENTION_MS;
  const pruneEveryMs = options.pruneEveryMs ?? 10 * 60 * 1_000;
  const js: JetStreamClient = jetstream(nc, { timeout: publishTimeoutMs });

  let connected = !nc.isClosed();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let runAgain = false;
  /** Whether a kick's run is due within `lingerMs` (the timer holds it). */
  let lingering = false;
  /** Consecutive failed batches; > 0 means an outage is in progress. */
  let failures = 0;
  let outageStartedAt = 0;
  /** Set by a reconnect during a batch: retry right after it instead of backing off. */
  let retryNow = false;

  /** Publishes one row, in a PRODUCER span continuing the trace of the request that wrote it. */
  async function publishRow(row: PendingRow): Promise<void> {
    const attributes = {
      "messaging.system": "nats",
      "messaging.operation.type": "send",
      "messaging.destination.name": row.subject,
      "messaging.message.id": row.id,
    };
    const parent = extractTraceContext(row.headers);
    await withSpan(
      `publish ${row.subject}`,
      { kind: SpanKind.PRODUCER, parent, attributes },
      () => {
        const h = natsHeaders();
        // The stored headers, then this span as the consumer's parent (when tracing is on).
        for (const [name, value] of Object.entries({ ...row.headers, ...traceHeaders() })) {
          h.set(name, value);
        }
        return js.publish(row.subject, row.envelope, {
          msgID: row.id,
          headers: h,
          timeout: publishTimeoutMs,
        });
      },
    );
  }

  /**
   * One transaction: claim, publish, mark. The aggregates' chains are published concurrently (their
   * acks awaited together), the rows of one aggregate one after the other, each only once the one
   * before it was acknowledged; after the first failure no further publish starts (a later row of
   * that aggregate must not overtake it, and while JetStream is unreachable every publish would
   * only wait for its timeout). Acknowledged rows are marked published, failed ones get an attempt
   * counted, each in one statement.
   */
  async function publishBatch(): Promise<{ read: number; error?: unknown }> {
    if (nc.isClosed()) return { read: 0, error: new Error("NATS connection closed") };
    if (!connected) return { read: 0, error: new Error("NATS disconnected") };
    return db.transaction().execute(async (trx) => {
      const rows = await claimPending(trx, batchSize);
      const published: string[] = [];
      const failed: string[] = [];
      let error: unknown;
      await Promise.all(
        byAggregate(rows).map(async (chain) => {
          for (const row of chain) {
            if (error !== undefined) return;
            try {
              await publishRow(row);
            } catch (err) {
              error ??= err;
              failed.push(row.id);
              return;
            }
            published.push(row.id);
          }
        }),
      );
      if (failed.length > 0) {
        await markFailed.execute(trx, { ids: failed, error: describeError(error) });
      }
      if (published.length > 0) await markPublished.execute(trx, { ids: published });
      return error === undefined ? { read: rows.length } : { read: rows.length, error };
    });
  }

  async function onFailure(error: unknown): Promise<void> {
    failures += 1;
    if (failures > 1) {
      log.debug({ err: error, failures }, "outbox relay still cannot publish");
      return;
    }
    outageStartedAt = Date.now();
    const backlog = await outboxBacklog(db).catch(() => undefined);
    log.warn(
      { err: error, ...backlog },
      "outbox relay cannot publish; events wait in the outbox and are retried with back-off",
    );
  }

  function onSuccess(): void {
    if (failures === 0) return;
    log.info(
      { outageMs: Date.now() - outageStartedAt, failedAttempts: failures },
      "outbox relay publishing again",
    );
    failures = 0;
  }

  async function drain(): Promise<void> {
    do {
      runAgain = false;
      let outcome: { read: number; error?: unknown };
      try {
        outcome = await publishBatch();
      } catch (err) {
        outcome = { read: 0, error: err }; // the database itself failed
      }
      if (outcome.error !== undefined) {
        await onFailure(outcome.error);
        return;
      }
      onSuccess();
      // A full batch means more may be pending: go again at once.
      if (outcome.read >= batchSize) runAgain = true;
    } while (runAgain && !stopped);
  }

  function schedule(delayMs: number): void {
    clearTimeout(timer);
    timer = setTimeout(run, delayMs);
    timer.unref();
  }

  /** Runs a drain now (or right after the one in flight), ignoring any back-off. */
  function run(): void {
    if (stopped) return;
    if (inFlight) {
      runAgain = true;
      return;
    }
    lingering = false;
    clearTimeout(timer);
    // Outside the trace of whoever kicked it: a batch serves many requests.
    inFlight = detached(drain).finally(() => {
      inFlight = undefined;
      if (stopped) return;
      if (retryNow) {
        retryNow = false;
        run();
      } else if (failures > 0) schedule(backoffMs(failures, retryBaseMs, retryMaxMs));
      else if (runAgain) run();
      else schedule(idleMs);
    });
  }

  /** Runs a drain `lingerMs` from now, or with the run already due or in flight. */
  function runSoon(): void {
    if (stopped || lingering) return;
    if (inFlight || lingerMs <= 0) {
      run();
      return;
    }
    lingering = true;
    clearTimeout(timer);
    timer = setTimeout(run, lingerMs);
    timer.unref();
  }

  const statuses = nc.status();
  (async () => {
    for await (const status of statuses) {
      if (status.type === "disconnect") connected = false;
      if (status.type === "reconnect") {
        connected = true;
        // NATS is back: do not wait for the back-off.
        if (inFlight) retryNow = true;
        else run();
      }
    }
  })().catch(() => undefined);

  run();
  const untrack = trackOutboxBacklog(() => outboxBacklog(db));

  let pruning: Promise<void> | undefined;
  /** One pruning pass; a failure is logged and the next pass tries again. */
  function prune(): void {
    if (stopped || pruning) return;
    pruning = pruneOutbox(db, retentionMs)
      .then((deleted) => {
        if (deleted > 0) log.debug({ deleted, retentionMs }, "outbox: published rows pruned");
      })
      .catch((err: unknown) => log.warn({ err }, "outbox: pruning published rows failed"))
      .finally(() => {
        pruning = undefined;
      });
  }
  const pruneTimer = Number.isFinite(retentionMs) ? setInterval(prune, pruneEveryMs) : undefined;
  pruneTimer?.unref();
  if (pruneTimer) detached(prune);

  let stopping: Promise<void> | undefined;
  return {
    kick() {
      // During an outage the back-off (or a reconnect) decides when to try again.
      if (failures === 0) runSoon();
    },
    stop() {
      stopping ??= (async () => {
        stopped = true;
        untrack();
        clearInterval(pruneTimer);
        clearTimeout(timer);
        (statuses as { stop?: () => void }).stop?.();
        await inFlight;
        await pruning;
      })();
      return stopping;
    },
    async status() {
      return { ...(await outboxBacklog(db)), failing: failures > 0 };
    },
  };
}
