/** Pieces shared by the handlers: the caller's id and the default page size. */
import { type Principal, unauthorized } from "@portico/kit";

/**
 * The signed-in caller's user id. Every operation of this contract requires `bearerAuth`, so
 * the kit always sets the principal; the check keeps a misconfigured contract from leaking data.
 * @throws HttpProblem 401 when there is no principal.
 */
export function callerId(principal: Principal | undefined): string {
  if (!principal) throw unauthorized();
  return principal.userId;
}

/** Page size when the request gives none (the contract's default). */
export const DEFAULT_PAGE_SIZE = 20;
