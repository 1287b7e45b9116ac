import { describe, expect, it } from "@jest/globals";
import { createPasswords } from "../../src/security/passwords.js";

describe("createPasswords", () => {
  const passwords = createPasswords();

  it("hashes with Argon2id and a random salt", async () => {
    const first = await passwords.hash("correct-horse-battery");
    const second = await passwords.hash("correct-horse-battery");
    expect(first).toMatch(/^\$argon2id\$/);
    expect(first).not.toBe(second);
  });

  it("verifies the right password and refuses a wrong one", async () => {
    const hash = await passwords.hash("correct-horse-battery");
    expect(await passwords.verify(hash, "correct-horse-battery")).toBe(true);
    expect(await passwords.verify(hash, "Correct-horse-battery")).toBe(false);
  });

  it("treats a malformed hash as a mismatch", async () => {
    expect(await passwords.verify("not-a-phc-string", "anything")).toBe(false);
  });

  it("never accepts a password for a missing account", async () => {
    expect(await passwords.verifyNobody("portico-dummy-password-for-unknown-accounts")).toBe(false);
    expect(await passwords.verifyNobody("correct-horse-battery")).toBe(false);
  });
});
