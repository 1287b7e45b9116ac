/**
 * The products HTTP app: the kit's contract-driven Express app over this service's handlers.
 * Shared by `main.ts` and the integration tests so both run exactly the same thing.
 */
import { loadContract, type ProductsApi } from "@portico/contracts";
import {
  type ApiKeyVerifier,
  createApp,
  type Logger,
  pingDatabase,
  type TokenVerifier,
} from "@portico/kit";
import type { Express } from "express";
import type { Kysely } from "kysely";
import type { ProductEvents } from "./events.js";
import { createProductHandlers } from "./handlers/products.js";
import { createReviewHandlers } from "./handlers/reviews.js";
import { createStockHandlers } from "./handlers/stock.js";
import type { Database } from "./store/schema.js";

/** What the app needs: an open (migrated) database, the outbox events, a token verifier. */
export interface ProductsAppOptions {
  db: Kysely<Database>;
  /** Writes each change's events into the outbox (`createProductEvents`). */
  events: ProductEvents;
  verifyToken: TokenVerifier;
  /** Verifies service accounts' API keys (`createApiKeyVerifier`); without it they get 401. */
  verifyApiKey?: ApiKeyVerifier;
  logger: Logger;
  /** Validate responses against the contract (everywhere but production). */
  validateResponses: boolean;
}

/**
 * Builds the products app (contracts/products.yaml). It needs no NATS connection: events wait in
 * the outbox until the relay publishes them, so writes succeed while NATS is down, and readiness
 * checks the database only.
 * @throws Error when the handlers do not cover the contract exactly.
 */
export function createService(options: ProductsAppOptions): Express {
  const { db, events } = options;
  return createApp<ProductsApi.operations>({
    contract: loadContract("products"),
    handlers: {
      ...createProductHandlers({ db, events }),
      ...createStockHandlers({ db, events }),
      ...createReviewHandlers({ db, events }),
    },
    verifyToken: options.verifyToken,
    ...(options.verifyApiKey ? { verifyApiKey: options.verifyApiKey } : {}),
    logger: options.logger,
    validateResponses: options.validateResponses,
    readiness: { database: () => pingDatabase(db) },
  });
}
