/** Queries on `users`. Emails passed in must already be canonical (see normalizeEmail). */
import { type Kysely, type ParameterOf, prepareQuery } from "@portico/kit";
import type { Insertable } from "kysely";
import type { UserRow, UsersDatabase, UsersTable } from "./schema.js";

/**
 * Inserts a user and returns the stored row.
 * @throws the pg unique violation (SQLSTATE 23505, see `isUniqueViolation`) when the email is
 *   already registered; the caller turns it into 409, so there is no check-then-insert race.
 */
export async function insertUser(
  db: Kysely<UsersDatabase>,
  user: Insertable<UsersTable>,
): Promise<UserRow> {
  return db.insertInto("users").values(user).returningAll().executeTakeFirstOrThrow();
}

/** The select of {@link findUserById}, compiled once (it runs on every `getCurrentUser`). */
const findUserByIdQuery = prepareQuery(
  (db: Kysely<UsersDatabase>, param: ParameterOf<{ id: string }>) =>
    db.selectFrom("users").selectAll().where("id", "=", param("id")),
);

/** The user with this id, if any. `id` must be a UUID (the contract validates it). */
export async function findUserById(
  db: Kysely<UsersDatabase>,
  id: string,
): Promise<UserRow | undefined> {
  return findUserByIdQuery.executeTakeFirst(db, { id });
}

/** The user with this canonical email, if any. */
export async function findUserByEmail(
  db: Kysely<UsersDatabase>,
  email: string,
): Promise<UserRow | undefined> {
  return db.selectFrom("users").selectAll().where("email", "=", email).executeTakeFirst();
}
