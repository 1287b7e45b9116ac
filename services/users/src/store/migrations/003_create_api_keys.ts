/** API keys of service accounts (`api_keys`): only a hash of each key's secret is stored. */
import { type Kysely, sql } from "kysely";

/** Creates `api_keys` and the index that lists the keys not revoked, newest first. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("api_keys")
    .addColumn("id", "uuid", (col) => col.primaryKey())
    // 16 hex digits from the key itself: finds its row without comparing every hash.
    .addColumn("lookup_id", "text", (col) => col.notNull().unique())
    // SHA-256 of the key's secret part, base64url (see domain/api-keys.ts for why not Argon2).
    .addColumn("secret_hash", "text", (col) => col.notNull())
    .addColumn("name", "text", (col) => col.notNull())
    .addColumn("role", "text", (col) => col.notNull().check(sql`role in ('user', 'admin')`))
    // The administrator who created it (kept for the record, not a foreign key).
    .addColumn("created_by", "uuid", (col) => col.notNull())
    .addColumn("created_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn("revoked_at", "timestamptz")
    .execute();
  await db.schema
    .createIndex("api_keys_active_by_creation")
    .on("api_keys")
    .columns(["created_at desc", "id desc"])
    .where(sql.ref("revoked_at"), "is", null)
    .execute();
}

/** Drops `api_keys`. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("api_keys").execute();
}
