/**
 * `login_throttle`: failed sign-ins per account, shared by every instance of the service (see
 * security/login-throttle.ts). Keyed by a hash of the normalised email, so an email without an
 * account is throttled the same way (the answer reveals nothing) and none is stored in clear.
 */
import { type Kysely, sql } from "kysely";

/** Creates `login_throttle`. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("login_throttle")
    // SHA-256 of the normalised email.
    .addColumn("account_key", "bytea", (col) => col.primaryKey())
    // Attempts counted since the failures began (see the throttle for when they are forgotten).
    .addColumn("failures", "integer", (col) => col.notNull())
    .addColumn("last_failure_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    // No attempt for the account is judged before it (null: not throttled).
    .addColumn("blocked_until", "timestamptz")
    .execute();
  await db.schema
    .createIndex("login_throttle_by_last_failure")
    .on("login_throttle")
    .column("last_failure_at")
    .execute();
}

/** Drops `login_throttle`. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("login_throttle").execute();
}
