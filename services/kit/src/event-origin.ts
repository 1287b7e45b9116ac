/**
 * The origin of the events a handler writes: the request id and W3C trace context of the request
 * being served, kept in an AsyncLocalStorage so that the outbox (`enqueueEvent`) reads them
 * itself. The kit's app sets it around every handler of a method that may change state (see
 * {@link withRequestOrigin}); nothing here loads the database side.
 *
 * Why the storage is enabled only while an origin is entered: on Node 20 an enabled
 * AsyncLocalStorage installs async hooks that run on every promise of the process (init, before,
 * after), whether or not anything is stored. The benchmark's profile of `getCurrentUser`
 * (docs/benchmarks.md, issue 14) charged them about 10 % of the request's CPU, plus the garbage
 * they leave. Node 24's AsyncContextFrame makes them cheap; Node 20 needs them switched off.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";

/** Where the events written while serving a request come from: published as NATS headers. */
export interface EventOrigin {
  /** `X-Request-Id` of the request. */
  requestId: string;
  /** Its W3C `traceparent`, when it carried a well-formed one (see {@link traceparentOf}). */
  traceparent?: string | undefined;
}

const origins = new AsyncLocalStorage<EventOrigin>();
/** Calls of {@link withEventOrigin} whose `fn` has not settled yet. */
let entered = 0;

/** Leaves one origin; the last one out disables the storage (and with it Node 20's hooks). */
function leave(): void {
  entered -= 1;
  // Node defers removing the promise hooks to a microtask, so this is safe between a promise's
  // before and after hooks (lib/internal/async_hooks.js, disableHooks).
  if (entered === 0) origins.disable();
}

/**
 * Runs `fn` with `origin` as the origin of every event {@link enqueueEvent} writes within it (its
 * async continuations included, until the promise it returns settles). The kit's app runs each
 * handler in its request's origin, so a handler never passes the request id or trace context to
 * the outbox itself. The storage is enabled while any such `fn` runs and disabled when the last
 * settles: a continuation of `fn` scheduled to run after that (a timer it did not await) may see
 * none.
 * @returns what `fn` returns; `fn`'s error is rethrown.
 */
export function withEventOrigin<T>(origin: EventOrigin, fn: () => T): T {
  entered += 1;
  let result: T;
  try {
    result = origins.run(origin, fn);
  } catch (error) {
    leave();
    throw error;
  }
  if (typeof (result as PromiseLike<unknown> | undefined)?.then === "function") {
    (result as PromiseLike<unknown>).then(leave, leave);
  } else {
    leave();
  }
  return result;
}

/** Methods that cannot change state (RFC 9110 section 9.2.1): their handlers write no events. */
const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

/**
 * Runs the handler call `fn` of `req` in the request's event origin (`requestId`, and its
 * `traceparent` when well-formed: {@link traceparentOf}), as the kit's app and dispatcher do for
 * every request they hand to a handler. A safe method (GET, HEAD, OPTIONS, TRACE) runs without
 * one: by RFC 9110 it changes no state, so it announces none, and it saves the read path the cost
 * of the storage. An event a safe method's handler writes anyway is still published, without the
 * request's id and trace context.
 * @returns what `fn` returns.
 */
export function withRequestOrigin<T>(req: IncomingMessage, requestId: string, fn: () => T): T {
  if (SAFE_METHODS.has(req.method ?? "GET")) return fn();
  return withEventOrigin({ requestId, traceparent: traceparentOf(req.headers) }, fn);
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
