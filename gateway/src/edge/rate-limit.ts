/**
 * Rate limiting at the gateway (express-rate-limit), per principal: a signed-in user (the token's
 * `sub`), a service account (its API key's id), or — without valid credentials — the client's
 * address (`req.ip`, which honours `TRUST_PROXY`; IPv6 clients by /56, as one host usually holds
 * a whole prefix). Every answer carries the IETF draft-8 `RateLimit` and `RateLimit-Policy`
 * headers; over the limit the answer is a 429 Problem with `Retry-After`. The counters live in
 * memory by default, or in a NATS KV bucket shared by every gateway instance.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpProblem, type Logger } from "@portico/kit/core";
import type { Request, RequestHandler } from "express";
import { ipKeyGenerator, MemoryStore, type Options, type Store } from "express-rate-limit";
import { addResponseHeader } from "../pipeline/lane-response.js";
import type { Caller } from "./auth.js";

/** Options of {@link createRateLimiter}. */
export interface RateLimiterOptions {
  /** Window length in ms. */
  windowMs: number;
  /** Requests per window for each user or API key; 0: unlimited. */
  max: number;
  /** Requests per window for each anonymous client address; 0: unlimited. */
  anonymousMax: number;
  /** Where the counters live; default express-rate-limit's MemoryStore (this process). */
  store?: Store;
  /** Who is calling (see `identifyCaller`; synchronous when the request carries no credentials). */
  identify: (req: Request) => Caller | Promise<Caller>;
  logger: Logger;
  /** Called for each request refused with 429 (e.g. to count it). */
  onLimited?: (req: Request, caller: Caller) => void;
  /**
   * The client's address of a bare `node:http` request (which has no Express `req.ip`), with
   * the same `trust proxy` rule (see `createFastLane`).
   */
  clientAddress?: (req: IncomingMessage) => string | undefined;
}

/** A rate limiter and its store's shutdown. */
export interface RateLimiter {
  /** The middleware; it also takes bare `node:http` objects (the fast lane's). */
  handler: RequestHandler;
  /** Shuts the store down (the memory store's cleanup timer); call on shutdown. */
  close: () => Promise<void>;
}

/**
 * The counter key of a caller: `user:<sub>`, `key:<api key id>`, or `ip:<address>` (IPv6 by its
 * /56 prefix) for an anonymous one.
 */
export function rateLimitKey(caller: Caller, ip: string | undefined): string {
  if (caller.kind === "user") return `user:${caller.id}`;
  if (caller.kind === "apiKey") return `key:${caller.id}`;
  return `ip:${ipKeyGenerator(ip ?? "unknown")}`;
}

/** The name of the policy that applies to a caller, as the headers show it. */
export function rateLimitPolicy(caller: Caller): "principal" | "anonymous" {
  return caller.kind === "anonymous" ? "anonymous" : "principal";
}

/**
 * A logger that reports each kind of message at most once per `everyMs`:
 * with a shared store that is down, every request would log the same error.
 */
function throttledLogger(logger: Logger, everyMs = 10_000) {
  const last = new Map<string, number>();
  const log = (level: "warn" | "error") => (error: unknown, message?: string) => {
    const kind = `${level}:${message ?? (error instanceof Error ? error.message : String(error))}`;
    const now = Date.now();
    if ((last.get(kind) ?? -Infinity) > now - everyMs) return;
    last.set(kind, now);
    logger[level]({ err: error }, message ?? "rate limiter");
  };
  return { warn: log("warn"), error: log("error") };
}

/**
 * The IETF draft-8 partition key of a counter key (draft-ietf-httpapi-ratelimit-headers-08
 * section 3.1 `pk`, an opaque byte sequence): as express-rate-limit derives it, base64 of the
 * first 12 hex digits of the key's SHA-256, so the key itself (a user id, an address) is not
 * disclosed.
 */
export function partitionKey(key: string): string {
  const digest = createHash("sha256").update(key).digest("hex").slice(0, 12);
  return Buffer.from(digest).toString("base64");
}

/** Keys remembered per caller (the same callers come back), at most. */
const KEYS_KEPT = 10_000;

/** `derive` with its answers remembered, forgetting all at once past {@link KEYS_KEPT}. */
function remembered<K, V>(derive: (key: K) => V): (key: K) => V {
  const known = new Map<K, V>();
  return (key) => {
    if (known.has(key)) return known.get(key) as V;
    if (known.size >= KEYS_KEPT) known.clear();
    const value = derive(key);
    known.set(key, value);
    return value;
  };
}

