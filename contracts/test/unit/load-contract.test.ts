/** `loadContract`: the bundled documents as services and the gateway load them. */
import { describe, expect, it } from "@jest/globals";
import { type ContractName, loadContract, SERVICE_NAMES } from "../../src/index.js";

const CONTRACTS: ContractName[] = [...SERVICE_NAMES, "public"];

/** Every `$ref` value anywhere in `node`. */
function refsIn(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(refsIn);
  if (node === null || typeof node !== "object") return [];
  return Object.entries(node).flatMap(([key, value]) =>
    key === "$ref" && typeof value === "string" ? [value] : refsIn(value),
  );
}

/** The value at a local JSON Pointer (RFC 6901) such as `#/components/schemas/User`. */
function resolvePointer(doc: unknown, ref: string): unknown {
  return ref
    .slice(2)
    .split("/")
    .map((token) => decodeURIComponent(token).replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce<unknown>(
      (node, token) =>
        node !== null && typeof node === "object"
          ? (node as Record<string, unknown>)[token]
          : undefined,
      doc,
    );
}

describe.each(CONTRACTS)("loadContract(%j)", (name) => {
  const doc = loadContract(name);

  it("is an OpenAPI 3.1 document with paths", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths as object).length).toBeGreaterThan(0);
  });

  it("is self-contained: every $ref is local (#/…) and resolves", () => {
    const refs = refsIn(doc);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect(ref).toMatch(/^#\//);
      expect({ ref, resolves: resolvePointer(doc, ref) !== undefined }).toEqual({
        ref,
        resolves: true,
      });
    }
  });

  it("is read once and cached", () => {
    expect(loadContract(name)).toBe(doc);
  });
});
