import { describe, expect, it } from "@jest/globals";
import { readConfig } from "../../src/config.js";

import { minimalEnv as base } from "../support/config.js";

describe("readConfig: job schedules", () => {
  it("defaults to a digest at 08:00 UTC and an email retry every minute", () => {
    const config = readConfig(base, { exit: false });
    expect(config.DIGEST_CRON).toBe("0 8 * * *");
    expect(config.DIGEST_TIMEZONE).toBe("UTC");
    expect(config.EMAIL_RETRY_CRON).toBe("* * * * *");
  });

  it("keeps given schedules, seconds included", () => {
    const config = readConfig(
      {
        ...base,
        DIGEST_CRON: "* * * * * *",
        DIGEST_TIMEZONE: "Europe/Paris",
        EMAIL_RETRY_CRON: "*/5 * * * *",
      },
      { exit: false },
    );
    expect(config).toMatchObject({
      DIGEST_CRON: "* * * * * *",
      DIGEST_TIMEZONE: "Europe/Paris",
      EMAIL_RETRY_CRON: "*/5 * * * *",
    });
  });

  it("names an invalid pattern or time zone", () => {
    expect(() => readConfig({ ...base, DIGEST_CRON: "0 8 * *" }, { exit: false })).toThrow(
      /DIGEST_CRON/,
    );
    expect(() =>
      readConfig({ ...base, EMAIL_RETRY_CRON: "every minute" }, { exit: false }),
    ).toThrow(/EMAIL_RETRY_CRON/);
    expect(() => readConfig({ ...base, DIGEST_TIMEZONE: "Mars/Olympus" }, { exit: false })).toThrow(
      /DIGEST_TIMEZONE: not an IANA time zone/,
    );
  });
});