/**
 * Builds the gateway's rate limiter; undefined when both limits are 0. A store that fails (NATS
 * down) lets requests through, logged at most every 10 s: an outage of the counters must not
 * become an outage of the API.
 *
 * The counting runs on express-rate-limit's store interface (its `MemoryStore`, or the NATS KV
 * store) and sets the same draft-8 headers its middleware does; the middleware itself is not
 * used, because its per-request work (a chain of awaits, a SHA-256 per request) was the largest
 * share of the fast lane's CPU profile (docs/benchmarks.md).
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter | undefined {
  const { windowMs, max, anonymousMax } = options;
  if (max === 0 && anonymousMax === 0) return undefined;
  const limitOf = (caller: Caller) => (caller.kind === "anonymous" ? anonymousMax : max);
  const store = options.store ?? new MemoryStore();
  store.init?.({ windowMs } as Options);
  const log = throttledLogger(options.logger);
  const windowSeconds = Math.ceil(windowMs / 1000);
  const addressOf = (req: IncomingMessage) =>
    "ip" in req ? (req as Request).ip : options.clientAddress?.(req);
  // The counter key of each anonymous address, worked out once (IPv6 prefixes take a regex).
  const anonymousKeyOf = remembered((address: string | undefined) =>
    rateLimitKey({ kind: "anonymous" }, address),
  );
  const keyOf = (caller: Caller, req: IncomingMessage) =>
    caller.kind === "anonymous" ? anonymousKeyOf(addressOf(req)) : rateLimitKey(caller, undefined);

  // The `RateLimit-Policy` value of each counter key: the same for every request of a caller.
  const policyHeaderOf = remembered((key: string) => {
    const anonymous = key.startsWith("ip:");
    const name = anonymous ? "anonymous" : "principal";
    return `"${name}"; q=${anonymous ? anonymousMax : max}; w=${windowSeconds}; pk=:${partitionKey(key)}:`;
  });

  /**
   * Counts the request of `caller` on the store's answer `info`: sets the headers, and returns
   * the 429 Problem when it is over the limit.
   */
  const counted = (
    req: IncomingMessage,
    res: ServerResponse,
    caller: Caller,
    key: string,
    limit: number,
    info: { totalHits: number; resetTime?: Date | undefined },
  ) => {
    const resetSeconds = info.resetTime
      ? Math.max(0, Math.ceil((info.resetTime.getTime() - Date.now()) / 1000))
      : windowSeconds;
    if (!res.headersSent) {
      const remaining = Math.max(limit - info.totalHits, 0);
      addResponseHeader(
        res,
        "RateLimit",
        `"${rateLimitPolicy(caller)}"; r=${remaining}; t=${resetSeconds}`,
        true,
      );
      addResponseHeader(res, "RateLimit-Policy", policyHeaderOf(key), true);
    }
    if (info.totalHits <= limit) return undefined;
    options.onLimited?.(req as Request, caller);
    const retryAfter = String(resetSeconds);
    return new HttpProblem(
      429,
      `Too many requests: at most ${limit} per ${windowMs / 1000} s for this ${
        caller.kind === "anonymous" ? "client address" : "caller"
      }. Retry after ${retryAfter} s.`,
      { headers: { "Retry-After": retryAfter } },
    );
  };

  /**
   * Counts the request of `caller`, then calls `next` (with the 429 Problem when it is over the
   * limit). One promise per request, the store's: this runs for every request of the fast lane.
   */
  const count = (
    req: IncomingMessage,
    res: ServerResponse,
    caller: Caller,
    next: (err?: unknown) => void,
  ) => {
    const limit = limitOf(caller);
    if (limit === 0) {
      next();
      return;
    }
    const key = keyOf(caller, req);
    let increment: ReturnType<Store["increment"]>;
    try {
      increment = store.increment(key);
    } catch (err) {
      storeFailed(err, next);
      return;
    }
    Promise.resolve(increment).then(
      (info) => {
        let problem: HttpProblem | undefined;
        try {
          problem = counted(req, res, caller, key, limit, info);
        } catch (err) {
          next(err);
          return;
        }
        next(problem);
      },
      (err: unknown) => storeFailed(err, next),
    );
  };
  const storeFailed = (err: unknown, next: (err?: unknown) => void) => {
    log.error(err, "rate limit store failed: request let through unlimited");
    next();
  };

  /** Who is calling: anonymous when identifying fails. */
  const identify = (req: IncomingMessage): Caller | Promise<Caller> => {
    try {
      const identified = options.identify(req as Request);
      return identified instanceof Promise
        ? identified.catch((): Caller => ({ kind: "anonymous" }))
        : identified;
    } catch {
      return { kind: "anonymous" };
    }
  };

  return {
    handler: (req, res, next) => {
      const caller = identify(req);
      if (caller instanceof Promise) {
        caller.then((known) => count(req, res, known, next), next);
      } else count(req, res, caller, next);
    },
    close: async () => {
      await store.shutdown?.();
    },
  };
}
