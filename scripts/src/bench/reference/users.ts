/**
 * The reference service's `getCurrentUser` (contracts/users.yaml, `GET /users/me`): the caller
 * that `bearerAuth` verified, read from the users service's `users` table with plain pg and
 * mapped to the contract's `User` as the users service maps it.
 */
import type { UsersApi } from "@portico/contracts";
import type { FastifyReply, FastifyRequest } from "fastify";
import type pg from "pg";
import { problem } from "./problem.js";

type User = UsersApi.components["schemas"]["User"];

interface UserRow {
  id: string;
  email: string;
  name: string;
  role: User["role"];
  created_at: Date;
}

/** glue's service handler of `getCurrentUser`, over the users database `pool`. */
export function userHandlers(pool: pg.Pool) {
  return {
    async getCurrentUser(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
      const { rows } = await pool.query<UserRow>("select * from users where id = $1", [
        request.caller?.userId,
      ]);
      const row = rows[0];
      if (!row)
        return problem(reply, 404, "Not Found", "The account of this token no longer exists.");
      const user: User = {
        id: row.id,
        email: row.email,
        name: row.name,
        role: row.role,
        createdAt: row.created_at.toISOString(),
      };
      return user;
    },
  };
}
