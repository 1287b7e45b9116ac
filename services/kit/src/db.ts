/**
 * PostgreSQL access with Kysely + pg, and numbered migrations applied at start-up.
 * Each service owns its database; nothing here knows another service's tables.
 */
import { Kysely, type LogEvent, type Migration, Migrator, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { recordSqlSpan, tracingEnabled } from "./telemetry.js";

export type { Kysely, Migration } from "kysely";

/** Kysely's log event of one statement, recorded as a span (see {@link recordSqlSpan}). */
function recordSqlEvent(event: LogEvent): void {
  recordSqlSpan(
    event.query.sql,
    event.queryDurationMillis,
    event.level === "error" ? event.error : undefined,
  );
}

/** The pool of each database {@link createDatabase} made without a query logger. */
const plainPools = new WeakMap<object, pg.Pool>();

/**
 * The pg pool under `db` when `db` is a database {@link createDatabase} made while tracing was
 * off — not a transaction, not a copy with plugins or a schema — else undefined. A statement run
 * on that pool directly is the statement Kysely would run: such a database has no plugin to
 * transform it or its result and no logger to time it. The kit's prepared queries use it to skip
 * Kysely's per-query layers (see prepared-query.ts).
 */
export function plainPoolOf(db: object): pg.Pool | undefined {
  return plainPools.get(db);
}

/**
 * A Kysely instance over a pg connection pool. Its statements are traced (SQL spans) when
 * tracing was started (`startTelemetry`) before this call.
 * @param url `postgres://user:pass@host:port/database`.
 * @param poolSize maximum pool connections.
 */
export function createDatabase<DB>(url: string, poolSize = 10): Kysely<DB> {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: 5_000,
  });
  // An idle connection the server drops (restart, failover, terminated backend) is reported as a
  // pool 'error' event, which crashes the process when nothing listens. The pool discards that
  // client and the next query reconnects; /readyz reports a lasting outage.
  pool.on("error", () => undefined);
  const traced = tracingEnabled();
  const db = new Kysely<DB>({
    dialect: new PostgresDialect({ pool }),
    // While tracing is on, each statement run inside a traced operation becomes a span of it.
    // Off, no logger at all: Kysely then runs each query without its timing and logging wrapper.
    ...(traced ? { log: recordSqlEvent } : {}),
  });
  if (!traced) plainPools.set(db, pool);
  return db;
}

/**
 * Applies every pending migration in name order (`001_…`, `002_…`), inside Kysely's migration
 * lock so concurrent replicas do not race.
 * @param migrations name → migration; statically imported so they work from source and dist.
 * @throws Error (the failing migration's) when a migration fails; that migration is rolled back.
 */
export async function migrateToLatest<DB>(
  db: Kysely<DB>,
  migrations: Record<string, Migration>,
): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}

/** Readiness check: one round trip to the database. */
export async function pingDatabase<DB>(db: Kysely<DB>): Promise<void> {
  await sql`select 1`.execute(db);
}

/** PostgreSQL SQLSTATE of a unique-constraint violation. */
export const UNIQUE_VIOLATION = "23505";

/** True when `err` is a PostgreSQL unique-constraint violation (SQLSTATE 23505). */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === UNIQUE_VIOLATION;
}
