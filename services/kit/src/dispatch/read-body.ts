/** Reading a request body of a declared length on a bare `node:http` request. */
import type { IncomingMessage } from "node:http";

/**
 * Reads a body of `length` bytes (its `Content-Length`, which Node's parser enforces), then calls
 * `done` with it; an aborted upload ends in `close` without `end`, and `done` is never called.
 */
export function readBody(req: IncomingMessage, length: number, done: (body: Buffer) => void): void {
  const body = Buffer.allocUnsafe(length);
  let filled = 0;
  req.on("data", (chunk: Buffer) => {
    chunk.copy(body, filled);
    filled += chunk.length;
  });
  req.once("end", () => done(filled === length ? body : body.subarray(0, filled)));
}
