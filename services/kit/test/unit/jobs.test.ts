import { describe, expect, it } from "@jest/globals";
import { cronError, tickStamp } from "../../src/jobs.js";

describe("tickStamp", () => {
  it("writes the tick in ISO 8601 basic format, whole seconds, UTC", () => {
    expect(tickStamp(new Date("2024-05-01T08:00:00.000Z"))).toBe("20240501T080000Z");
    expect(tickStamp(new Date("2024-12-31T23:59:59.000Z"))).toBe("20241231T235959Z");
  });
});

describe("cronError", () => {
  it("accepts 5- and 6-field patterns in a valid time zone", () => {
    expect(cronError("0 8 * * *")).toBeUndefined();
    expect(cronError("* * * * * *", "Europe/Paris")).toBeUndefined();
  });

  it("names what is wrong with a pattern or a time zone", () => {
    expect(cronError("0 8 * *")).toMatch(/five, six, or seven/);
    expect(cronError("61 * * * *")).toMatch(/minute/);
    expect(cronError("0 8 * * *", "Mars/Olympus")).toMatch(/Mars\/Olympus/);
  });
});
