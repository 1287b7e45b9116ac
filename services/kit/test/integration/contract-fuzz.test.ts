/**
 * Regressions found by contract fuzzing (Schemathesis, `npm run test:fuzz`): each case is a
 * request it sent and the answer the contract did not allow, replayed against the kit's app.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { error as validatorError } from "express-openapi-validator";
import { createApp, toProblem } from "../../src/app.js";
import type { Handlers } from "../../src/handlers.js";
import { createLogger } from "../../src/logger.js";
import { listen, type RunningServer } from "../../src/server.js";
import { createTestIssuer, requestJson, type TestIssuer } from "../../src/testing.js";
import { type operations, widgetsContract } from "../support/widgets-contract.js";

const WIDGET_ID = "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10";

const handlers: Handlers<operations> = {
  getWidget: async ({ path }) => ({
    status: 200,
    body: { id: path.widgetId, name: "Sprocket", price: { amount: 250, currency: "EUR" } },
  }),
  createWidget: async ({ body }) => ({
    status: 201,
    headers: { Location: `/widgets/${WIDGET_ID}` },
    body: { id: WIDGET_ID, ...body },
  }),
  getBrokenWidget: async () => ({ status: 200, body: {} }) as never,
  waitForRelease: async () => ({ status: 200, body: { released: true } }),
};

let issuer: TestIssuer;
let server: RunningServer;
let baseUrl: string;

beforeAll(async () => {
  issuer = await createTestIssuer();
  const logger = createLogger("kit-fuzz-test", process.env.TEST_LOG_LEVEL ?? "silent");
  const app = createApp<operations>({
    contract: widgetsContract,
    handlers,
    verifyToken: issuer.verifyToken,
    logger,
    validateResponses: true,
    readiness: {},
  });
  server = await listen(app, { port: 0, host: "127.0.0.1", log: logger, exitOnSignal: false });
  baseUrl = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server?.close();
});

describe("a required body sent without one (no Content-Type)", () => {
  it("is a 400 Problem naming the body, not an undeclared 415 'media type undefined'", async () => {
    const token = await issuer.tokenFor({ role: "admin" });
    const response = await fetch(`${baseUrl}/widgets`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    const problem = (await response.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({
      status: 400,
      detail: "The request body is required, with a Content-Type header.",
      errors: [{ location: "body", field: "", message: "is required, with a Content-Type header" }],
    });
    expect(String(problem.detail)).not.toContain("undefined");
  });

  it("keeps 415 for a body of a media type the operation does not accept", async () => {
    const token = await issuer.tokenFor({ role: "admin" });
    const response = await requestJson(baseUrl, "POST", "/widgets", {
      token,
      raw: "name=Cog",
      headers: { "content-type": "text/plain" },
    });
    expect(response.status).toBe(415);
  });

  it("maps the validator's 'media type not specified' the same way", () => {
    const { problem, unexpected } = toProblem(
      new validatorError.UnsupportedMediaType({
        path: "/widgets",
        message: "media type not specified",
      }),
    );
    expect(unexpected).toBe(false);
    expect(problem.status).toBe(400);
    expect(problem.errors).toEqual([
      { location: "body", field: "", message: "is required, with a Content-Type header" },
    ]);
  });
});
