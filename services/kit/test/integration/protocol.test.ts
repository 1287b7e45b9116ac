/**
 * HTTP/1.1 protocol hygiene in every server the kit creates (issue 9, finding 7: the gateway
 * answered these; the services served them or closed the socket): no `Host` or two → 400 Problem
 * (RFC 9112 section 3.2), a request line of another major version → 505 Problem, `CONNECT` →
 * 405 Problem; a well-formed request reaches the application.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createLogger } from "../../src/logger.js";
import { listen, type RunningServer } from "../../src/server.js";

let server: RunningServer;

beforeAll(async () => {
  server = await listen(
    (_req, res) => {
      res.writeHead(200, { "Content-Type": "text/plain" }).end("served");
    },
    {
      port: 0,
      host: "127.0.0.1",
      log: createLogger("kit-protocol-test", "silent"),
      exitOnSignal: false,
    },
  );
});

afterAll(async () => {
  await server?.close();
});

/** Sends `request` as raw bytes and resolves to everything the server sent until it closed. */
function exchange(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, "127.0.0.1", () => socket.end(request));
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      received += chunk;
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(received));
  });
}

function problemOf(received: string): { status: number; head: string; body: { status?: number } } {
  const [head = "", body = ""] = received.split("\r\n\r\n");
  return { status: Number(head.split(" ")[1]), head, body: JSON.parse(body) };
}

describe("the kit's HTTP server refuses what breaks HTTP/1.1 with a Problem", () => {
  it.each([
    ["no Host", 400, "GET /x HTTP/1.1\r\n\r\n"],
    ["two Host headers", 400, "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"],
    ["HTTP/2.0 as text", 505, "GET /x HTTP/2.0\r\nHost: a\r\n\r\n"],
    ["CONNECT", 405, "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"],
  ])("%s → %i", async (_case, status, request) => {
    const answer = problemOf(await exchange(request));

    expect(answer.status).toBe(status);
    expect(answer.head).toMatch(/\r\nContent-Type: application\/problem\+json/i);
    expect(answer.body.status).toBe(status);
  });

  it("serves a well-formed request", async () => {
    const received = await exchange("GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");

    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).toMatch(/\r\n\r\n(6\r\n)?served/);
  });
});
