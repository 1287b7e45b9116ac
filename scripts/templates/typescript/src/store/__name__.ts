/** Kysely queries of the `__name__` table, and its representation in the contract. */
import type * as __Name__Api from "@portico/contracts/generated/__name__.js";
import type { CursorKey } from "@portico/kit";
import type { Kysely } from "kysely";
import type { __Entity__Row, Database } from "./schema.js";

/** A __entity__ as the contract represents it. */
export type __Entity__ = __Name__Api.components["schemas"]["__Entity__"];

/** The contract's representation of a row. */
export function to__Entity__(row: __Entity__Row): __Entity__ {
  return {
    id: row.id,
    name: row.name,
    ownerId: row.owner_id,
    createdAt: row.created_at.toISOString(),
  };
}

/** Inserts a __entity__ and returns the stored row. */
export function insert__Entity__(
  db: Kysely<Database>,
  values: { id: string; name: string; ownerId: string },
): Promise<__Entity__Row> {
  return db
    .insertInto("__name__")
    .values({ id: values.id, name: values.name, owner_id: values.ownerId })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The __entity__ `id`, or undefined. */
export function find__Entity__(
  db: Kysely<Database>,
  id: string,
): Promise<__Entity__Row | undefined> {
  return db.selectFrom("__name__").selectAll().where("id", "=", id).executeTakeFirst();
}

/**
 * Newest first: `fetch` rows after the keyset position `after` (from a cursor), if given.
 */
export function list__Name__(
  db: Kysely<Database>,
  page: { fetch: number; after?: CursorKey | undefined },
): Promise<__Entity__Row[]> {
  let query = db.selectFrom("__name__").selectAll();
  const { after } = page;
  if (after) {
    query = query.where(({ eb, refTuple, tuple }) =>
      eb(refTuple("created_at", "id"), "<", tuple(after.createdAt, after.id)),
    );
  }
  return query.orderBy("created_at", "desc").orderBy("id", "desc").limit(page.fetch).execute();
}
