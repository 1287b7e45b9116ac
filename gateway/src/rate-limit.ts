/**
 * Rate limiting at the gateway (express-rate-limit), per principal: a signed-in user (the token's
 * `sub`), a service account (its API key's id), or — without valid credentials — the client's
 * address (`req.ip`, which honours `TRUST_PROXY`; IPv6 clients by /56, as one host usually holds
 * a whole prefix). Every answer carries the IETF draft-8 `RateLimit` and `RateLimit-Policy`
 * headers; over the limit the answer is a 429 Problem with `Retry-After`. The counters live in
 * memory by default, or in a NATS KV bucket shared by every gateway instance.
 */
import { HttpProblem, type Logger } from "@portico/kit";
import type { Request, RequestHandler } from "express";
import {
  ipKeyGenerator,
  MemoryStore,
  type Options,
  rateLimit,
  type Store,
} from "express-rate-limit";
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
  /** Who is calling (see `identifyCaller`). */
  identify: (req: Request) => Promise<Caller>;
  logger: Logger;
  /** Called for each request refused with 429 (e.g. to count it). */
  onLimited?: (req: Request, caller: Caller) => void;
}

/** A rate limiter and its store's shutdown. */
export interface RateLimiter {
  handler: RequestHandler;
  /** Shuts the store down (the memory store's cleanup timer); call on shutdown. */
  close: () => Promise<void>;
}

const CALLER = Symbol("portico.caller");
type IdentifiedRequest = Request & { [CALLER]?: Caller };

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
 * A logger for express-rate-limit that reports each kind of message at most once per `everyMs`:
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
 * Builds the gateway's rate limiter; undefined when both limits are 0. A store that fails (NATS
 * down) lets requests through, logged at most every 10 s: an outage of the counters must not
 * become an outage of the API.
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter | undefined {
  const { windowMs, max, anonymousMax } = options;
  if (max === 0 && anonymousMax === 0) return undefined;
  const callerOf = (req: Request): Caller =>
    (req as IdentifiedRequest)[CALLER] ?? { kind: "anonymous" };
  const limitOf = (caller: Caller) => (caller.kind === "anonymous" ? anonymousMax : max);
  const store = options.store ?? new MemoryStore();

  const limiterOptions: Partial<Options> = {
    windowMs,
    limit: (req) => limitOf(callerOf(req)),
    skip: (req) => limitOf(callerOf(req)) === 0,
    standardHeaders: "draft-8",
    legacyHeaders: false,
    identifier: (req) => rateLimitPolicy(callerOf(req)),
    keyGenerator: (req) => rateLimitKey(callerOf(req), req.ip),
    // rateLimitKey applies ipKeyGenerator to the address; the check only reads this source.
    validate: { keyGeneratorIpFallback: false },
    passOnStoreError: true,
    logger: throttledLogger(options.logger),
    handler: (req, res, next) => {
      const caller = callerOf(req);
      options.onLimited?.(req, caller);
      const retryAfter = String(res.getHeader("Retry-After") ?? Math.ceil(windowMs / 1000));
      next(
        new HttpProblem(
          429,
          `Too many requests: at most ${limitOf(caller)} per ${windowMs / 1000} s for this ${
            caller.kind === "anonymous" ? "client address" : "caller"
          }. Retry after ${retryAfter} s.`,
          { headers: { "Retry-After": retryAfter } },
        ),
      );
    },
    store,
  };
  const limiter = rateLimit(limiterOptions);
  return {
    handler: async (req, res, next) => {
      try {
        (req as IdentifiedRequest)[CALLER] = await options.identify(req);
      } catch {
        (req as IdentifiedRequest)[CALLER] = { kind: "anonymous" };
      }
      return limiter(req, res, next);
    },
    close: async () => {
      await store.shutdown?.();
    },
  };
}
