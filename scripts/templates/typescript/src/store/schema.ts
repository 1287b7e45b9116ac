/** The __name__ database (Kysely types): its own table and the kit's outbox. */
import type { OutboxDatabase } from "@portico/kit";
import type { Generated, Selectable } from "kysely";

/** The `__name__` table (migration 001). */
export interface __Entity__Table {
  id: string;
  name: string;
  owner_id: string;
  created_at: Generated<Date>;
}

/** A stored __entity__. */
export type __Entity__Row = Selectable<__Entity__Table>;

/** Every table of the database. */
export interface Database extends OutboxDatabase {
  __name__: __Entity__Table;
}
