/** Accounts and the stored signing key. */
import { type Kysely, sql } from "kysely";

/** Creates `users` and `signing_keys`. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("users")
    .addColumn("id", "uuid", (col) => col.primaryKey())
    .addColumn("email", "text", (col) => col.notNull().unique())
    .addColumn("name", "text", (col) => col.notNull())
    .addColumn("password_hash", "text", (col) => col.notNull())
    .addColumn("role", "text", (col) => col.notNull().check(sql`role in ('user', 'admin')`))
    .addColumn("created_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    // The unique constraint is case-insensitive only because emails are stored lower-cased.
    .addCheckConstraint("users_email_lower_case", sql`email = lower(email)`)
    .execute();

  await db.schema
    .createTable("signing_keys")
    .addColumn("kid", "text", (col) => col.primaryKey())
    .addColumn("private_jwk", "jsonb", (col) => col.notNull())
    .addColumn("public_jwk", "jsonb", (col) => col.notNull())
    .addColumn("created_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
}

/** Drops both tables. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("signing_keys").execute();
  await db.schema.dropTable("users").execute();
}
