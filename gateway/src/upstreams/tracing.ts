/**
 * Tracing of the gateway's upstream calls: one CLIENT span per attempt (a retried request has
 * several), child of the request's SERVER span (kit `traceRequests`), whose W3C `traceparent`
 * replaces the caller's on the upstream request so the service's spans hang under it. While
 * tracing is off nothing happens here and the caller's `traceparent`, forwarded with the other
 * headers, reaches the service unchanged.
 */
import type { ClientRequest, IncomingMessage } from "node:http";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import {
  requestContext,
  TRACEPARENT_HEADER,
  traceHeaders,
  tracer,
  tracingEnabled,
} from "@portico/kit/core";
import type { UpstreamInstance } from "./upstream-pool.js";

/** The span of one upstream attempt: its `traceparent`, and how to follow the attempt. */
export interface AttemptSpan {
  /** The W3C `traceparent` the upstream request carries instead of the caller's. */
  traceparent: string | undefined;
  /** Ends the span when the upstream response ends, or when the attempt fails. */
  watch(proxyReq: ClientRequest): void;
}

/**
 * Starts the span of one attempt of `req` at `instance`; undefined while tracing is off. The
 * caller sends its `traceparent` with the request's headers (they are written at once) and then
 * hands it the request: the span ends when the upstream response ends, or when the attempt fails
 * (status error, exception recorded).
 * @param attempt 1 for the first attempt, 2 for the first retry, …
 */
export function startAttemptSpan(
  req: IncomingMessage,
  instance: UpstreamInstance,
  attempt: number,
): AttemptSpan | undefined {
  if (!tracingEnabled()) return undefined;
  const parent = requestContext(req);
  const requestId = (req as IncomingMessage & { id?: unknown }).id;
  const span = tracer().startSpan(
    `${req.method} ${instance.service}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        "http.request.method": req.method ?? "",
        "server.address": instance.url.hostname,
        "server.port": Number(instance.url.port || (instance.url.protocol === "https:" ? 443 : 80)),
        "portico.upstream": instance.service,
        "portico.upstream.instance": instance.ordinal,
        "http.request.resend_count": attempt - 1,
        ...(typeof requestId === "string" ? { "portico.request_id": requestId } : {}),
      },
    },
    parent,
  );
  const traceparent = traceHeaders(trace.setSpan(parent, span))[TRACEPARENT_HEADER];

  let ended = false;
  const end = (error?: unknown) => {
    if (ended) return;
    ended = true;
    if (error !== undefined) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  };
  const watch = (proxyReq: ClientRequest) => {
    let answered = false;
    proxyReq.once("response", (res: IncomingMessage) => {
      answered = true;
      const status = res.statusCode ?? 0;
      span.setAttribute("http.response.status_code", status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      res.once("close", () => end());
    });
    proxyReq.once("error", (err) => end(err));
    proxyReq.once("close", () => {
      // Closed without a response (destroyed, aborted): the error listener above saw why.
      if (!answered) end(new Error("no response"));
    });
  };
  return { traceparent, watch };
}
