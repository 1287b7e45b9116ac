import { describe, expect, it } from "@jest/globals";
import { compileRequestChecks, type RawRequestParts } from "../../src/dispatch/request-checks.js";

const contract = {
  openapi: "3.1.0",
  info: { title: "t", version: "1" },
  paths: {
    "/things/{id}": {
      parameters: [{ name: "id", in: "path", required: true, schema: { type: "integer" } }],
      get: {
        operationId: "getThing",
        parameters: [
          { name: "limit", in: "query", schema: { $ref: "#/components/schemas/Limit" } },
          { name: "q", in: "query", schema: { type: "string" } },
          { name: "X-Page", in: "header", schema: { type: "integer", default: 1 } },
        ],
        responses: {},
      },
      put: {
        operationId: "putThing",
        requestBody: {
          content: { "application/json": { schema: { $ref: "#/components/schemas/Thing" } } },
        },
        responses: {},
      },
      post: {
        operationId: "touchThing",
        requestBody: {
          required: false,
          content: { "application/json": { schema: { type: "object" } } },
        },
        responses: {},
      },
    },
  },
  components: {
    schemas: {
      Limit: { type: "integer", minimum: 1, maximum: 100, default: 20 },
      Thing: {
        type: "object",
        additionalProperties: false,
        properties: { name: { type: "string" }, colour: { type: "string", default: "red" } },
      },
    },
  },
};
const checks = compileRequestChecks(contract, [
  { method: "GET", template: "/things/{id}", operationId: "getThing" },
  { method: "PUT", template: "/things/{id}", operationId: "putThing" },
  { method: "POST", template: "/things/{id}", operationId: "touchThing" },
]);

function check(operationId: string, parts: Partial<RawRequestParts>) {
  const base = { pathParams: { id: "7" }, query: "", headers: {}, body: Buffer.alloc(0) };
  return checks.get(operationId)?.check({ ...base, ...parts });
}

const json = (value: unknown) => ({
  headers: { "content-type": "application/json" },
  body: Buffer.from(JSON.stringify(value)),
});

describe("compileRequestChecks: the values a handler is given", () => {
  it("coerces path, query and header parameters and fills in their defaults", () => {
    const checked = check("getThing", { query: "q=a%20b", headers: { "x-page": "3" } });
    expect(checked?.path).toEqual({ id: 7 });
    expect({ ...checked?.query }).toEqual({ q: "a b", limit: 20 });
    expect(Object.getPrototypeOf(checked?.query)).toBeNull();
    expect(checked?.headers).toEqual({ "x-page": 3 });
    expect(check("getThing", {})?.headers).toEqual({ "x-page": 1 });
  });

  it("parses the body with its schema's defaults", () => {
    expect(check("putThing", json({ name: "a" }))?.body).toEqual({ name: "a", colour: "red" });
  });

  it("leaves to the validator what it refuses: unencoded reserved characters, a '+' included", () => {
    expect(check("getThing", { query: "q=a+b" })).toBeUndefined();
    expect(check("getThing", { query: "q=a:b" })).toBeUndefined();
    expect(check("getThing", { query: "q=a%3Ab" })).toBeDefined();
  });

  it("takes no body only where the contract says `required: false`", () => {
    expect(check("touchThing", {})).toBeDefined();
    expect(check("putThing", {})).toBeUndefined();
  });
});
