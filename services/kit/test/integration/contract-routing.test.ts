/**
 * How the kit's app matches requests to a contract's operations (issue 9, findings 3-5), for every
 * operation of every service contract:
 * - HEAD on a GET operation is answered like GET without a body (RFC 9110 section 9.3.2): the
 *   same status and headers for a valid request, a 400 and a 404 alike;
 * - paths match exactly: another letter case or a trailing slash is a 404 Problem;
 * - a query parameter the operation does not declare is a 400 naming it, whatever a nested query
 *   parser would make of its name (`__proto__[admin]`, `a[b]`).
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { loadContract, SERVICE_NAMES } from "@portico/contracts";
import { requestJson } from "../../src/testing.js";
import { type ContractApp, startContractApp } from "../support/contract-app.js";
import { type SampledRequest, sampleRequests, urlOf } from "../support/contract-requests.js";

const PROBLEM = /^application\/problem\+json/;
const UNKNOWN_PARAMETERS = [
  "__proto__[admin]",
  "constructor[prototype][admin]",
  "a[b]",
  "__proto__",
  "a[]",
];

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

  const send = (request: SampledRequest, url = urlOf(request), method = request.method) =>
    requestJson(app.baseUrl, method, url, {
      token: app.adminToken,
      ...(request.body !== undefined ? { json: request.body } : {}),
    });

  const gets = requests.filter((r) => r.method === "GET");
  it("has GET operations", () => {
    expect(gets.length).toBeGreaterThan(0);
  });

  describe.each(gets.map((r) => [r.operationId, r] as const))("HEAD %s", (operationId, request) => {
    it("answers like GET, without a body", async () => {
      const get = await send(request);
      const before = app.reached.length;
      const head = await send(request, urlOf(request), "HEAD");
      expect(get).toMatchObject({ status: 200, body: { operationId } });
      expect(head.status).toBe(200);
      expect(head.body).toBeUndefined();
      expect(head.headers.get("content-type")).toBe(get.headers.get("content-type"));
      expect(head.headers.get("content-length")).toBe(get.headers.get("content-length"));
      expect(app.reached.slice(before)).toEqual([operationId]);
    });

    it("answers a 400 and a 404 like GET, without a body", async () => {
      const invalid = `${urlOf(request)}${urlOf(request).includes("?") ? "&" : "?"}unknown=1`;
      const upper = urlOf(request).toUpperCase();
      for (const url of [invalid, upper]) {
        const get = await send(request, url);
        const head = await send(request, url, "HEAD");
        expect([get.status, head.status]).toEqual(url === invalid ? [400, 400] : [404, 404]);
        expect(head.body).toBeUndefined();
        expect(head.headers.get("content-type")).toMatch(PROBLEM);
      }
    });
  });

  describe.each(requests.map((r) => [`${r.method} ${r.template}`, r] as const))(
    "%s",
    (_name, request) => {
      it("does not match another letter case or a trailing slash (404 Problem)", async () => {
        const [path, query] = urlOf(request).split("?");
        const before = app.reached.length;
        for (const variant of [path?.toUpperCase(), `${path}/`]) {
          const response = await send(request, `${variant}${query ? `?${query}` : ""}`);
          expect({ variant, status: response.status }).toEqual({ variant, status: 404 });
          expect(response.headers.get("content-type")).toMatch(PROBLEM);
        }
        expect(app.reached.length).toBe(before);
      });

      it.each(UNKNOWN_PARAMETERS)(
        "refuses the unknown query parameter %s with a 400 naming it",
        async (name) => {
          const url = `${urlOf(request)}${urlOf(request).includes("?") ? "&" : "?"}${encodeURI(name)}=true`;
          const before = app.reached.length;
          const response = await send(request, url);
          expect(response.status).toBe(400);
          // Named as the validator reads bracket notation: the name before the first bracket.
          expect(response.body.errors).toContainEqual(
            expect.objectContaining({ location: "query", field: name.split("[")[0] }),
          );
          expect(app.reached.length).toBe(before);
        },
      );
    },
  );
});

describe("a path that only accepts other methods", () => {
  let app: ContractApp;
  beforeAll(async () => {
    app = await startContractApp(loadContract("users"));
  });
  afterAll(async () => {
    await app?.close();
  });

  it("answers HEAD with 405 where GET is not declared", async () => {
    const response = await requestJson(app.baseUrl, "HEAD", "/auth/token");
    expect(response.status).toBe(405);
    expect(response.body).toBeUndefined();
  });

  it("serves HEAD /healthz like GET, and only at its exact path", async () => {
    expect((await requestJson(app.baseUrl, "HEAD", "/healthz")).status).toBe(200);
    expect((await requestJson(app.baseUrl, "GET", "/HEALTHZ")).status).toBe(404);
    expect((await requestJson(app.baseUrl, "GET", "/healthz/")).status).toBe(404);
  });
});
