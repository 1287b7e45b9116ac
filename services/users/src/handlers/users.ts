/** Handlers of the user account operations: registerUser, getCurrentUser, getUser. */
import type { UsersApi } from "@portico/contracts";
import {
  conflict,
  type Handlers,
  isUniqueViolation,
  type Kysely,
  notFound,
  type Principal,
  unauthorized,
} from "@portico/kit";
import { v7 as uuidv7 } from "uuid";
import { normalizeEmail, roleForNewUser } from "../domain/email.js";
import type { UserEvents } from "../events.js";
import type { Passwords } from "../security/passwords.js";
import type { UserRow, UsersDatabase } from "../store/schema.js";
import { findUserById, insertUser } from "../store/users.js";

type Ops = UsersApi.operations;
/** A user as the contract represents it. */
export type User = UsersApi.components["schemas"]["User"];

/** What the user handlers need. */
export interface UserHandlerDeps {
  db: Kysely<UsersDatabase>;
  passwords: Passwords;
  /** Canonical emails that register as admin. */
  adminEmails: ReadonlySet<string>;
  /** A registration writes its event in its own transaction (the outbox). */
  events: UserEvents;
}

/** The contract's representation of a stored user (never the password hash). */
export function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    createdAt: row.created_at.toISOString(),
  };
}

/** The caller; the kit sets it on every operation that declares `bearerAuth`. */
function caller(principal: Principal | undefined): Principal {
  if (!principal) throw unauthorized();
  return principal;
}

/** Builds the user handlers. */
export function userHandlers(
  deps: UserHandlerDeps,
): Pick<Handlers<Ops>, "registerUser" | "getCurrentUser" | "getUser"> {
  return {
    async registerUser({ body }) {
      const email = normalizeEmail(body.email);
      const passwordHash = await deps.passwords.hash(body.password);
      let row: UserRow;
      try {
        row = await deps.db.transaction().execute(async (trx) => {
          const inserted = await insertUser(trx, {
            id: uuidv7(),
            email,
            name: body.name,
            password_hash: passwordHash,
            role: roleForNewUser(email, deps.adminEmails),
          });
          await deps.events.registered(trx, inserted);
          return inserted;
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict("An account with this email already exists.");
        throw err;
      }
      deps.events.committed();
      return { status: 201, body: toUser(row), headers: { Location: `/users/${row.id}` } };
    },

    async getCurrentUser({ principal }) {
      const row = await findUserById(deps.db, caller(principal).userId);
      if (!row) throw notFound("The account of this token no longer exists.");
      return { status: 200, body: toUser(row) };
    },

    async getUser({ path }) {
      const row = await findUserById(deps.db, path.userId);
      if (!row) throw notFound("No user has this id.");
      return { status: 200, body: toUser(row) };
    },
  };
}
