import { describe, expect, it } from "@jest/globals";
import { readConfig } from "../../src/config.js";

import { minimalEnv as base } from "../support/config.js";

describe("readConfig: event consumers", () => {
  it("defaults to 5 deliveries with a 5, 15, 60, 180 s back-off", () => {
    const config = readConfig(base, { exit: false });
    expect(config.EVENT_MAX_DELIVER).toBe(5);
    expect(config.EVENT_BACKOFF_SECONDS).toEqual([5, 15, 60, 180]);
  });

  it("reads a delivery limit and a comma-separated back-off in (fractional) seconds", () => {
    const config = readConfig(
      { ...base, EVENT_MAX_DELIVER: "3", EVENT_BACKOFF_SECONDS: " 0.5, 2 ,10" },
      { exit: false },
    );
    expect(config.EVENT_MAX_DELIVER).toBe(3);
    expect(config.EVENT_BACKOFF_SECONDS).toEqual([0.5, 2, 10]);
  });

  it("names a delivery limit below 1 or a back-off that is not positive seconds", () => {
    expect(() => readConfig({ ...base, EVENT_MAX_DELIVER: "0" }, { exit: false })).toThrow(
      /EVENT_MAX_DELIVER/,
    );
    for (const bad of ["", "5,,10", "-1", "5,soon"]) {
      expect(() => readConfig({ ...base, EVENT_BACKOFF_SECONDS: bad }, { exit: false })).toThrow(
        /EVENT_BACKOFF_SECONDS/,
      );
    }
  });
});
