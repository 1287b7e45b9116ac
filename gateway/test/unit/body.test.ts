import { describe, expect, it } from "@jest/globals";
import { HttpProblem } from "@portico/kit";
import { isJsonMediaType, mediaTypeOf } from "@portico/kit/core";
import { parseBody } from "../../src/pipeline/body.js";

const bytes = (text: string) => Buffer.from(text, "utf8");

describe("mediaTypeOf", () => {
  it("lower-cases the type and reads the charset parameter", () => {
    expect(mediaTypeOf('Application/JSON; charset="UTF-8"')).toEqual({
      type: "application/json",
      charset: "utf-8",
    });
  });

  it("answers an empty type without a header", () => {
    expect(mediaTypeOf(undefined)).toEqual({ type: "" });
  });
});

describe("isJsonMediaType", () => {
  it.each([
    ["application/json", true],
    ["application/merge-patch+json", true],
    ["application/problem+json", true],
    ["text/json", false],
    ["application/x-www-form-urlencoded", false],
  ])("%s → %s", (type, expected) => {
    expect(isJsonMediaType(type)).toBe(expected);
  });
});

describe("parseBody", () => {
  it("parses JSON", () => {
    expect(parseBody(bytes('{"name":"Zoë","tags":[1,2]}'), "application/json")).toEqual({
      name: "Zoë",
      tags: [1, 2],
    });
  });

  it("parses +json media types", () => {
    expect(parseBody(bytes('{"stock":3}'), "application/merge-patch+json")).toEqual({ stock: 3 });
  });

  it("parses form fields, repeated names as arrays", () => {
    expect(
      parseBody(
        bytes("grant_type=password&username=ada%40example.com&tag=a&tag=b+c"),
        "application/x-www-form-urlencoded",
      ),
    ).toEqual({ grant_type: "password", username: "ada@example.com", tag: ["a", "b c"] });
  });

  it("leaves an empty body undefined", () => {
    expect(parseBody(Buffer.alloc(0), "application/json")).toBeUndefined();
  });

  it("leaves other media types undefined for the validator to refuse", () => {
    expect(parseBody(bytes("hello"), "text/plain")).toBeUndefined();
  });

  it("rejects malformed JSON with a 400 Problem naming the body", () => {
    let thrown: unknown;
    try {
      parseBody(bytes('{"name":'), "application/json");
    } catch (err) {
      thrown = err;
    }

    expect(thrown).toBeInstanceOf(HttpProblem);
    const problem = thrown as HttpProblem;
    expect(problem.status).toBe(400);
    expect(problem.message).toMatch(/^The request body is not valid JSON/);
    expect(problem.errors).toEqual([
      { location: "body", field: "", message: expect.stringMatching(/^is not valid JSON/) },
    ]);
  });

  it("rejects a charset other than UTF-8 with 415", () => {
    expect(() => parseBody(bytes("{}"), "application/json; charset=iso-8859-1")).toThrow(
      expect.objectContaining({ status: 415 }),
    );
  });
});
