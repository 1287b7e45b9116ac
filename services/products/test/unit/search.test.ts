import { describe, expect, it } from "@jest/globals";
import { containsPattern } from "../../src/store/products.js";

describe("containsPattern", () => {
  it("wraps plain text in % wildcards", () => {
    expect(containsPattern("cup")).toBe("%cup%");
  });

  it("escapes the LIKE wildcards and the escape character itself", () => {
    expect(containsPattern("50%_off\\now")).toBe("%50\\%\\_off\\\\now%");
  });
});
