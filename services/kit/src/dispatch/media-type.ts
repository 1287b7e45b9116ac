/**
 * Media types of `Content-Type` headers (RFC 9110 section 8.3.1), as the request checks and the
 * gateway's body reader read them.
 */

/** The media type (lower case, no parameters) and `charset` of a `Content-Type` header. */
export function mediaTypeOf(contentType: string | undefined): { type: string; charset?: string } {
  const [type = "", ...params] = (contentType ?? "").split(";").map((part) => part.trim());
  const charset = params
    .map((param) => /^charset\s*=\s*"?([^";]+)"?$/i.exec(param)?.[1])
    .find((value) => value !== undefined);
  return { type: type.toLowerCase(), ...(charset ? { charset: charset.toLowerCase() } : {}) };
}

/** Whether a media type is JSON: `application/json` or a `+json` structured suffix (RFC 6839). */
export function isJsonMediaType(type: string): boolean {
  return type === "application/json" || /^application\/[^/]+\+json$/.test(type);
}
