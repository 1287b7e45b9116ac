/**
 * Hot queries compiled once: a query is built with Kysely's query builder (or its `sql` template)
 * once, with named parameter placeholders where the per-request values go, and compiled to its
 * PostgreSQL text; each execution then only binds new values and runs it through
 * `db.executeQuery` — the same driver, pool, transactions and logging as any Kysely query, without
 * building and compiling the operation tree on every request (Kysely's "compile once, execute
 * many": a query built on a connection-less `DummyDriver` instance, executed elsewhere).
 *
 * On a database with nothing between Kysely and pg (no plugin, no logger: `plainPoolOf`), the
 * statement goes to the pg pool directly, as Kysely's PostgreSQL driver would send it, and the
 * result comes back in Kysely's shape. Kysely's executor otherwise takes four async layers
 * (connection provider, runtime driver, driver, connection) per statement; the benchmark's
 * allocation profile of `getCurrentUser` charged them about 4 KiB and a tenth of the kit's own
 * CPU per request (docs/benchmarks.md, issue 14).
 *
 * ```ts
 * const findProduct = prepareQuery((db: Kysely<Database>, param: ParameterOf<{ id: string }>) =>
 *   db.selectFrom("products").selectAll().where("id", "=", param("id")));
 * const row = await findProduct.executeTakeFirst(db, { id }); // db: the pool or a transaction
 * ```
 */
import {
  type Compilable,
  type CompiledQuery,
  DummyDriver,
  Kysely,
  NoResultError,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryNode,
  type QueryResult,
  type RawBuilder,
} from "kysely";
import type pg from "pg";
import { plainPoolOf } from "./db.js";

/** The named values a prepared query takes per execution. */
export type QueryParameters = Record<string, unknown>;

/**
 * Gives the placeholder of parameter `name`, typed as that parameter's value so the query builder
 * accepts it wherever a value goes (`where`, `values`, `set`, `sql` template substitutions).
 */
export type ParameterOf<P extends QueryParameters> = <K extends keyof P & string>(name: K) => P[K];

/** What a {@link prepareQuery} builder returns: a builder of Kysely's or a `sql` template. */
export type PreparableQuery<O> = Compilable<O> | RawBuilder<O>;

/** What executes a compiled query: a Kysely database or a transaction of it. */
export interface QueryRunner {
  executeQuery<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>;
}

/** A query compiled once, executed with new parameter values each time. */
export interface PreparedQuery<P extends QueryParameters, O> {
  /** The compiled SQL text (PostgreSQL placeholders `$1`…`$n`). */
  readonly sql: string;
  /**
   * Executes the query on `db` — the database or a transaction of it — with `params`.
   * @returns Kysely's result: the rows and, for INSERT/UPDATE/DELETE/MERGE, `numAffectedRows`.
   * @throws whatever the driver throws (e.g. pg's `DatabaseError` with its SQLSTATE `code`).
   */
  execute(db: QueryRunner, params: P): Promise<QueryResult<O>>;
  /** The first row of {@link execute}'s result, or undefined when there is none. */
  executeTakeFirst(db: QueryRunner, params: P): Promise<O | undefined>;
  /**
   * The first row of {@link execute}'s result.
   * @throws NoResultError (Kysely's) when there is none.
   */
  executeTakeFirstOrThrow(db: QueryRunner, params: P): Promise<O>;
}

/** The commands whose row count Kysely reports as `numAffectedRows`. */
const AFFECTING = new Set(["INSERT", "UPDATE", "DELETE", "MERGE"]);

/**
 * Runs `sql` with `parameters` on `pool` and answers as Kysely's PostgreSQL connection does
 * (kysely/dist/esm/dialect/postgres/postgres-driver.js, `executeQuery`): the rows, and
 * `numAffectedRows` for INSERT, UPDATE, DELETE and MERGE.
 * @throws pg's error (e.g. `DatabaseError` with its SQLSTATE `code`), as Kysely would.
 */
async function queryPool<O>(
  pool: pg.Pool,
  sql: string,
  parameters: unknown[],
): Promise<QueryResult<O>> {
  const { command, rowCount, rows } = await pool.query(sql, parameters);
  return AFFECTING.has(command)
    ? { rows: rows ?? [], numAffectedRows: BigInt(rowCount ?? 0) }
    : { rows: rows ?? [] };
}

/** A per-request value's stand-in while the query is built. */
class Placeholder {
  constructor(readonly name: string) {}
}

/** Where a compiled parameter's value comes from: a named parameter or a constant of the build. */
type Slot = { name: string } | { value: unknown };

function isRawBuilder<O>(query: PreparableQuery<O>): query is RawBuilder<O> {
  return (query as Partial<RawBuilder<O>>).isRawBuilder === true;
}

/**
 * Kysely without a connection, for building and compiling PostgreSQL queries only (the kit's
 * databases are PostgreSQL: see `createDatabase`).
 */
const compiler = new Kysely<unknown>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

/**
 * Builds `build`'s query once and compiles it for PostgreSQL. Every value the
 * builder got from `param(name)` becomes a bind parameter taking `params[name]` at execution;
 * every other value is a constant of the compiled query. A parameter may be used more than once.
 * Annotate the builder's arguments to type it: `(db: Kysely<Database>, param:
 * ParameterOf<{ id: string }>) => …`; the rows' type is the built query's.
 * @throws Error when a placeholder did not become a bind parameter of its own (Kysely inlined it,
 *   or it sits inside an array or object value): such a query cannot be prepared this way.
 */
export function prepareQuery<DB, P extends QueryParameters, O>(
  build: (db: Kysely<DB>, param: ParameterOf<P>) => PreparableQuery<O>,
): PreparedQuery<P, O> {
  const db = compiler as Kysely<DB>;
  const requested = new Set<string>();
  const param = ((name: string) => {
    requested.add(name);
    return new Placeholder(name);
  }) as ParameterOf<P>;
  const query = build(db, param);
  const compiled: CompiledQuery<O> = isRawBuilder(query) ? query.compile(db) : query.compile();
  const slots: Slot[] = compiled.parameters.map((value) =>
    value instanceof Placeholder ? { name: value.name } : { value },
  );
  const bound = new Set(slots.flatMap((slot) => ("name" in slot ? [slot.name] : [])));
  const lost = [...requested].filter((name) => !bound.has(name));
  if (lost.length > 0) {
    throw new Error(
      `prepareQuery: parameter(s) ${lost.join(", ")} did not become bind parameters of ${compiled.sql}`,
    );
  }

  function execute(target: QueryRunner, params: P): Promise<QueryResult<O>> {
    const parameters = slots.map((slot) => ("name" in slot ? params[slot.name] : slot.value));
    const pool = plainPoolOf(target);
    return pool
      ? queryPool<O>(pool, compiled.sql, parameters)
      : target.executeQuery<O>({ ...compiled, parameters });
  }

  return {
    sql: compiled.sql,
    execute,
    async executeTakeFirst(target, params) {
      return (await execute(target, params)).rows[0];
    },
    async executeTakeFirstOrThrow(target, params) {
      const row = (await execute(target, params)).rows[0];
      if (row === undefined) throw new NoResultError(compiled.query as QueryNode);
      return row;
    },
  };
}
