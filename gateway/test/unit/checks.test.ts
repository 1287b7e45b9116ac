import { describe, expect, it } from "@jest/globals";
import { loadContract } from "@portico/contracts";
import { compileRequestChecks, type RawRequestParts as RequestParts } from "@portico/kit/core";
import { compileOperationTable, LOCAL_SERVICE } from "../../src/operations/table.js";
import { UPSTREAMS } from "../support/upstreams.js";

const contract = loadContract("public");
const routes = compileOperationTable(contract, UPSTREAMS).operations.filter(
  (route) => route.service !== LOCAL_SERVICE,
);
const checks = compileRequestChecks(contract, routes);
const PRODUCT_ID = "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10";

function parts(overrides: Partial<RequestParts>): RequestParts {
  return { pathParams: {}, query: "", headers: {}, body: Buffer.alloc(0), ...overrides };
}

function accepts(operationId: string, overrides: Partial<RequestParts>): boolean {
  const operation = checks.get(operationId);
  if (!operation) throw new Error(`no checks for ${operationId}`);
  return operation.accepts(parts(overrides));
}

const json = (value: unknown) => ({
  headers: { "content-type": "application/json" },
  body: Buffer.from(JSON.stringify(value)),
});

describe("compileRequestChecks", () => {
  it("compiles checks for every proxied operation of the public contract but those with a cookie parameter", () => {
    // Cookie parameters are not among what the checks are built for: such an operation (the
    // sign-in's device cookie) always takes the validator's way.
    const withCookie = (route: (typeof routes)[number]) => {
      const op = (contract.paths as Record<string, Record<string, { parameters?: unknown[] }>>)[
        route.template
      ]?.[route.method.toLowerCase()];
      return (op?.parameters ?? []).some((p) => (p as { in?: string }).in === "cookie");
    };
    expect([...checks.keys()].sort()).toEqual(
      routes
        .filter((r) => !withCookie(r))
        .map((r) => r.operationId)
        .sort(),
    );
  });

  it("carries each operation's security requirements", () => {
    expect(checks.get("getProduct")?.security).toEqual([]);
    expect(checks.get("createProduct")?.security).toEqual([
      { bearerAuth: ["admin"] },
      { apiKeyAuth: ["admin"] },
    ]);
  });

  it("checks path parameters against their schema", () => {
    expect(accepts("getProduct", { pathParams: { productId: PRODUCT_ID } })).toBe(true);
    expect(accepts("getProduct", { pathParams: { productId: "not-a-uuid" } })).toBe(false);
  });

  it("coerces and checks query parameters, and leaves anything unusual to the validator", () => {
    expect(accepts("listProducts", { query: "limit=5&inStock=true&q=kettle" })).toBe(true);
    expect(accepts("listProducts", { query: "limit=0" })).toBe(false);
    expect(accepts("listProducts", { query: "limit=five" })).toBe(false);
    expect(accepts("listProducts", { query: "inStock=yes" })).toBe(false);
    expect(accepts("listProducts", { query: "limit=5&limit=6" })).toBe(false);
    expect(accepts("listProducts", { query: "q=" })).toBe(false);
    expect(accepts("listProducts", { query: "colour=red" })).toBe(false);
    expect(accepts("listProducts", { query: "limit[gt]=1" })).toBe(false);
  });

  it("checks header parameters", () => {
    const productId = PRODUCT_ID;
    const tag = `"${"x".repeat(20)}"`;
    expect(
      accepts("getProduct", { pathParams: { productId }, headers: { "if-none-match": tag } }),
    ).toBe(true);
    const long = "x".repeat(1001);
    expect(
      accepts("getProduct", { pathParams: { productId }, headers: { "if-none-match": long } }),
    ).toBe(false);
  });

  it("checks a JSON body against the operation's schema", () => {
    const product = { name: "Kettle", price: { amount: 2599, currency: "EUR" }, stock: 3 };
    expect(accepts("createProduct", json(product))).toBe(true);
    const stringAmount = { ...product, price: { amount: "2599", currency: "EUR" } };
    expect(accepts("createProduct", json(stringAmount))).toBe(false);
    expect(accepts("createProduct", json({ ...product, colour: "red" }))).toBe(false);
    expect(accepts("createProduct", json({ name: "Kettle" }))).toBe(false);
  });

  it("leaves a missing, malformed or differently typed body to the validator", () => {
    expect(accepts("createProduct", {})).toBe(false);
    expect(
      accepts("createProduct", {
        headers: { "content-type": "application/json" },
        body: Buffer.from("{"),
      }),
    ).toBe(false);
    expect(
      accepts("createProduct", {
        headers: { "content-type": "text/plain" },
        body: Buffer.from("{}"),
      }),
    ).toBe(false);
    expect(
      accepts("createProduct", {
        headers: { "content-type": "application/json; charset=latin1" },
        body: Buffer.from("{}"),
      }),
    ).toBe(false);
    expect(accepts("getProduct", { pathParams: { productId: PRODUCT_ID }, ...json({}) })).toBe(
      false,
    );
  });
});
