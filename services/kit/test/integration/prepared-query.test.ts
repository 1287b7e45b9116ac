/**
 * prepareQuery against real PostgreSQL (a fresh database on DATABASE_URL): one compiled query run
 * with new values each time, on the pool and inside transactions, and the builds it refuses.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { createDatabase as createTestDatabase } from "@portico/scripts/testing/provision";
import { type Kysely, NoResultError, sql } from "kysely";
import { v7 as uuidv7 } from "uuid";
import { createDatabase, isUniqueViolation, plainPoolOf } from "../../src/db.js";
import { type ParameterOf, prepareQuery } from "../../src/prepared-query.js";

interface TestDatabase {
  things: { id: string; name: string; size: number; kind: string };
}

let db: Kysely<TestDatabase>;

const insertThing = prepareQuery(
  (db: Kysely<TestDatabase>, param: ParameterOf<{ id: string; name: string; size: number }>) =>
    db
      .insertInto("things")
      .values({ id: param("id"), name: param("name"), size: param("size"), kind: "plain" })
      .returningAll(),
);

const findThing = prepareQuery((db: Kysely<TestDatabase>, param: ParameterOf<{ id: string }>) =>
  db.selectFrom("things").selectAll().where("id", "=", param("id")),
);

const resizeThing = prepareQuery(
  (db: Kysely<TestDatabase>, param: ParameterOf<{ id: string; size: number }>) =>
    db
      .updateTable("things")
      .set({ size: param("size") })
      .where("id", "=", param("id")),
);

/** A `sql` template, one parameter used twice. */
const thingsBetween = prepareQuery(
  (_db, param: ParameterOf<{ size: number }>) =>
    sql<{ id: string }>`select id from things
    where size between ${param("size")} - 1 and ${param("size")} + 1 order by id`,
);

beforeAll(async () => {
  db = createDatabase<TestDatabase>(await createTestDatabase("kit_prepared_query"), 4);
  await db.schema
    .createTable("things")
    .addColumn("id", "uuid", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("size", "integer", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .execute();
});

afterAll(async () => {
  await db?.destroy();
});

describe("prepareQuery", () => {
  it("compiles once to PostgreSQL placeholders, constants kept as bind parameters", () => {
    expect(insertThing.sql).toBe(
      'insert into "things" ("id", "name", "size", "kind") values ($1, $2, $3, $4) returning *',
    );
    expect(findThing.sql).toBe('select * from "things" where "id" = $1');
  });

  it("runs with each execution's values, on the pool and in a transaction", async () => {
    const first = { id: uuidv7(), name: "first", size: 10 };
    const second = { id: uuidv7(), name: "second", size: 11 };
    expect(await insertThing.executeTakeFirstOrThrow(db, first)).toEqual({
      ...first,
      kind: "plain",
    });
    await db.transaction().execute(async (trx) => {
      await insertThing.execute(trx, second);
      expect((await findThing.executeTakeFirst(trx, { id: second.id }))?.name).toBe("second");
    });
    expect((await findThing.executeTakeFirst(db, { id: first.id }))?.name).toBe("first");
    expect((await findThing.executeTakeFirst(db, { id: second.id }))?.size).toBe(11);
    const near = await thingsBetween.execute(db, { size: 10 });
    expect(near.rows.map((row) => row.id)).toEqual([first.id, second.id].sort());
  });

  it("rolls back with the transaction it ran in", async () => {
    const id = uuidv7();
    await expect(
      db.transaction().execute(async (trx) => {
        await insertThing.execute(trx, { id, name: "gone", size: 1 });
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    expect(await findThing.executeTakeFirst(db, { id })).toBeUndefined();
  });

  it("reports no row and the driver's errors as Kysely's own execution would", async () => {
    await expect(findThing.executeTakeFirstOrThrow(db, { id: uuidv7() })).rejects.toBeInstanceOf(
      NoResultError,
    );
    const thing = { id: uuidv7(), name: "twice", size: 2 };
    await insertThing.execute(db, thing);
    const error = await insertThing.execute(db, thing).catch((err: unknown) => err);
    expect(isUniqueViolation(error)).toBe(true);
  });

  it("goes to the pool directly on a plain database and answers as Kysely's executor does", async () => {
    const pool = plainPoolOf(db);
    expect(pool).toBeDefined();
    // A copy of the database (here with a schema plugin) runs through Kysely's executor.
    const throughKysely = db.withSchema("public");
    expect(plainPoolOf(throughKysely)).toBeUndefined();
    const thing = { id: uuidv7(), name: "resized", size: 3 };
    await insertThing.execute(db, thing);
    const direct = jest.spyOn(pool as NonNullable<typeof pool>, "query");
    try {
      const viaPool = await resizeThing.execute(db, { id: thing.id, size: 4 });
      const viaKysely = await resizeThing.execute(throughKysely, { id: thing.id, size: 5 });
      expect(viaPool).toEqual(viaKysely);
      expect(viaPool).toEqual({ rows: [], numAffectedRows: 1n });
      expect(await findThing.execute(db, { id: thing.id })).toEqual(
        await findThing.execute(throughKysely, { id: thing.id }),
      );
      // Two of the four statements went to the pool directly; the others through Kysely.
      expect(direct).toHaveBeenCalledTimes(2);
      await db.transaction().execute(async (trx) => {
        expect(plainPoolOf(trx)).toBeUndefined();
        await findThing.execute(trx, { id: thing.id });
      });
      expect(direct).toHaveBeenCalledTimes(2);
    } finally {
      direct.mockRestore();
    }
  });

  it("refuses a placeholder that does not become a bind parameter of its own", () => {
    expect(() =>
      prepareQuery(
        (_db, param: ParameterOf<{ id: string }>) =>
          // The array is one bind parameter; the placeholder inside it would be sent as is.
          sql`select * from things where id = any(${[param("id")]}::uuid[])`,
      ),
    ).toThrow(/parameter\(s\) id did not become bind parameters/);
  });
});
