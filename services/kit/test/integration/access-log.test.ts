/**
 * The kit's access log over real HTTP (issue 13: logs for people; issue 14: lighter than
 * pino-http): one line per request when it finishes, JSON by default and a short line for people
 * in the pretty format; probes are not logged.
 */
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createApp } from "../../src/app.js";
import type { Handlers } from "../../src/handlers.js";
import { createLogger, type LogFormat } from "../../src/logger.js";
import { listen, type RunningServer } from "../../src/server.js";
import { createTestIssuer } from "../../src/testing.js";
import { type operations, widgetsContract } from "../support/widgets-contract.js";

const WIDGET_ID = "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10";

const handlers: Handlers<operations> = {
  getWidget: async ({ path, log }) => {
    log.info("looking the widget up");
    return {
      status: 200,
      body: { id: path.widgetId, name: "Sprocket", price: { amount: 250, currency: "EUR" } },
    };
  },
  createWidget: async ({ body }) => ({ status: 201, body: { id: WIDGET_ID, ...body } }),
  getBrokenWidget: async () => ({ status: 200, body: {} }) as never,
  waitForRelease: async () => ({ status: 200, body: { released: true } }),
};

/** An app whose logger writes `format` lines into `lines`. */
async function start(format: LogFormat): Promise<{ server: RunningServer; lines: string[] }> {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  const logger = createLogger("widgets", "info", { format, destination });
  const issuer = await createTestIssuer();
  const app = createApp<operations>({
    contract: widgetsContract,
    handlers,
    verifyToken: issuer.verifyToken,
    logger,
    validateResponses: true,
    readiness: {},
  });
  const server = await listen(app, {
    port: 0,
    host: "127.0.0.1",
    log: createLogger("widgets", "silent"),
    exitOnSignal: false,
  });
  return { server, lines };
}

/** Lines written so far once the response's close has been handled. */
async function settled(lines: string[], count: number): Promise<string[]> {
  for (let i = 0; i < 100 && lines.length < count; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return lines;
}

describe("the access log in JSON", () => {
  let app: { server: RunningServer; lines: string[] };
  beforeAll(async () => {
    app = await start("json");
  });
  afterAll(async () => {
    await app?.server.close();
  });

  it("writes one line per request: id, method, path without query, status, duration, operation", async () => {
    const base = `http://127.0.0.1:${app.server.port}`;
    await fetch(`${base}/healthz`);
    const response = await fetch(`${base}/widgets/${WIDGET_ID}?limit=5`, {
      headers: { "x-request-id": "req-json-1" },
    });
    expect(response.status).toBe(200);
    const lines = (await settled(app.lines, 2)).map((line) => JSON.parse(line));
    expect(lines).toEqual([
      expect.objectContaining({ level: 30, reqId: "req-json-1", msg: "looking the widget up" }),
      expect.objectContaining({
        level: 30,
        service: "widgets",
        reqId: "req-json-1",
        method: "GET",
        path: `/widgets/${WIDGET_ID}`,
        status: 200,
        operationId: "getWidget",
        durationMs: expect.any(Number),
        msg: "request completed",
      }),
    ]);
  });

  it("logs a client error as warn, with the method the client sent (HEAD)", async () => {
    app.lines.length = 0;
    await fetch(`http://127.0.0.1:${app.server.port}/nowhere`, { method: "HEAD" });
    const [line] = (await settled(app.lines, 1)).map((l) => JSON.parse(l));
    expect(line).toMatchObject({ level: 40, method: "HEAD", path: "/nowhere", status: 404 });
  });
});

describe("the access log for people", () => {
  let app: { server: RunningServer; lines: string[] };
  beforeAll(async () => {
    app = await start("pretty");
  });
  afterAll(async () => {
    await app?.server.close();
  });

  it("is one short line: time, level, service, method, path, status, duration, request id", async () => {
    await fetch(`http://127.0.0.1:${app.server.port}/widgets/${WIDGET_ID}`, {
      headers: { "x-request-id": "0a1b2c3d4e5f" },
    });
    const lines = await settled(app.lines, 2);
    expect(lines[1]).toMatch(
      new RegExp(
        `^\\[\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\] INFO \\(widgets\\): GET /widgets/${WIDGET_ID} 200 [\\d.]+ ms 0a1b2c3d$`,
      ),
    );
    expect(lines[0]).toMatch(/INFO \(widgets\): looking the widget up$/);
  });
});
