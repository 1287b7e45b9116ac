/**
 * The response head of a request the fast lane took, written in one go. Setting ~20 headers one
 * by one (`res.setHeader`: a lower-cased copy of the name, a validation and an entry in the
 * response's header object each) was a measurable share of the lane's CPU profile (issue 14):
 * here the headers the gateway adds — the constant ones worked out at start (security headers)
 * and the per-request ones (request id, rate limit, cache status) — are collected in one flat
 * `[name, value, name, value, ...]` list, and the proxy writes the upstream's end-to-end headers
 * and that list with ONE `res.writeHead(status, list)`, which Node writes as is when nothing was
 * set with `setHeader` before (`_http_server.js` `writeHead`: the array goes straight to
 * `_storeHeader`, validated once).
 *
 * Every other way a lane response can start (a Problem, a cache hit, the deadline's 504, all
 * ending in `res.writeHead` through Node's implicit header) goes through {@link laneWriteHead},
 * installed on the response, so the collected headers are never lost. The upstream's headers win
 * over the gateway's of the same name, as when each was set in turn.
 */
import { type OutgoingHttpHeaders, ServerResponse } from "node:http";
import { HOP_BY_HOP_HEADERS } from "../upstreams/hop-by-hop.js";

/** Lower-case names kept (header names are few; a flood of odd ones stops being kept). */
const LOWER_NAMES_KEPT = 1_000;
const lowerNames = new Map<string, string>();

/**
 * `name` in lower case, remembered: the same few header names come by on every response, and
 * a `toLowerCase()` each time was a new string per header per response (garbage collection).
 */
function lowerCase(name: string): string {
  let lower = lowerNames.get(name);
  if (lower === undefined) {
    lower = name.toLowerCase();
    if (lowerNames.size < LOWER_NAMES_KEPT) lowerNames.set(name, lower);
  }
  return lower;
}

/** Node's own `writeHead`. */
const nodeWriteHead = ServerResponse.prototype.writeHead;

const COLLECTED = Symbol("portico.laneHeaders");
const CONSTANT = Symbol("portico.constantHeaders");
const SENT = Symbol("portico.sentHeaders");

type LaneResponse = ServerResponse & {
  /** The headers collected for the head, until it is written. */
  [COLLECTED]?: string[] | undefined;
  /** The constant headers, written before the collected ones (shared, never changed). */
  [CONSTANT]?: readonly string[] | undefined;
  /** The flat list the head was written with (for readers of `getHeaders()`). */
  [SENT]?: string[];
};

/**
 * Starts collecting the response headers of `res` after `constant` (a flat list, not copied:
 * it must not change) and makes every write of its head merge them (see the module comment).
 */
export function collectLaneHeaders(res: ServerResponse, constant: readonly string[]): void {
  (res as LaneResponse)[CONSTANT] = constant;
  (res as LaneResponse)[COLLECTED] = [];
  res.writeHead = laneWriteHead as ServerResponse["writeHead"];
}

/** Whether the lane collects `res`'s headers (its head not written yet). */
export function collectsHeaders(res: ServerResponse): boolean {
  return (res as LaneResponse)[COLLECTED] !== undefined;
}

/**
 * Adds a response header: to the lane's list when it collects `res`'s headers (each name once
 * there), else `res.setHeader` (or `appendHeader` when `append`).
 */
export function addResponseHeader(
  res: ServerResponse,
  name: string,
  value: string,
  append = false,
): void {
  const collected = (res as LaneResponse)[COLLECTED];
  if (collected !== undefined) collected.push(name, value);
  else if (append) res.appendHeader(name, value);
  else res.setHeader(name, value);
}

/**
 * The end-to-end headers of an upstream response as a flat list (`rawHeaders` without the
 * hop-by-hop ones, RFC 9110 section 7.6.1: this server's own connection handling answers the
 * client), names as the upstream wrote them.
 */
export function endToEndHeaders(rawHeaders: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (HOP_BY_HOP_HEADERS.has(lowerCase(name))) continue;
    kept.push(name, rawHeaders[i + 1] as string);
  }
  return kept;
}

/**
 * Writes the head of a proxied response: `status`, `message` and `upstream` (a flat list of the
 * upstream's end-to-end headers, see {@link endToEndHeaders}) over whatever the gateway set
 * before, the upstream's header of a name replacing the gateway's.
 */
