/**
 * Cursor pagination over a keyset (`createdAt`, `id`), newest first. The cursor is opaque to
 * clients: base64url of the last item's key. A tampered cursor is a 400 naming `cursor`.
 */
import { validate as isUuid } from "uuid";
import { badRequest, type HttpProblem } from "./problem.js";

/** The position after which the next page starts. */
export interface CursorKey {
  createdAt: Date;
  id: string;
}

/** Encodes a keyset position as an opaque cursor (base64url, RFC 4648 section 5). */
export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify([key.createdAt.toISOString(), key.id])).toString("base64url");
}

/**
 * Decodes a cursor made by {@link encodeCursor}.
 * @throws HttpProblem 400 naming the `cursor` query parameter when it is not one.
 */
export function decodeCursor(cursor: string): CursorKey {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [
      string,
      string,
    ];
    const date = new Date(createdAt);
    if (typeof id !== "string" || Number.isNaN(date.getTime())) throw new Error("bad cursor");
    return { createdAt: date, id };
  } catch {
    throw invalidCursor();
  }
}

/** The 400 Problem naming the `cursor` query parameter: not a cursor this API returned. */
export function invalidCursor(): HttpProblem {
  return badRequest("The cursor is not one this API returned.", [
    { location: "query", field: "cursor", message: "is not a valid cursor" },
  ]);
}

/**
 * The keyset position of a `cursor` query parameter over rows keyed by (`created_at`, UUID `id`),
 * if one was given. Beyond {@link decodeCursor}'s shape check, a tampered id or time must not
 * reach PostgreSQL, which would reject a non-UUID id or a year outside its range (4713 BC to
 * 294276 AD) with an error rather than a 400.
 * @throws HttpProblem 400 naming `cursor` when it is not one this API returned.
 */
export function keysetCursorAfter(cursor: string | undefined): CursorKey | undefined {
  if (cursor === undefined) return undefined;
  const position = decodeCursor(cursor);
  const year = position.createdAt.getUTCFullYear();
  if (!isUuid(position.id) || year < 1 || year > 9999) throw invalidCursor();
  return position;
}

/**
 * Splits `limit + 1` fetched rows into a page and the cursor of the next one.
 * @param rows rows fetched with `limit + 1`, in page order.
 */
export function toPage<T extends CursorKey, Out>(
  rows: T[],
  limit: number,
  map: (row: T) => Out,
): { items: Out[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map(map),
    nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
  };
}
