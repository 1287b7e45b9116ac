/** The __name__ database migrations, by name (applied in name order by `migrateToLatest`). */
import type { Migration } from "kysely";
import * as create__Name__ from "./001_create___name__.js";
import * as createOutbox from "./002_create_outbox.js";

/** Every migration, statically imported so they run from source and from `dist/`. */
export const migrations: Record<string, Migration> = {
  "001_create___name__": create__Name__,
  "002_create_outbox": createOutbox,
};
