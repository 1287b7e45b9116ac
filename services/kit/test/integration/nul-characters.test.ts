/**
 * U+0000 in any string of any operation is a 400 naming the field, before any handler runs (issue
 * 9, finding 2: PostgreSQL cannot store it, so it used to surface as a 500 wherever a handler
 * forgot to check). The cases come from the contracts themselves: for every operation of every
 * service contract, a valid request sampled from its schemas reaches the handler, and the same
 * request with U+0000 appended to any one of its string fields (path, query, body at any depth)
 * is refused naming that field. Each contract runs in the kit's app with stand-in handlers: the
 * rule is the kit's, so it holds whatever a service's handlers do.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { loadContract, SERVICE_NAMES } from "@portico/contracts";
import { createApp, operationIds } from "../../src/app.js";
import type { Handlers } from "../../src/handlers.js";
import { createLogger } from "../../src/logger.js";
import { listen, type RunningServer } from "../../src/server.js";
import { createTestIssuer, requestJson } from "../../src/testing.js";
import {
  type SampledRequest,
  sampleRequests,
  stringFields,
  urlOf,
  withSuffix,
} from "../support/contract-requests.js";

const logger = createLogger("kit-nul-test", process.env.TEST_LOG_LEVEL ?? "silent");

describe.each(SERVICE_NAMES)("the %s contract", (service) => {
  const contract = loadContract(service);
  const requests = sampleRequests(contract);
  const reached: string[] = [];
  let server: RunningServer;
  let baseUrl: string;
  let token: string;

  beforeAll(async () => {
    const issuer = await createTestIssuer();
    token = await issuer.tokenFor({ role: "admin" });
    const handlers = Object.fromEntries(
      operationIds(contract).map((id) => [
        id,
        async () => {
          reached.push(id);
          return { status: 204 };
        },
      ]),
    ) as unknown as Handlers<Record<string, never>>;
    const app = createApp({
      contract,
      handlers,
      verifyToken: issuer.verifyToken,
      logger,
      validateResponses: false,
      readiness: {},
    });
    server = await listen(app, { port: 0, host: "127.0.0.1", log: logger, exitOnSignal: false });
    baseUrl = `http://127.0.0.1:${server.port}`;
  });

  afterAll(async () => {
    await server?.close();
  });

  const send = (request: SampledRequest) =>
    requestJson(baseUrl, request.method, urlOf(request), {
      token,
      ...(request.body !== undefined ? { json: request.body } : {}),
    });

  it("has operations with string fields to test", () => {
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.flatMap((r) => stringFields(contract, r)).length).toBeGreaterThan(0);
  });

  describe.each(requests.map((r) => [r.operationId, r] as const))("%s", (operationId, request) => {
    it("reaches its handler with the sampled valid request", async () => {
      const response = await send(request);
      expect({ status: response.status, body: response.body }).toEqual({
        status: 204,
        body: undefined,
      });
      expect(reached.at(-1)).toBe(operationId);
    });

    const fields = stringFields(contract, request);
    if (fields.length === 0) return;
    it.each(fields.map((f) => [`${f.location}.${f.field}`, f] as const))(
      "refuses U+0000 in %s with a 400 naming it",
      async (_name, field) => {
        const before = reached.length;
        const response = await send(withSuffix(request, field, "a\u0000b"));
        expect(response.status).toBe(400);
        expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
        expect(response.body.errors).toContainEqual(
          expect.objectContaining({ location: field.location, field: field.field }),
        );
        expect(reached.length).toBe(before);
      },
    );
  });
});
