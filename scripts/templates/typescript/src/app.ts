/**
 * The __name__ service's wiring: the kit's contract-driven app over this service's handlers.
 * Shared by `main.ts` and the integration tests so both run exactly the same thing.
 */
import { loadContract } from "@portico/contracts";
import type * as __Name__Api from "@portico/contracts/generated/__name__.js";
import { createApp, type Logger, pingDatabase, type TokenVerifier } from "@portico/kit";
import type { Express } from "express";
import type { Kysely } from "kysely";
import { create__Name__Handlers } from "./handlers/__name__.js";
import type { Database } from "./store/schema.js";

/** What the service needs: an open (migrated) database and a token verifier. */
export interface ServiceOptions {
  db: Kysely<Database>;
  /** Called after a commit that wrote events (kicks the outbox relay). */
  committed(): void;
  verifyToken: TokenVerifier;
  logger: Logger;
  /** Validate responses against the contract (everywhere but production). */
  validateResponses: boolean;
}

/**
 * Builds the HTTP app of contracts/__name__.yaml. Events wait in the outbox until the relay
 * publishes them, so writes succeed while NATS is down; readiness checks the database only.
 * @throws Error when the handlers do not cover the contract exactly.
 */
export function createService(options: ServiceOptions): Express {
  const { db, committed } = options;
  return createApp<__Name__Api.operations>({
    contract: loadContract("__name__"),
    handlers: create__Name__Handlers({ db, committed }),
    verifyToken: options.verifyToken,
    logger: options.logger,
    validateResponses: options.validateResponses,
    readiness: { database: () => pingDatabase(db) },
  });
}
