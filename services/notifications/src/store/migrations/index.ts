import type { Migration } from "kysely";
import * as init from "./001_init.js";

/** Every migration of the notifications database, by name (applied in name order). */
export const migrations: Record<string, Migration> = {
  "001_init": init,
};
