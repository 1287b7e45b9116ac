/** Queries on `api_keys`. A revoked key (`revoked_at` set) is never listed nor found. */
import type { CursorKey, Kysely } from "@portico/kit";
import type { Insertable } from "kysely";
import type { ApiKeyRow, ApiKeysTable, UsersDatabase } from "./schema.js";

type Db = Kysely<UsersDatabase>;

/**
 * Inserts an API key and returns the stored row.
 * @throws the pg unique violation (`isUniqueViolation`) when the lookup id is taken (1 in 2^64).
 */
export async function insertApiKey(db: Db, key: Insertable<ApiKeysTable>): Promise<ApiKeyRow> {
  return db.insertInto("api_keys").values(key).returningAll().executeTakeFirstOrThrow();
}

/** Up to `limit` keys that are not revoked, after `after`, newest first. */
export async function findActiveApiKeys(
  db: Db,
  page: { limit: number; after?: CursorKey | undefined },
): Promise<ApiKeyRow[]> {
  let q = db.selectFrom("api_keys").selectAll().where("revoked_at", "is", null);
  if (page.after) {
    const { createdAt, id } = page.after;
    q = q.where((eb) =>
      eb(eb.refTuple("created_at", "id"), "<", eb.tuple(eb.val(createdAt), eb.val(id))),
    );
  }
  return q.orderBy("created_at", "desc").orderBy("id", "desc").limit(page.limit).execute();
}

/** The key with this lookup id, unless it is revoked. */
export async function findActiveApiKeyByLookupId(
  db: Db,
  lookupId: string,
): Promise<ApiKeyRow | undefined> {
  return db
    .selectFrom("api_keys")
    .selectAll()
    .where("lookup_id", "=", lookupId)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
}

/**
 * Revokes the key with this id.
 * @returns false when there is no such key or it was already revoked.
 */
export async function revokeApiKeyById(db: Db, id: string): Promise<boolean> {
  const result = await db
    .updateTable("api_keys")
    .set({ revoked_at: new Date() })
    .where("id", "=", id)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
