/**
 * The whole-request deadline (`REQUEST_TIMEOUT_MS`): a request whose response has not started
 * that long after it arrived — slow body, slow credential check, slow upstream, all counted
 * together — is answered with a 504 Problem. A response that has started (a stream such as
 * Server-Sent Events) is left alone: its status is already on the wire.
 *
 * After the 504 nothing more happens on the request's behalf: {@link deadlineGuard} stops it
 * before it is forwarded; an upstream exchange already under way is abandoned (its late answer
 * is discarded, and the proxy's own `UPSTREAM_TIMEOUT_MS` bounds it), and its owner may stop it
 * at once through {@link onDeadline}.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpProblem } from "@portico/kit/core";
import type { ErrorRequestHandler, Request, RequestHandler, Response } from "express";

const DEADLINE = Symbol("portico.deadline");

interface Deadline {
  expired: boolean;
  /** Made when the first listener comes (most requests have none). */
  listeners: (() => void)[] | undefined;
}

type DeadlineRequest = IncomingMessage & { [DEADLINE]?: Deadline };

/** Whether `req`'s deadline passed (it was answered with 504). */
export function deadlinePassed(req: IncomingMessage): boolean {
  return (req as DeadlineRequest)[DEADLINE]?.expired === true;
}

/**
 * Calls `listener` when `req`'s deadline passes (at once when it already has), e.g. to abort an
 * upstream request that is no longer awaited.
 */
export function onDeadline(req: IncomingMessage, listener: () => void): void {
  const deadline = (req as DeadlineRequest)[DEADLINE];
  if (!deadline) return;
  if (deadline.expired) listener();
  else {
    deadline.listeners ??= [];
    deadline.listeners.push(listener);
  }
}

/** The Problem answered when the deadline passes. */
export function requestTimeoutProblem(timeoutMs: number): HttpProblem {
  return new HttpProblem(504, `The request was not answered within ${timeoutMs} ms.`);
}

/** The whole-request deadline, started per request. */
export interface RequestDeadline {
  /**
   * Middleware starting the deadline of each request (cleared when its response closes); takes
   * bare `node:http` objects. Does nothing when the request's deadline runs already (started by
   * the fast lane before it handed the request over).
   */
  (req: IncomingMessage, res: ServerResponse, next: () => void): void;
  /**
   * Starts the deadline of `req` without watching its response: the caller clears the returned
   * timer when the response closes (the fast lane's one `close` listener).
   */
  start(req: IncomingMessage, res: ServerResponse): NodeJS.Timeout;
}

/**
 * The deadline of each request. When it passes before the response started, `renderProblem`
 * answers 504 (with `Connection: close`: the rest of a slow request body is not read) and the
 * deadline's listeners run.
 * @param renderProblem the app's Problem renderer (its error middleware).
 */
export function requestDeadline(
  timeoutMs: number,
  renderProblem: ErrorRequestHandler,
): RequestDeadline {
  const start = (req: IncomingMessage, res: ServerResponse) => {
    const deadline: Deadline = { expired: false, listeners: undefined };
    (req as DeadlineRequest)[DEADLINE] = deadline;
    const timer = setTimeout(() => {
      if (res.headersSent || res.writableEnded) return;
      deadline.expired = true;
      res.setHeader("Connection", "close");
      renderProblem(
        requestTimeoutProblem(timeoutMs),
        req as Request,
        res as Response,
        () => undefined,
      );
      const listeners = deadline.listeners ?? [];
      deadline.listeners = undefined;
      for (const listener of listeners) listener();
    }, timeoutMs);
    timer.unref();
    return timer;
  };
  const middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    // Started already when the fast lane handed the request over: it runs from the arrival.
    if ((req as DeadlineRequest)[DEADLINE]) {
      next();
      return;
    }
    const timer = start(req, res);
    // `close` follows `finish` on every response (and comes alone when the client left).
    res.once("close", () => clearTimeout(timer));
    next();
  };
  return Object.assign(middleware, { start });
}

/**
 * Middleware placed before forwarding: a request whose deadline passed (already answered 504)
 * goes no further, so an upstream never receives a request its client was told timed out.
 */
export function deadlineGuard(): RequestHandler {
  return (req: Request, _res: Response, next) => {
    if (!deadlinePassed(req)) next();
  };
}
