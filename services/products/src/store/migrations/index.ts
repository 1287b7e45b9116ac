/** The products database migrations, by name (applied in name order by `migrateToLatest`). */
import type { Migration } from "kysely";
import * as createProducts from "./001_create_products.js";
import * as createOutbox from "./002_create_outbox.js";
import * as createReviews from "./003_create_reviews.js";

/** Every migration, statically imported so they run from source and from `dist/`. */
export const migrations: Record<string, Migration> = {
  "001_create_products": createProducts,
  "002_create_outbox": createOutbox,
  "003_create_reviews": createReviews,
};
