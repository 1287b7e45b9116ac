import { describe, expect, it } from "@jest/globals";
import { compileRequestChecks, type RawRequestParts } from "../../src/dispatch/request-checks.js";
import { thingsContract, thingsOperations } from "../support/things-contract.js";

const checks = compileRequestChecks(thingsContract, thingsOperations);

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
