/** A fresh, migrated database per test file, on the PostgreSQL server of jest's globalSetup. */
import { createDatabase, migrateToLatest } from "@portico/kit";
import { createDatabase as createServerDatabase } from "@portico/scripts/testing/provision";
import { type Kysely, sql } from "kysely";
import { migrations } from "../../src/store/migrations/index.js";
import type { NotificationsDatabase } from "../../src/store/schema.js";

/** A migrated database and how to drop it. */
export interface TestDatabase {
  db: Kysely<NotificationsDatabase>;
  url: string;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/** Creates `<prefix>_<random>` on `DATABASE_URL`'s server and applies every migration. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const url = await createServerDatabase(prefix);
  const db = createDatabase<NotificationsDatabase>(url, 4);
  await migrateToLatest(db, migrations);
  return {
    db,
    url,
    async drop() {
      await db.destroy();
      const server = createDatabase<unknown>(process.env.DATABASE_URL ?? "", 1);
      const name = new URL(url).pathname.slice(1);
      await sql`drop database if exists ${sql.id(name)} with (force)`.execute(server);
      await server.destroy();
    },
  };
}
