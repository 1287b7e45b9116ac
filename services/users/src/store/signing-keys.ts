/**
 * The stored token signing keys (development and test, when JWT_PRIVATE_KEY is unset): the newest
 * signs, the one before it is still published so tokens it signed verify until they expire.
 */
import type { Kysely } from "@portico/kit";
import type { JWK } from "jose";
import { sql } from "kysely";
import type { UsersDatabase } from "./schema.js";

/** A signing key pair as stored. */
export interface StoredSigningKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

/**
 * The newest stored signing key; when there is none, stores the one `generate` makes. Runs in a
 * transaction holding an advisory lock, so instances starting at the same time on one database
 * agree on a single key (the loser of the race reads the winner's key).
 */
export async function ensureStoredSigningKey(
  db: Kysely<UsersDatabase>,
  generate: () => Promise<StoredSigningKey>,
): Promise<StoredSigningKey> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext('portico.users.signing_keys'))`.execute(trx);
    const existing = await trx
      .selectFrom("signing_keys")
      .select(["kid", "private_jwk", "public_jwk"])
      .orderBy("created_at", "desc")
      .limit(1)
      .executeTakeFirst();
    if (existing) {
      return {
        kid: existing.kid,
        privateJwk: existing.private_jwk,
        publicJwk: existing.public_jwk,
      };
    }
    const key = await generate();
    await trx
      .insertInto("signing_keys")
      .values({
        kid: key.kid,
        private_jwk: JSON.stringify(key.privateJwk),
        public_jwk: JSON.stringify(key.publicJwk),
      })
      .execute();
    return key;
  });
}

/** The `count` newest stored signing keys, newest first. */
export async function newestStoredSigningKeys(
  db: Kysely<UsersDatabase>,
  count: number,
): Promise<StoredSigningKey[]> {
  const rows = await db
    .selectFrom("signing_keys")
    .select(["kid", "private_jwk", "public_jwk"])
    .orderBy("created_at", "desc")
    .limit(count)
    .execute();
  return rows.map((row) => ({
    kid: row.kid,
    privateJwk: row.private_jwk,
    publicJwk: row.public_jwk,
  }));
}

/**
 * Stores `key` as the newest signing key — a rotation. Instances started afterwards sign with it
 * and publish it next to the key before it; running instances keep their keys until restarted.
 */
export async function addStoredSigningKey(
  db: Kysely<UsersDatabase>,
  key: StoredSigningKey,
): Promise<void> {
  await db
    .insertInto("signing_keys")
    .values({
      kid: key.kid,
      private_jwk: JSON.stringify(key.privateJwk),
      public_jwk: JSON.stringify(key.publicJwk),
      // Strictly after the newest, even when the clock is behind the database's.
      created_at: sql<Date>`greatest(now(), (select max(created_at) from signing_keys) + interval '1 millisecond')`,
    })
    .execute();
}
