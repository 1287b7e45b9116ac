/**
 * `withoutPlatformKeys`: the public document without the platform's `x-portico-*` declarations
 * and the generator's `x-generated` note, at any depth, and nothing else removed.
 */
import { describe, expect, it } from "@jest/globals";
import { isPlatformKey, loadContract, withoutPlatformKeys } from "../../src/index.js";

describe("withoutPlatformKeys", () => {
  it("removes x-portico-* and x-generated at any depth, in objects and arrays, keeping the rest", () => {
    const document = {
      "x-generated": "do not edit",
      openapi: "3.1.0",
      "x-logo": { url: "https://example.com/logo.svg" },
      paths: {
        "/things": {
          get: {
            operationId: "listThings",
            "x-portico-service": "things",
            "x-portico-cache": { key: "thingId" },
            parameters: [{ name: "limit", in: "query", "x-portico-note": 1, schema: {} }],
          },
        },
      },
      tags: ["a", 1, null],
    };
    const copy = structuredClone(document);
    expect(withoutPlatformKeys(document)).toEqual({
      openapi: "3.1.0",
      "x-logo": { url: "https://example.com/logo.svg" },
      paths: {
        "/things": {
          get: {
            operationId: "listThings",
            parameters: [{ name: "limit", in: "query", schema: {} }],
          },
        },
      },
      tags: ["a", 1, null],
    });
    expect(document).toEqual(copy); // not mutated
  });

  it("tells platform keys from the API's own", () => {
    expect(isPlatformKey("x-portico-timeout-ms")).toBe(true);
    expect(isPlatformKey("x-generated")).toBe(true);
    expect(isPlatformKey("x-logo")).toBe(false);
    expect(isPlatformKey("x-generated-by")).toBe(false);
    expect(isPlatformKey("operationId")).toBe(false);
  });

  it("leaves no platform key in the public bundle, which has some", () => {
    const bundle = JSON.stringify(loadContract("public"));
    expect(bundle).toMatch(/"x-portico-service"/);
    expect(bundle).toMatch(/"x-generated"/);
    expect(JSON.stringify(withoutPlatformKeys(loadContract("public")))).not.toMatch(
      /"x-portico-|"x-generated"/,
    );
  });
});
