/**
 * Regression found by contract fuzzing (Schemathesis, `npm run test:fuzz`): a request whose line
 * and headers exceed Node.js's limit (an `access_token` query parameter of thousands of
 * percent-encoded characters on `GET /events`) got Node's bare 431 with no body; every error must
 * be a Problem the contract declares.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import express from "express";
import { clientErrorResponse, clientErrorStatus } from "../../src/client-errors.js";
import { createLogger } from "../../src/logger.js";
import { listen, type RunningServer } from "../../src/server.js";

let server: RunningServer;

beforeAll(async () => {
  const app = express();
  app.get("/events", (_req, res) => {
    res.json({ ok: true });
  });
  const log = createLogger("kit-client-errors-test", "silent");
  server = await listen(app, { port: 0, host: "127.0.0.1", log, exitOnSignal: false });
});

afterAll(async () => {
  await server?.close();
});

/** GET `path` with raw node:http (fetch would refuse nothing, but keeps the test explicit). */
function get(path: string): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: server.port, path }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, type: res.headers["content-type"], body }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

describe("requests the HTTP parser refuses", () => {
  it("answers oversized request headers with a 431 Problem, not a bare status line", async () => {
    const token = encodeURIComponent("é".repeat(4096)); // 24 KiB once percent-encoded
    const response = await get(`/events?access_token=${token}`);
    expect(response.status).toBe(431);
    expect(response.type).toBe("application/problem+json");
    expect(JSON.parse(response.body)).toEqual({
      type: "https://portico.dev/problems/request-header-fields-too-large",
      title: "Request Header Fields Too Large",
      status: 431,
      detail: "The request line and headers are too large.",
    });
  });

  it("still serves requests within the limit on the same server", async () => {
    const response = await get(`/events?access_token=${"a".repeat(4096)}`);
    expect(response.status).toBe(200);
  });

  it("maps parser error codes as Node.js does", () => {
    expect(clientErrorStatus("HPE_HEADER_OVERFLOW")).toBe(431);
    expect(clientErrorStatus("ERR_HTTP_REQUEST_TIMEOUT")).toBe(408);
    expect(clientErrorStatus("HPE_INVALID_METHOD")).toBe(400);
    expect(clientErrorResponse(400)).toMatch(/^HTTP\/1\.1 400 Request validation failed\r\n/);
  });
});
