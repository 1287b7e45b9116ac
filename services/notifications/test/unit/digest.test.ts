import { describe, expect, it } from "@jest/globals";
import { DIGEST_MAX_TITLES, digestDay, digestEmail } from "../../src/domain/digest.js";

describe("digestDay", () => {
  it("is the calendar day of the instant in the time zone", () => {
    const at = new Date("2024-04-30T23:30:00.000Z");
    expect(digestDay(at, "UTC")).toBe("2024-04-30");
    expect(digestDay(at, "Europe/Paris")).toBe("2024-05-01");
    expect(digestDay(at, "America/New_York")).toBe("2024-04-30");
  });

  it("throws on an unknown time zone", () => {
    expect(() => digestDay(new Date(), "Mars/Olympus")).toThrow(RangeError);
  });
});

describe("digestEmail", () => {
  it("counts, lists the titles and greets by name", () => {
    const email = digestEmail(
      { unread: 2, titles: ["Cup is back in stock", "Jug is back"] },
      " Ann ",
    );
    expect(email.subject).toBe("You have 2 unread notifications");
    expect(email.text).toBe(
      [
        "Hello Ann,",
        "",
        "You have 2 unread notifications on Portico:",
        "",
        "- Cup is back in stock",
        "- Jug is back",
        "",
        "You are receiving this daily digest because you have unread notifications.",
        "Read them in your Portico account.",
        "",
        "— Portico",
        "",
      ].join("\n"),
    );
  });

  it("uses the singular for one, and a plain greeting without a name", () => {
    const email = digestEmail({ unread: 1, titles: ["Cup is back in stock"] });
    expect(email.subject).toBe("You have 1 unread notification");
    expect(email.text.startsWith("Hello,\n")).toBe(true);
  });

  it("lists at most DIGEST_MAX_TITLES titles and counts the rest", () => {
    const titles = Array.from({ length: 30 }, (_, i) => `Product ${i} is back in stock`);
    const { text } = digestEmail({ unread: 45, titles });
    expect(text.match(/^- Product/gm)).toHaveLength(DIGEST_MAX_TITLES);
    expect(text).toContain("- … and 25 more");
  });
});
