/**
 * The products HTTP app: the kit's contract-driven Express app over this service's handlers.
 * Shared by `main.ts` and the integration tests so both run exactly the same thing.
 */
import { loadContract, type ProductsApi } from "@portico/contracts";
import {
  createApp,
  createEventPublisher,
  type Logger,
  type NatsConnection,
  pingDatabase,
  pingNats,
  type TokenVerifier,
} from "@portico/kit";
import type { Express } from "express";
import type { Kysely } from "kysely";
import { createProductEvents, PRODUCTS_SOURCE } from "./events.js";
import { createProductHandlers } from "./handlers/products.js";
import { createStockHandlers } from "./handlers/stock.js";
import type { Database } from "./store/schema.js";

/** What the app needs: an open (migrated) database, a NATS connection, a token verifier. */
export interface ProductsAppOptions {
  db: Kysely<Database>;
  nc: NatsConnection;
  verifyToken: TokenVerifier;
  logger: Logger;
  /** Validate responses against the contract (everywhere but production). */
  validateResponses: boolean;
}

/**
 * Builds the products app (contracts/products.yaml). The `PRODUCTS` stream must exist
 * (`ensureStream`) for events to be published.
 * @throws Error when the handlers do not cover the contract exactly.
 */
export function createProductsApp(options: ProductsAppOptions): Express {
  const { db, nc } = options;
  const events = createProductEvents(createEventPublisher(nc, PRODUCTS_SOURCE));
  return createApp<ProductsApi.operations>({
    contract: loadContract("products"),
    handlers: {
      ...createProductHandlers({ db, events }),
      ...createStockHandlers({ db, events }),
    },
    verifyToken: options.verifyToken,
    logger: options.logger,
    validateResponses: options.validateResponses,
    readiness: {
      database: () => pingDatabase(db),
      nats: () => pingNats(nc),
    },
  });
}
