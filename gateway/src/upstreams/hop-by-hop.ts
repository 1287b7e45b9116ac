/**
 * Hop-by-hop header fields (RFC 9110 section 7.6.1; `keep-alive` and `proxy-connection` as
 * deployed): they describe one connection, not the message, so a proxy does not forward them.
 * A module of its own, with no imports, so the benchmark's bare proxy uses the same list.
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);
