/**
 * Resilience per upstream service, with cockatiel: bounded retries with exponential back-off, and
 * a circuit breaker that fails fast while the service keeps failing.
 *
 * - Retries: a request whose connection was never established (refused, unreachable) is retried
 *   whatever its method, since the service never saw it. Beyond that only idempotent methods
 *   (RFC 9110 section 9.2.2: GET, HEAD, PUT, DELETE, OPTIONS) are retried, on a 502/503/504 answer
 *   or a connection that failed mid-exchange (reset); never POST or PATCH, and never after a
 *   timeout (a slow service only gets slower with more load). Retries happen before any byte of
 *   the response reaches the client; the body re-sent is the one the gateway read once.
 * - Circuit breaker: per service (the upstream pool handles single instances: a refused
 *   connection takes that instance out, see upstream-pool.ts). Every exchange that ends in a
 *   502/503/504 answer, a timeout or a broken connection is a failure; any other answer is a
 *   success. After `breakerFailures` consecutive failures the breaker opens: requests are answered
 *   503 with `Retry-After` (the seconds until it half-opens) without calling the service. After
 *   `breakerHalfOpenMs` one trial request goes through (half-open): success closes the breaker,
 *   failure opens it again. "No instance available" is the pool's answer and does not count.
 */
import type { IncomingMessage } from "node:http";
import { HttpProblem } from "@portico/kit/core";
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  halfJitterGenerator,
  handleWhen,
  type RetryPolicy,
  retry,
} from "cockatiel";
import type { OperationTable } from "../operations/table.js";

/** Methods whose retry cannot change the outcome (RFC 9110 section 9.2.2), as Node spells them. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "PUT",
  "DELETE",
  "OPTIONS",
]);

/** Upstream statuses meaning "the service could not handle it now": retried, and breaker failures. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

/** Whether a request with `method` may be sent again after it may have reached the service. */
export function isIdempotent(method: string): boolean {
  return IDEMPOTENT_METHODS.has(method.toUpperCase());
}

/** Retry and breaker settings of every upstream (from the gateway's configuration). */
export interface ResilienceSettings {
  /** Retries after the first attempt (0: none). */
  retries: number;
  /** Back-off before the first retry, in ms (doubled for each next one, with jitter: 50–100 %). */
  retryBaseMs: number;
  /** Longest back-off, in ms. */
  retryMaxMs: number;
  /** Consecutive failed exchanges that open the breaker. */
  breakerFailures: number;
  /** How long the breaker stays open before a trial request, in ms. */
  breakerHalfOpenMs: number;
}

/** Defaults of {@link ResilienceSettings}. */
export const DEFAULT_RESILIENCE: ResilienceSettings = {
  retries: 2,
  retryBaseMs: 100,
  retryMaxMs: 1_000,
  breakerFailures: 5,
  breakerHalfOpenMs: 10_000,
};

/** The service answered 502, 503 or 504. Carries the unread response (forwarded if final). */
export class UpstreamStatusError extends Error {
  constructor(
    readonly service: string,
    readonly response: IncomingMessage,
  ) {
    super(`upstream ${service} answered ${response.statusCode}`);
  }
}

/** No instance of the service's pool can take the request now. */
export class NoInstanceError extends Error {
  constructor(readonly service: string) {
    super(`no instance of ${service} is available`);
  }
}

/** The client went away before the exchange settled: nothing to answer, nothing to count. */
export class ClientGoneError extends Error {
  constructor() {
    super("the client closed the connection");
  }
}

/** The `code` of a Node.js system error, if any. */
function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** Connection errors proving the request never reached the service. */
const NEVER_CONNECTED = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND"]);

/** Whether an exchange that ended with `err` counts as a failure of the service (breaker). */
export function isServiceFailure(err: unknown): boolean {
  return !(err instanceof NoInstanceError || err instanceof ClientGoneError);
}

/**
 * Whether an attempt that ended with `err` may be retried for a request with `method`: never
 * connected (any method); or, for idempotent methods, a 502/503/504 answer or a connection that
 * broke mid-exchange. Not after a timeout, an open breaker, no instance, or a client gone.
 */
export function isRetryable(err: unknown, method: string): boolean {
  if (NEVER_CONNECTED.has(errorCode(err) ?? "")) return true;
  if (!isIdempotent(method)) return false;
  if (err instanceof UpstreamStatusError) return true;
  // A connection reset / broken pipe / malformed answer: a system or parser error with a code.
  const code = errorCode(err);
  return code !== undefined && code !== "UPSTREAM_TIMEOUT";
}

/** Breaker state as reported on `/readyz` and `/metrics`. */
export type BreakerState = "closed" | "open" | "half-open";

/** `portico_gateway_breaker_state` value of each state (ordered by severity). */
export const BREAKER_STATE_VALUE: Readonly<Record<BreakerState, number>> = {
  closed: 0,
  "half-open": 1,
  open: 2,
};

