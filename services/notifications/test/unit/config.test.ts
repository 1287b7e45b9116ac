import { describe, expect, it } from "@jest/globals";
import { readConfig } from "../../src/config.js";

import { minimalEnv as base } from "../support/config.js";

describe("readConfig", () => {
  it("reads SMTP_URL and defaults MAIL_FROM", () => {
    const config = readConfig(base, { exit: false });
    expect(config.SMTP_URL).toBe("smtp://127.0.0.1:1025");
    expect(config.MAIL_FROM).toBe("Portico <no-reply@portico.local>");
    expect(config.PORT).toBe(8083);
  });

  it("keeps a given MAIL_FROM", () => {
    const config = readConfig({ ...base, MAIL_FROM: "Shop <shop@example.com>" }, { exit: false });
    expect(config.MAIL_FROM).toBe("Shop <shop@example.com>");
  });

  it("requires SMTP_URL", () => {
    const { SMTP_URL: _omitted, ...withoutSmtp } = base;
    expect(() => readConfig(withoutSmtp, { exit: false })).toThrow(/SMTP_URL/);
  });

  it("rejects an SMTP_URL that is not smtp:// or smtps://", () => {
    expect(() =>
      readConfig({ ...base, SMTP_URL: "http://127.0.0.1:1025" }, { exit: false }),
    ).toThrow(/SMTP_URL/);
    expect(() => readConfig({ ...base, SMTP_URL: "localhost:1025" }, { exit: false })).toThrow(
      /SMTP_URL/,
    );
  });
});
