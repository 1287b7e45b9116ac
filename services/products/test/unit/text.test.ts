import { describe, expect, it } from "@jest/globals";
import { HttpProblem } from "@portico/kit";
import { assertStorableText } from "../../src/handlers/text.js";

describe("assertStorableText", () => {
  it("accepts text without U+0000, and absent fields", () => {
    expect(() =>
      assertStorableText("body", { name: "Cup ☕", description: undefined }),
    ).not.toThrow();
  });

  it("rejects U+0000 with a 400 naming every offending field", () => {
    let thrown: unknown;
    try {
      assertStorableText("body", { name: "a\u0000b", description: "ok", other: "\u0000" });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(HttpProblem);
    expect((thrown as HttpProblem).status).toBe(400);
    expect((thrown as HttpProblem).errors?.map((e) => `${e.location}:${e.field}`)).toEqual([
      "body:name",
      "body:other",
    ]);
  });
});
