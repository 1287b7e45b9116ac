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
import { requestJson } from "../../src/testing.js";
import { type ContractApp, startContractApp } from "../support/contract-app.js";
import {
  type SampledRequest,
  sampleRequests,
  stringFields,
  urlOf,
  withSuffix,
} from "../support/contract-requests.js";

describe.each(SERVICE_NAMES)("the %s contract", (service) => {
  const contract = loadContract(service);
  const requests = sampleRequests(contract);
  let app: ContractApp;
  beforeAll(async () => {
    app = await startContractApp(contract);
  });
  afterAll(async () => {
    await app?.close();
  });

  const send = (request: SampledRequest) =>
    requestJson(app.baseUrl, request.method, urlOf(request), {
      token: app.adminToken,
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
        status: 200,
        body: { operationId },
      });
    });

    const fields = stringFields(contract, request);
    if (fields.length === 0) return;
    it.each(fields.map((f) => [`${f.location}.${f.field}`, f] as const))(
      "refuses U+0000 in %s with a 400 naming it",
      async (_name, field) => {
        const before = app.reached.length;
        const response = await send(withSuffix(request, field, "a\u0000b"));
        expect(response.status).toBe(400);
        expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
        expect(response.body.errors).toContainEqual(
          expect.objectContaining({ location: field.location, field: field.field }),
        );
        expect(app.reached.length).toBe(before);
      },
    );
  });
});
