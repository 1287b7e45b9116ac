/**
 * The origin of the events a handler writes: the request id and W3C trace context of the request
 * being served, kept in an AsyncLocalStorage so that the outbox (`enqueueEvent`) reads them
 * itself. The kit's app sets it around every handler; nothing here loads the database side.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { IncomingHttpHeaders } from "node:http";

/** Where the events written while serving a request come from: published as NATS headers. */
export interface EventOrigin {
  /** `X-Request-Id` of the request. */
  requestId: string;
  /** Its W3C `traceparent`, when it carried a well-formed one (see {@link traceparentOf}). */
  traceparent?: string | undefined;
}

const origins = new AsyncLocalStorage<EventOrigin>();

/**
 * Runs `fn` with `origin` as the origin of every event {@link enqueueEvent} writes within it (its
 * async continuations included). The kit's app runs each handler in its request's origin, so a
 * handler never passes the request id or trace context to the outbox itself.
 */
export function withEventOrigin<T>(origin: EventOrigin, fn: () => T): T {
  return origins.run(origin, fn);
}

/** The origin set by {@link withEventOrigin} around the current call, if any. */
export function currentEventOrigin(): EventOrigin | undefined {
  return origins.getStore();
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

/**
 * The request's W3C Trace Context `traceparent` header (https://www.w3.org/TR/trace-context/
 * section 3.2) when it is well-formed (version other than `ff`, non-zero trace and parent ids),
 * else undefined: a malformed one is dropped rather than propagated.
 */
export function traceparentOf(headers: IncomingHttpHeaders): string | undefined {
  const value = headers.traceparent;
  if (typeof value !== "string") return undefined;
  const match = TRACEPARENT.exec(value.trim());
  if (!match || match[1] === "ff" || /^0+$/.test(match[2] ?? "") || /^0+$/.test(match[3] ?? "")) {
    return undefined;
  }
  return match[0];
}
