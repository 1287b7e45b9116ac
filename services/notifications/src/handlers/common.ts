/** Pieces shared by the handlers: the caller's id and cursor decoding. */
import {
  badRequest,
  type CursorKey,
  decodeCursor,
  type Principal,
  unauthorized,
} from "@portico/kit";
import { validate as isUuid } from "uuid";

/**
 * The signed-in caller's user id. Every operation of this contract requires `bearerAuth`, so
 * the kit always sets the principal; the check keeps a misconfigured contract from leaking data.
 * @throws HttpProblem 401 when there is no principal.
 */
export function callerId(principal: Principal | undefined): string {
  if (!principal) throw unauthorized();
  return principal.userId;
}

/**
 * The keyset position of a `cursor` query parameter, if given.
 * @throws HttpProblem 400 naming `cursor` when it is not one this service returned.
 */
export function cursorAfter(cursor: string | undefined): CursorKey | undefined {
  if (cursor === undefined) return undefined;
  const key = decodeCursor(cursor);
  // A well-formed cursor whose id is not a UUID was not made here; reject it before SQL does.
  if (!isUuid(key.id)) {
    throw badRequest("The cursor is not one this API returned.", [
      { location: "query", field: "cursor", message: "is not a valid cursor" },
    ]);
  }
  return key;
}

/** Page size when the request gives none (the contract's default). */
export const DEFAULT_PAGE_SIZE = 20;
