/** The notifications HTTP app: contracts/notifications.yaml routed to its handlers by the kit. */
import { loadContract, type NotificationsApi } from "@portico/contracts";
import { createApp, type Logger, type ReadinessCheck, type TokenVerifier } from "@portico/kit";
import { createHandlers, type HandlerDeps } from "./handlers/index.js";

/** What the app needs; tests pass the same things main.ts does. */
export interface NotificationsAppDeps extends HandlerDeps {
  verifyToken: TokenVerifier;
  logger: Logger;
  /** Validate responses against the contract (everywhere but production). */
  validateResponses: boolean;
  /** Named readiness checks for `/readyz` (database, NATS). */
  readiness: Record<string, ReadinessCheck>;
}

/**
 * Builds the Express app.
 * @throws Error when the handlers do not match the contract's operationIds.
 */
export function createService(deps: NotificationsAppDeps): ReturnType<typeof createApp> {
  return createApp<NotificationsApi.operations>({
    contract: loadContract("notifications"),
    handlers: createHandlers(deps),
    verifyToken: deps.verifyToken,
    logger: deps.logger,
    validateResponses: deps.validateResponses,
    readiness: deps.readiness,
  });
}