export function writeProxiedHead(
  res: ServerResponse,
  status: number,
  message: string | undefined,
  upstream: string[],
): void {
  if (collectsHeaders(res)) {
    res.writeHead(status, message ?? "", upstream);
    return;
  }
  mergeInto(res, upstream);
  if (message) res.writeHead(status, message);
  else res.writeHead(status);
}

/** Sets a flat list of headers on `res` over those set before (same names replaced). */
function mergeInto(res: ServerResponse, headers: readonly string[]): void {
  for (let i = 0; i < headers.length; i += 2) res.removeHeader(headers[i] as string);
  for (let i = 0; i < headers.length; i += 2) {
    res.appendHeader(headers[i] as string, headers[i + 1] as string);
  }
}

/** Whether the first `length` entries of the flat list `headers` name `lowerName` (any case). */
function hasHeader(headers: readonly string[], lowerName: string, length: number): boolean {
  for (let i = 0; i < length; i += 2) {
    const name = headers[i] as string;
    if (name.length === lowerName.length && lowerCase(name) === lowerName) return true;
  }
  return false;
}

const NONE: readonly string[] = [];

/** Appends the headers of the flat list `from` whose names the first `length` entries of `to` lack. */
function appendAbsent(to: string[], from: readonly string[], length: number): void {
  for (let i = 0; i < from.length; i += 2) {
    const name = from[i] as string;
    if (!hasHeader(to, lowerCase(name), length)) to.push(name, from[i + 1] as string);
  }
}

/**
 * `res.writeHead` of a lane response: writes the collected headers with the ones given (a flat
 * list from {@link writeProxiedHead}, or none when Node writes the head implicitly), in one
 * array when nothing was set with `setHeader` before, else merged into those.
 */
function laneWriteHead(
  this: LaneResponse,
  statusCode: number,
  reason?: string | unknown,
  headers?: unknown,
): ServerResponse {
  const constant = this[CONSTANT] ?? NONE;
  const collected = this[COLLECTED] ?? [];
  this[CONSTANT] = undefined;
  this[COLLECTED] = undefined;
  const message = typeof reason === "string" && reason !== "" ? reason : undefined;
  const given = typeof reason === "string" ? headers : reason;
  const write = nodeWriteHead as (this: ServerResponse, ...args: unknown[]) => ServerResponse;
  let merged: string[];
  let upstreamLength = 0;
  if (Array.isArray(given)) {
    merged = given as string[];
    upstreamLength = merged.length;
    appendAbsent(merged, constant, upstreamLength);
    appendAbsent(merged, collected, upstreamLength);
  } else {
    if (given && typeof given === "object") {
      for (const [name, value] of Object.entries(given as OutgoingHttpHeaders)) {
        if (value !== undefined) this.setHeader(name, value);
      }
    }
    merged = constant.concat(collected);
  }
  if (this.getHeaderNames().length === 0) {
    this[SENT] = merged;
    return message
      ? write.call(this, statusCode, message, merged)
      : write.call(this, statusCode, merged);
  }
  // Headers set one by one before (a Problem's, CORS): merged into those (an array given to
  // Node's writeHead then would be set name by name, collapsing repeated names).
  for (let i = 0; i < upstreamLength; i += 2) this.removeHeader(merged[i] as string);
  for (let i = 0; i < merged.length; i += 2) {
    const name = merged[i] as string;
    if (i < upstreamLength || !this.hasHeader(name)) {
      this.appendHeader(name, merged[i + 1] as string);
    }
  }
  return message ? write.call(this, statusCode, message) : write.call(this, statusCode);
}

/**
 * The headers `res` was sent with, by lower-cased name, whichever way its head was written (for
 * readers of `getHeaders()`, which misses the ones written as one list).
 */
export function sentHeaders(res: ServerResponse): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { ...res.getHeaders() };
  const sent = (res as LaneResponse)[SENT];
  if (sent) {
    for (let i = 0; i < sent.length; i += 2) {
      const name = (sent[i] as string).toLowerCase();
      const value = sent[i + 1] as string;
      const known = headers[name];
      headers[name] =
        known === undefined
          ? value
          : Array.isArray(known)
            ? [...known, value]
            : [String(known), value];
    }
  }
  return headers;
}
