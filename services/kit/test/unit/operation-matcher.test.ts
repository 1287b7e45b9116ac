import { describe, expect, it } from "@jest/globals";
import { compileOperationMatcher, compileTemplate } from "../../src/dispatch/operation-matcher.js";

const route = (method: string, template: string, operationId: string) => ({
  method,
  template,
  operationId,
});
const match = compileOperationMatcher([
  route("GET", "/things/{thingId}", "getThing"),
  route("DELETE", "/things/{thingId}", "deleteThing"),
  route("GET", "/things/search", "searchThings"),
  route("GET", "/things/{thingId}/parts/{partId}", "getPart"),
  route("POST", "/jobs/summary:batch", "analyzeBatch"),
  route("GET", "/files/{name}.json", "getFile"),
  route("POST", "/things/{thingId}", "touchThing"),
  route("GET", "/things/export", "exportThings"),
]);

describe("compileOperationMatcher", () => {
  it("finds the operation by method and path, with its path parameters", () => {
    expect(match("GET", "/things/p-1")?.route.operationId).toBe("getThing");
    expect(match("DELETE", "/things/p-1")?.route.operationId).toBe("deleteThing");
    expect(match("GET", "/things/p-1/parts/r-2")?.pathParams).toEqual({
      thingId: "p-1",
      partId: "r-2",
    });
  });

  it("prefers a concrete path over a template that also matches it", () => {
    expect(match("GET", "/things/search")?.route.operationId).toBe("searchThings");
  });

  it("matches literal characters such as ':' and '.' exactly", () => {
    expect(match("POST", "/jobs/summary:batch")?.route.operationId).toBe("analyzeBatch");
    expect(match("POST", "/jobs/summaryXbatch")).toBeUndefined();
    expect(match("GET", "/files/report.json")?.pathParams).toEqual({ name: "report" });
    expect(match("GET", "/files/reportXjson")).toBeUndefined();
  });

  it("percent-decodes parameters and refuses malformed encodings", () => {
    expect(match("GET", "/things/a%20b")?.pathParams).toEqual({ thingId: "a b" });
    expect(match("GET", "/things/%E0%A4%A")).toBeUndefined();
  });

  it("takes the path the validator would choose, whatever the method (the validator's 405)", () => {
    // express-openapi-validator matches the path first: a literal one wins, then the method.
    expect(match("POST", "/things/export")).toBeUndefined();
    expect(match("POST", "/things/t-1")?.pathParams).toEqual({ thingId: "t-1" });
  });

  it("never lets a parameter span segments, and knows no other method or path", () => {
    expect(match("GET", "/things/a/b")).toBeUndefined();
    expect(match("GET", "/things/")).toBeUndefined();
    expect(match("PUT", "/things/p-1")).toBeUndefined();
    expect(match("GET", "/unknown")).toBeUndefined();
  });
});

describe("compileTemplate", () => {
  it("escapes regular-expression characters of the template", () => {
    const { pattern, names } = compileTemplate("/a+b/{id}");
    expect(names).toEqual(["id"]);
    expect(pattern.test("/a+b/1")).toBe(true);
    expect(pattern.test("/aab/1")).toBe(false);
  });
});
