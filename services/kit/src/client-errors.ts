/**
 * Requests Node.js's HTTP parser refuses before the app sees them — a request line and headers
 * over `maxHeaderSize` (16 KiB by default), a malformed request — answered as RFC 9457 Problems
 * like every other error, instead of Node's bare status line: 431 for oversized headers (RFC 6585
 * section 5), 408 for a request not received in time, 400 otherwise. Found by contract fuzzing:
 * an `access_token` query parameter of thousands of percent-encoded characters got a bodiless 431.
 */
import type { Server } from "node:http";
import type { Duplex } from "node:stream";
import { HttpProblem, PROBLEM_CONTENT_TYPE } from "./problem.js";

/** The status Node.js itself would answer for a parser error code (see its `clientError`). */
export function clientErrorStatus(code: string | undefined): number {
  if (code === "HPE_HEADER_OVERFLOW") return 431;
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") return 408;
  return 400;
}

const DETAILS: Record<number, string> = {
  400: "The request is not valid HTTP.",
  408: "The request was not received in time.",
  431: "The request line and headers are too large.",
};

/** The raw HTTP/1.1 response of a Problem for `status`, closing the connection. */
export function clientErrorResponse(status: number): string {
  const problem = new HttpProblem(status, DETAILS[status]);
  const body = JSON.stringify(problem.toBody());
  return [
    `HTTP/1.1 ${status} ${problem.title}`,
    `Content-Type: ${PROBLEM_CONTENT_TYPE}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Connection: close",
    "",
    body,
  ].join("\r\n");
}

/** Makes `server` answer requests its parser rejects with a Problem (see the module comment). */
export function answerClientErrorsWithProblems(server: Server): void {
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    // Nothing can be written to a connection the client reset, or once a response has begun.
    const started = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage
      ?.headersSent;
    if (err.code === "ECONNRESET" || !socket.writable || started) {
      socket.destroy(err);
      return;
    }
    socket.end(clientErrorResponse(clientErrorStatus(err.code)));
  });
}
