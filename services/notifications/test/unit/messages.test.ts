import { describe, expect, it } from "@jest/globals";
import { backInStockEmail, backInStockInboxMessage } from "../../src/domain/messages.js";

describe("backInStockInboxMessage", () => {
  it("words the inbox entry as the contract's example does", () => {
    expect(backInStockInboxMessage({ name: "Espresso cup", stock: 25 })).toEqual({
      title: "Espresso cup is back in stock",
      body: "Espresso cup is back in stock (25 available).",
    });
  });
});

describe("backInStockEmail", () => {
  it("uses the product name as subject and names product and stock in the text", () => {
    const email = backInStockEmail({ name: "Espresso cup", stock: 1 }, "Ada");
    expect(email.subject).toBe("Espresso cup is back in stock");
    expect(email.text).toMatch(/^Hello Ada,\n/);
    expect(email.text).toContain("Espresso cup is back in stock, with 1 available right now.");
  });

  it("greets without a name when the recipient's is unknown or blank", () => {
    expect(backInStockEmail({ name: "Tamper", stock: 3 }).text).toMatch(/^Hello,\n/);
    expect(backInStockEmail({ name: "Tamper", stock: 3 }, "  ").text).toMatch(/^Hello,\n/);
  });
});
