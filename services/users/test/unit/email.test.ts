import { describe, expect, it } from "@jest/globals";
import { normalizeEmail, parseEmailList, roleForNewUser } from "../../src/domain/email.js";

describe("normalizeEmail", () => {
  it("lower-cases the whole address", () => {
    expect(normalizeEmail("Ada.Lovelace@Example.COM")).toBe("ada.lovelace@example.com");
  });
});

describe("parseEmailList", () => {
  it("splits on commas, trims, lower-cases and skips blank entries", () => {
    expect([...parseEmailList(" Ada@Example.com, ,bob@example.org,")]).toEqual([
      "ada@example.com",
      "bob@example.org",
    ]);
  });

  it("gives an empty set for an empty variable", () => {
    expect(parseEmailList("").size).toBe(0);
  });
});

describe("roleForNewUser", () => {
  const admins = parseEmailList("root@example.com");

  it("makes a configured email an admin whatever its case", () => {
    expect(roleForNewUser("ROOT@Example.com", admins)).toBe("admin");
  });

  it("makes every other email a user", () => {
    expect(roleForNewUser("root@example.org", admins)).toBe("user");
    expect(roleForNewUser("root@example.com", new Set())).toBe("user");
  });
});
