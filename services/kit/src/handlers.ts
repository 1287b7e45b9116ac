/**
 * Handler types derived from the `operations` interface that openapi-typescript generates for a
 * contract. A handler map must hold exactly one function per operationId (a missing one is a
 * compile error), each may only return a status and body its operation declares.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Principal } from "./auth.js";
import type { Logger } from "./logger.js";

type Part<Op, K extends string> = Op extends { parameters: infer P }
  ? K extends keyof P
    ? [NonNullable<P[K]>] extends [never]
      ? Record<string, never>
      : NonNullable<P[K]>
    : Record<string, never>
  : Record<string, never>;

type ContentBody<C> = C extends object ? C[keyof C] : undefined;

/** The request body type of an operation (`undefined` when it takes none). */
export type RequestBody<Op> = Op extends { requestBody: infer B }
  ? NonNullable<B> extends { content: infer C }
    ? ContentBody<C>
    : undefined
  : undefined;

type ResponseBody<R> = R extends { content: infer C } ? ContentBody<C> : undefined;

/** One declared response of an operation: `{ status, body, headers? }`. */
export type HandlerResult<Op> = Op extends { responses: infer Rs }
  ? {
      [S in keyof Rs]: ResponseBody<Rs[S]> extends undefined
        ? { status: S; body?: undefined; headers?: Record<string, string> }
        : { status: S; body: ResponseBody<Rs[S]>; headers?: Record<string, string> };
    }[keyof Rs]
  : never;

/** What a handler receives: the request already validated (and coerced) against the contract. */
export interface HandlerInput<Op> {
  path: Part<Op, "path">;
  query: Part<Op, "query">;
  body: RequestBody<Op>;
  headers: IncomingHttpHeaders;
  /** The authenticated caller; set whenever the operation declares security. */
  principal: Principal | undefined;
  /** The `X-Request-Id` of this request (propagate it to NATS headers). */
  requestId: string;
  /** Logger bound to this request. */
  log: Logger;
}

/** The function implementing one operation. Throw HttpProblem for errors. */
export type Handler<Op> = (input: HandlerInput<Op>) => Promise<HandlerResult<Op>>;

/** One handler per operationId of a contract's generated `operations` interface. */
export type Handlers<Ops> = { [K in keyof Ops]: Handler<Ops[K]> };
