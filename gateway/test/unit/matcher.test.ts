import { describe, expect, it } from "@jest/globals";
import { compileOperationMatcher, compileTemplate } from "../../src/operations/matcher.js";
import { compileOperationTable } from "../../src/operations/table.js";

const op = (operationId: string) => ({ operationId, "x-portico-service": "products" });
const routes = compileOperationTable(
  {
    openapi: "3.1.0",
    info: { title: "t", version: "1" },
    paths: {
      "/products/{productId}": { get: op("getProduct"), delete: op("deleteProduct") },
      "/products/search": { get: op("searchProducts") },
      "/products/{productId}/reviews/{reviewId}": { get: op("getReview") },
      "/ml/sentiment:batch": { post: op("analyzeBatch") },
      "/files/{name}.json": { get: op("getFile") },
    },
  },
  { products: "http://127.0.0.1:1" },
);
const match = compileOperationMatcher(routes.operations);

describe("compileOperationMatcher", () => {
  it("finds the operation by method and path, with its path parameters", () => {
    expect(match("GET", "/products/p-1")?.route.operationId).toBe("getProduct");
    expect(match("DELETE", "/products/p-1")?.route.operationId).toBe("deleteProduct");
    expect(match("GET", "/products/p-1/reviews/r-2")?.pathParams).toEqual({
      productId: "p-1",
      reviewId: "r-2",
    });
  });

  it("prefers a concrete path over a template that also matches it", () => {
    expect(match("GET", "/products/search")?.route.operationId).toBe("searchProducts");
  });

  it("matches literal characters such as ':' and '.' exactly", () => {
    expect(match("POST", "/ml/sentiment:batch")?.route.operationId).toBe("analyzeBatch");
    expect(match("POST", "/ml/sentimentXbatch")).toBeUndefined();
    expect(match("GET", "/files/report.json")?.pathParams).toEqual({ name: "report" });
    expect(match("GET", "/files/reportXjson")).toBeUndefined();
  });

  it("percent-decodes parameters and refuses malformed encodings", () => {
    expect(match("GET", "/products/a%20b")?.pathParams).toEqual({ productId: "a b" });
    expect(match("GET", "/products/%E0%A4%A")).toBeUndefined();
  });

  it("never lets a parameter span segments, and knows no other method or path", () => {
    expect(match("GET", "/products/a/b")).toBeUndefined();
    expect(match("GET", "/products/")).toBeUndefined();
    expect(match("PUT", "/products/p-1")).toBeUndefined();
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
