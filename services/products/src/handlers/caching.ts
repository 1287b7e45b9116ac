/**
 * HTTP caching of the public catalogue reads (`getProduct`, `listProducts`): a strong `ETag`
 * computed from the representation, `Cache-Control`, and a 304 for a matching `If-None-Match`.
 */
import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import fresh from "fresh";

/**
 * `Cache-Control` of the public reads (RFC 9111 section 5.2.2): any cache (a browser, a CDN) may
 * store the answer but must revalidate it before each reuse. Only the gateway learns of a change
 * the moment it happens (from the event stream); a `max-age`, even with `stale-while-revalidate`,
 * would let a downstream cache serve a product older than that stream. Revalidation is cheap: the
 * gateway answers `If-None-Match` from its event-invalidated cache with a 304.
 */
export const PUBLIC_READ_CACHE_CONTROL = "public, max-age=0, must-revalidate";

/**
 * The strong entity tag (RFC 9110 section 8.8.3) of a JSON representation: the base64url SHA-256
 * of its serialisation (128 bits kept), quoted. Equal bodies give equal tags on every instance;
 * any change of the body (a field, the stock, the representation's format) changes the tag.
 */
export function strongEtag(body: unknown): string {
  const digest = createHash("sha256").update(JSON.stringify(body)).digest("base64url");
  return `"${digest.slice(0, 22)}"`;
}

/** A cacheable answer: the representation, or 304 when the client already holds it. */
export type ConditionalResult<B> =
  | { status: 200; body: B; headers: Record<string, string> }
  | { status: 304; headers: Record<string, string> };

/**
 * Answers a public read: 200 with `body`, its `ETag` and `Cache-Control`, or 304 with the same
 * headers and no body when `If-None-Match` lists that tag or `*` (RFC 9110 section 13.1.2, weak
 * comparison, evaluated by the `fresh` package). Only the entity tags decide: this service is
 * the origin, so a request's `Cache-Control: no-cache` (which `fetch` adds to every request that
 * carries `If-None-Match`) asks it to validate, which a 304 does (RFC 9111 section 5.2.1.4).
 */
export function conditional<B>(request: IncomingHttpHeaders, body: B): ConditionalResult<B> {
  const headers = { ETag: strongEtag(body), "Cache-Control": PUBLIC_READ_CACHE_CONTROL };
  const ifNoneMatch = request["if-none-match"];
  if (
    ifNoneMatch !== undefined &&
    fresh({ "if-none-match": ifNoneMatch }, { etag: headers.ETag })
  ) {
    return { status: 304, headers };
  }
  return { status: 200, body, headers };
}
