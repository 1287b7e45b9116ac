/** Every migration of the users database, by name; applied in name order at start-up. */
import type { Migration } from "@portico/kit";
import * as init from "./001_init.js";
import * as createOutbox from "./002_create_outbox.js";
import * as createApiKeys from "./003_create_api_keys.js";
import * as createLoginThrottle from "./004_create_login_throttle.js";

/** Name → migration, statically imported so it works from source and from dist. */
export const migrations: Record<string, Migration> = {
  "001_init": init,
  "002_create_outbox": createOutbox,
  "003_create_api_keys": createApiKeys,
  "004_create_login_throttle": createLoginThrottle,
};
