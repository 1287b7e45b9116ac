/** The complete handler map of contracts/users.yaml. */
import type { UsersApi } from "@portico/contracts";
import type { Handlers } from "@portico/kit";
import { type ApiKeyHandlerDeps, apiKeyHandlers } from "./api-keys.js";
import { type AuthHandlerDeps, authHandlers } from "./auth.js";
import { type UserHandlerDeps, userHandlers } from "./users.js";

/** Everything the handlers need. */
export type HandlerDeps = UserHandlerDeps & AuthHandlerDeps & ApiKeyHandlerDeps;

/** One handler per operationId of the users contract. */
export function createHandlers(deps: HandlerDeps): Handlers<UsersApi.operations> {
  return { ...userHandlers(deps), ...authHandlers(deps), ...apiKeyHandlers(deps) };
}
