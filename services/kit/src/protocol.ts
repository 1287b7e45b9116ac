/**
 * HTTP/1.1 protocol hygiene in every Portico server (the gateway and each service, through
 * {@link createHttpServer}), before anything else looks at a request, each refusal an RFC 9457
 * Problem instead of Node.js's bare answer or a closed socket:
 * - a request without `Host`, or with more than one, is answered 400 (RFC 9112 section 3.2: "A
 *   server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1 request message that
 *   lacks a Host header field and to any request message that contains more than one Host header
 *   field line or a Host header field with an invalid field value");
 * - a request line with another major version than 1 (`HTTP/2.0` sent as text) is answered 505
 *   (RFC 9110 section 15.6.6);
 * - `CONNECT` (a tunnel, which no Portico server opens) is answered 405 with `Allow` naming no
 *   method it serves for that target, instead of Node's closing the socket.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { HttpProblem, PROBLEM_CONTENT_TYPE } from "./problem.js";

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** Why `req` breaks the protocol rules above, as a Problem; undefined when it does not. */
export function protocolViolation(req: IncomingMessage): HttpProblem | undefined {
  if (req.httpVersionMajor !== 1) {
    return new HttpProblem(505, "Only HTTP/1.0 and HTTP/1.1 are served here.");
  }
  let hosts = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).length === 4 && (raw[i] as string).toLowerCase() === "host") hosts += 1;
  }
  if (hosts > 1) return new HttpProblem(400, "A request carries exactly one Host header.");
  if (hosts === 0 && req.httpVersionMinor === 1) {
    return new HttpProblem(400, "An HTTP/1.1 request needs a Host header.");
  }
  return undefined;
}

/** Sends `problem` as the response and closes the connection. */
function sendProblem(req: IncomingMessage, res: ServerResponse, problem: HttpProblem): void {
  const body = JSON.stringify(problem.toBody(req.url));
  res.writeHead(problem.status, {
    "Content-Type": PROBLEM_CONTENT_TYPE,
    "Content-Length": Buffer.byteLength(body),
    Connection: "close",
  });
  res.end(body);
}

/** Wraps `listener` so that requests breaking the protocol rules are refused first. */
export function protocolGuard(listener: Listener): Listener {
  return (req, res) => {
    const problem = protocolViolation(req);
    if (problem) sendProblem(req, res, problem);
    else listener(req, res);
  };
}

/**
 * Makes `server` leave the `Host` rules to {@link protocolGuard} (Node.js would answer a missing
 * one with a bodiless 400 itself) and answer `CONNECT` with a 405 Problem.
 */
export function hardenServer(server: Server): void {
  (server as Server & { requireHostHeader?: boolean }).requireHostHeader = false;
  server.on("connect", (req: IncomingMessage, socket: Duplex) => {
    const problem = new HttpProblem(405, "CONNECT is not served here: this is not a proxy.");
    const body = JSON.stringify(problem.toBody(req.url));
    socket.end(
      [
        `HTTP/1.1 405 ${problem.title}`,
        `Content-Type: ${PROBLEM_CONTENT_TYPE}`,
        `Content-Length: ${Buffer.byteLength(body)}`,
        "Allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
        "Connection: close",
        "",
        body,
      ].join("\r\n"),
    );
  });
}