/** The retry and breaker policies of one upstream service. */
export interface UpstreamResilience {
  readonly service: string;
  /** The breaker's state now. */
  state(): BreakerState;
  /** Seconds until the open breaker lets a trial request through (at least 1). */
  retryAfterSeconds(): number;
  /**
   * Runs `attempt` (one exchange with one instance) through the breaker, retrying it as
   * {@link isRetryable} allows for `method`, after a back-off.
   * @throws BrokenCircuitError when the breaker is open; else the last attempt's error.
   */
  execute<T>(method: string, attempt: () => Promise<T>): Promise<T>;
  /** Called with the new state whenever the breaker changes state. */
  onStateChange(listener: (state: BreakerState) => void): void;
}

const STATES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half-open",
  [CircuitState.Isolated]: "open",
};

/** Creates the breaker and retry policies of `service`. */
export function createUpstreamResilience(
  service: string,
  settings: ResilienceSettings = DEFAULT_RESILIENCE,
): UpstreamResilience {
  const breaker: CircuitBreakerPolicy = circuitBreaker(handleWhen(isServiceFailure), {
    halfOpenAfter: settings.breakerHalfOpenMs,
    breaker: new ConsecutiveBreaker(settings.breakerFailures),
  });
  let openedAt = 0;
  const listeners: ((state: BreakerState) => void)[] = [];
  breaker.onStateChange((state) => {
    if (state === CircuitState.Open) openedAt = Date.now();
    for (const listener of listeners) listener(STATES[state]);
  });

  const backoff = new ExponentialBackoff({
    generator: halfJitterGenerator,
    initialDelay: settings.retryBaseMs,
    maxDelay: settings.retryMaxMs,
  });
  const policyFor = (method: string): RetryPolicy =>
    retry(
      handleWhen((err) => isRetryable(err, method)),
      { maxAttempts: settings.retries, backoff },
    );
  // One policy per method: the retry rule depends on it (cockatiel policies are stateless).
  const policies = new Map<string, RetryPolicy>();

  return {
    service,
    state: () => STATES[breaker.state],
    retryAfterSeconds: () =>
      Math.max(1, Math.ceil((openedAt + settings.breakerHalfOpenMs - Date.now()) / 1_000)),
    execute(method, attempt) {
      // The first attempt runs through the breaker alone: most succeed, and cockatiel's retry
      // policy (two more async layers and a result object per call) is only entered once an
      // attempt failed in a way that may be retried. Its attempt 0 is then the one already
      // made, so the back-off and the bound on retries are the policy's as before.
      const first = breaker.execute(attempt);
      if (settings.retries === 0) return first;
      return first.catch((failure: unknown) => {
        if (!isRetryable(failure, method)) throw failure;
        const key = method.toUpperCase();
        let policy = policies.get(key);
        if (!policy) {
          policy = policyFor(key);
          policies.set(key, policy);
        }
        return policy.execute(({ attempt: retry }) =>
          retry === 0 ? Promise.reject(failure) : breaker.execute(attempt),
        );
      });
    },
    onStateChange: (listener) => {
      listeners.push(listener);
    },
  };
}

/** The Problem while the breaker of `service` is open: 503 with `Retry-After` in seconds. */
export function breakerOpenProblem(service: string, retryAfterSeconds: number): HttpProblem {
  return new HttpProblem(
    503,
    `The ${service} service is failing; requests to it are paused for a moment.`,
    { headers: { "Retry-After": String(retryAfterSeconds) } },
  );
}

/** Whether `err` is cockatiel's "the breaker is open" refusal. */
export function isBreakerOpen(err: unknown): boolean {
  return err instanceof BrokenCircuitError;
}

/** The resilience variables of the gateway's configuration (each optional: defaults apply). */
export interface ResilienceConfig {
  UPSTREAM_RETRIES?: number;
  UPSTREAM_RETRY_BASE_MS?: number;
  UPSTREAM_RETRY_MAX_MS?: number;
  UPSTREAM_BREAKER_FAILURES?: number;
  UPSTREAM_BREAKER_HALF_OPEN_MS?: number;
}

/** {@link ResilienceSettings} from the configuration, {@link DEFAULT_RESILIENCE} where unset. */
export function resilienceSettings(config: ResilienceConfig): ResilienceSettings {
  return {
    retries: config.UPSTREAM_RETRIES ?? DEFAULT_RESILIENCE.retries,
    retryBaseMs: config.UPSTREAM_RETRY_BASE_MS ?? DEFAULT_RESILIENCE.retryBaseMs,
    retryMaxMs: config.UPSTREAM_RETRY_MAX_MS ?? DEFAULT_RESILIENCE.retryMaxMs,
    breakerFailures: config.UPSTREAM_BREAKER_FAILURES ?? DEFAULT_RESILIENCE.breakerFailures,
    breakerHalfOpenMs: config.UPSTREAM_BREAKER_HALF_OPEN_MS ?? DEFAULT_RESILIENCE.breakerHalfOpenMs,
  };
}

/**
 * A request's own upstream timeout (`x-portico-timeout-ms`), looked up in `table` by the
 * operationId the contract validator matched; undefined when its operation has none.
 */
export function operationTimeoutOf(
  table: Pick<OperationTable, "byId">,
): (req: IncomingMessage) => number | undefined {
  return (req) => {
    const matched = req as IncomingMessage & { openapi?: { schema?: { operationId?: string } } };
    const operationId = matched.openapi?.schema?.operationId;
    return operationId ? table.byId(operationId)?.timeoutMs : undefined;
  };
}
