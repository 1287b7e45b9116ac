import { describe, expect, it } from "@jest/globals";
import {
  NUL_CHARACTER_MESSAGE,
  nulCharacterErrors,
  nulCharacterProblem,
} from "../../src/nul-characters.js";

describe("nulCharacterErrors", () => {
  it("names every string holding U+0000, at any depth and in every part", () => {
    const errors = nulCharacterErrors({
      body: { name: "a\u0000", tags: ["ok", "b\u0000"], nested: { deep: { text: "\u0000" } } },
      query: { q: "x\u0000y", limit: "5" },
      path: { id: "\u0000" },
      headers: { "x-note": "h\u0000" },
    });
    expect(errors).toEqual(
      [
        ["body", "name"],
        ["body", "tags.1"],
        ["body", "nested.deep.text"],
        ["query", "q"],
        ["path", "id"],
        ["header", "x-note"],
      ].map(([location, field]) => ({ location, field, message: NUL_CHARACTER_MESSAGE })),
    );
  });

  it("names a property whose name holds U+0000, and a body that is itself such a string", () => {
    expect(nulCharacterErrors({ body: { "k\u0000": 1 } })).toEqual([
      { location: "body", field: "k\u0000", message: NUL_CHARACTER_MESSAGE },
    ]);
    expect(nulCharacterErrors({ body: "\u0000" })).toEqual([
      { location: "body", field: "", message: NUL_CHARACTER_MESSAGE },
    ]);
  });

  it("finds nothing in clean input, numbers, null or missing parts", () => {
    expect(
      nulCharacterErrors({ body: { a: "text", n: 0, z: null, l: [1, "x"] }, query: {} }),
    ).toEqual([]);
    expect(nulCharacterErrors({})).toEqual([]);
  });
});

describe("nulCharacterProblem", () => {
  it("is a 400 listing each field, or undefined when there is none", () => {
    const problem = nulCharacterProblem({ body: { name: "\u0000" }, query: { q: "\u0000" } });
    expect(problem?.status).toBe(400);
    expect(problem?.message).toBe(`Invalid request: body.name, query.q ${NUL_CHARACTER_MESSAGE}.`);
    expect(problem?.errors).toHaveLength(2);
    expect(nulCharacterProblem({ body: { name: "fine" } })).toBeUndefined();
  });
});
