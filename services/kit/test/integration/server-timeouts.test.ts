/**
 * Slow clients are not held (issue 9, finding 9: 200 connections that never finished their
 * headers stayed open ~90 s under Node's defaults). The kit's server closes a connection whose
 * headers, or whose body, do not arrive within the configured timeout with a 408 Problem, and an
 * idle keep-alive connection is still served after the headers timeout has passed.
 */
import { connect, type Socket } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import express from "express";
import { createLogger } from "../../src/logger.js";
import { listen, type RunningServer } from "../../src/server.js";

const HEADERS_TIMEOUT_MS = 300;
let server: RunningServer;

beforeAll(async () => {
  const app = express();
  app.use(express.json());
  app.all("/echo", (req, res) => {
    res.json({ received: req.body ?? null });
  });
  const log = createLogger("kit-timeouts-test", "silent");
  server = await listen(app, {
    port: 0,
    host: "127.0.0.1",
    log,
    exitOnSignal: false,
    timeouts: {
      headersTimeoutMs: HEADERS_TIMEOUT_MS,
      requestTimeoutMs: 2 * HEADERS_TIMEOUT_MS,
      keepAliveTimeoutMs: 10 * HEADERS_TIMEOUT_MS,
    },
  });
});

afterAll(async () => {
  await server?.close();
});

/** A raw connection collecting everything the server sends; `closed` resolves to it. */
function rawConnection(): { socket: Socket; closed: Promise<string> } {
  const socket = connect(server.port, "127.0.0.1");
  let received = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    received += chunk;
  });
  const closed = new Promise<string>((resolve) => socket.on("close", () => resolve(received)));
  return { socket, closed };
}

function expect408Problem(received: string): void {
  const [head, body] = received.split("\r\n\r\n");
  expect(head).toMatch(/^HTTP\/1\.1 408 /);
  expect(head).toMatch(/\r\nContent-Type: application\/problem\+json/i);
  expect(JSON.parse(body ?? "")).toMatchObject({ status: 408, title: "Request Timeout" });
}

describe("the kit's HTTP server", () => {
  it("answers 408 and closes a connection that never finishes its headers", async () => {
    const { socket, closed } = rawConnection();
    socket.write("GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
    expect408Problem(await closed);
  });

  it("answers 408 and closes a connection whose body never arrives in full", async () => {
    const { socket, closed } = rawConnection();
    socket.write(
      'POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":',
    );
    expect408Problem(await closed);
  });

  it("keeps serving an idle keep-alive connection past the headers timeout", async () => {
    const { socket, closed } = rawConnection();
    const request = "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    socket.write(request);
    await delay(3 * HEADERS_TIMEOUT_MS);
    socket.write(`${request.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n")}`);
    const received = await closed;
    expect(received.match(/HTTP\/1\.1 200 /g)).toHaveLength(2);
    expect(received).not.toMatch(/ 408 /);
  });
});
