import { createRequire } from "node:module";
import { describe, expect, it } from "@jest/globals";
import {
  compileValidatorRoutesExactlyOnce,
  pathToRegexpOptions,
} from "../../src/validator-routes.js";

type Compiled = { regexp: RegExp; keys: { name: string }[] };

/** The path-to-regexp that express-openapi-validator itself loads. */
function validatorsPathToRegexp(): (path: string, options?: object) => Compiled {
  const require = createRequire(import.meta.url);
  const fromValidator = createRequire(require.resolve("express-openapi-validator"));
  return (fromValidator("path-to-regexp") as { pathToRegexp: never }).pathToRegexp;
}

describe("pathToRegexpOptions", () => {
  it("hands `strict` on as path-to-regexp 8's `trailing`", () => {
    expect(pathToRegexpOptions({ strict: true, sensitive: true })).toEqual({
      trailing: false,
      sensitive: true,
    });
    expect(pathToRegexpOptions({ strict: false })).toEqual({ trailing: true });
    expect(pathToRegexpOptions({ end: false })).toEqual({ end: false });
    expect(pathToRegexpOptions(undefined)).toBeUndefined();
  });
});

describe("compileValidatorRoutesExactlyOnce", () => {
  it("makes the validator's templates match exactly, and compiles each once", () => {
    compileValidatorRoutesExactlyOnce();
    compileValidatorRoutesExactlyOnce(); // idempotent
    const pathToRegexp = validatorsPathToRegexp();
    const options = { strict: true, sensitive: true };
    const first = pathToRegexp("/things/:thingId", options);
    expect(pathToRegexp("/things/:thingId", { ...options })).toBe(first);
    expect(first.regexp.exec("/things/1")?.[1]).toBe("1");
    expect(first.regexp.test("/things/1/")).toBe(false);
    expect(first.regexp.test("/THINGS/1")).toBe(false);
    expect(pathToRegexp("/things/:thingId", { strict: false }).regexp.test("/things/1/")).toBe(
      true,
    );
  });
});
