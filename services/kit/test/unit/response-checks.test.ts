import { describe, expect, it } from "@jest/globals";
import { compileResponseChecks } from "../../src/dispatch/response-checks.js";

const json = (schema: unknown) => ({
  description: "d",
  content: { "application/json": { schema } },
});
const contract = {
  openapi: "3.1.0",
  info: { title: "t", version: "1" },
  paths: {
    "/things/{id}": {
      get: {
        operationId: "getThing",
        responses: {
          "200": json({ type: "object", required: ["id"], properties: { id: { type: "string" } } }),
          "204": { description: "no content" },
          "4XX": { $ref: "#/components/responses/Problem" },
        },
      },
      put: {
        operationId: "putThing",
        responses: { default: json({ type: "object" }) },
      },
      delete: {
        operationId: "deleteThing",
        responses: {
          "200": {
            description: "two media types",
            content: {
              "application/json": { schema: { type: "object" } },
              "application/vnd.thing+json": { schema: { type: "object" } },
            },
          },
        },
      },
    },
  },
  components: {
    responses: {
      Problem: {
        description: "p",
        content: {
          "application/problem+json": { schema: { type: "object", required: ["status"] } },
        },
      },
    },
  },
};
const checks = compileResponseChecks(contract, [
  { method: "GET", template: "/things/{id}", operationId: "getThing" },
  { method: "PUT", template: "/things/{id}", operationId: "putThing" },
  { method: "DELETE", template: "/things/{id}", operationId: "deleteThing" },
]);
const getThing = checks.get("getThing");

describe("compileResponseChecks", () => {
  it("passes a body its status declares, refuses one that breaks the schema", () => {
    expect(getThing?.(200, { id: "a" })).toBeUndefined();
    expect(getThing?.(200, { id: 1 })?.message).toMatch(/^\/response\/id must be string/);
  });

  it("judges a status by its range and by default, as the validator does", () => {
    expect(getThing?.(404, { status: 404 })).toBeUndefined();
    expect(getThing?.(404, {})?.message).toMatch(/^\/response/);
    expect(checks.get("putThing")?.(299, {})).toBeUndefined();
  });

  it("refuses an undeclared status, a body where none is declared, and a null body", () => {
    expect(getThing?.(201, {})?.message).toBe(
      "no schema defined for status code '201' in the openapi spec",
    );
    expect(getThing?.(204, {})?.message).toBe("response should NOT have a body");
    expect(getThing?.(200, null)?.message).toBe("response body required.");
  });

  it("never judges a 5xx, and leaves out an operation answering several JSON types", () => {
    expect(getThing?.(500, "anything")).toBeUndefined();
    expect(checks.has("deleteThing")).toBe(false);
  });

  it("marks its errors as the validator's response errors (status 500, path /response)", () => {
    expect(getThing?.(201, {})).toMatchObject({ status: 500, path: "/response" });
  });
});
