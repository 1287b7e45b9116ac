/**
 * Support of the sign-in throttle tests: two instances of the service sharing one fresh database
 * (so the throttle is seen to be shared), a client on that database to read and move the stored
 * state, fresh accounts and sign-ins.
 */
import pg from "pg";
import {
  type ApiResponse,
  createTestDatabase,
  dropTestDatabase,
  type RunningUsers,
  register,
  request,
  startUsers,
  testConfig,
} from "./support.js";

/** The password of every account {@link SignInBench.newAccount} registers. */
export const PASSWORD = "correct-horse-battery";

/** Two instances on one database, and what the tests do with them. */
export interface SignInBench {
  first: RunningUsers;
  second: RunningUsers;
  /** A client on the instances' database. */
  db: pg.Client;
  /** Registers a fresh account (password {@link PASSWORD}); resolves to its email. */
  newAccount(): Promise<string>;
  /** `POST /auth/token` with the password grant, on `via` (default `first`). */
  signIn(
    email: string,
    password: string,
    options?: { via?: RunningUsers; headers?: Record<string, string> },
  ): Promise<ApiResponse>;
  /** Stops both instances, ends the client, drops the database. */
  stop(): Promise<void>;
}

/** Starts a {@link SignInBench} on a fresh database named after `prefix`. */
export async function startSignInBench(prefix: string): Promise<SignInBench> {
  const databaseUrl = await createTestDatabase(prefix);
  const first = await startUsers(testConfig(databaseUrl));
  const second = await startUsers(testConfig(databaseUrl));
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  let accounts = 0;
  return {
    first,
    second,
    db,
    async newAccount() {
      const email = `${prefix}-${++accounts}@example.com`;
      const answer = await register(first.baseUrl, { email, password: PASSWORD, name: "T" });
      if (answer.status !== 201) throw new Error(`registration answered ${answer.status}`);
      return email;
    },
    signIn(email, password, options = {}) {
      return request((options.via ?? first).baseUrl, "POST", "/auth/token", {
        body: { grant_type: "password", username: email, password },
        headers: options.headers ?? {},
      });
    },
    async stop() {
      await db.end();
      await first.stop();
      await second.stop();
      await dropTestDatabase(databaseUrl);
    },
  };
}
