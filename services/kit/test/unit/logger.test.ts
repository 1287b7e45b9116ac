import { describe, expect, it } from "@jest/globals";
import { accessLevel } from "../../src/access-log.js";
import { logFormatOf, prettyMessage } from "../../src/logger.js";

describe("logFormatOf", () => {
  it("is pretty in development and JSON elsewhere, unless LOG_FORMAT says otherwise", () => {
    expect(logFormatOf({ NODE_ENV: "development" })).toBe("pretty");
    expect(logFormatOf({ NODE_ENV: "production" })).toBe("json");
    expect(logFormatOf({ NODE_ENV: "test" })).toBe("json");
    expect(logFormatOf({})).toBe("json");
    expect(logFormatOf({ NODE_ENV: "production", LOG_FORMAT: "pretty" })).toBe("pretty");
    expect(logFormatOf({ NODE_ENV: "development", LOG_FORMAT: "json" })).toBe("json");
  });
});

describe("prettyMessage", () => {
  const tag = (name: string) => (text: string) => `<${name}>${text}</${name}>`;
  const colors = {
    red: tag("red"),
    yellow: tag("yellow"),
    cyan: tag("cyan"),
    green: tag("green"),
    gray: tag("gray"),
  };
  const format = (log: Record<string, unknown>) =>
    prettyMessage(log, "msg", "INFO", { colors } as never);

  it("shortens an access line and colours its status by class", () => {
    const access = {
      method: "GET",
      path: "/x",
      durationMs: 3.1,
      reqId: "0123456789abcdef",
      msg: "request completed",
    };
    expect(format({ ...access, status: 200 })).toBe(
      "GET /x <green>200</green> 3.1 ms <gray>01234567</gray>",
    );
    expect(format({ ...access, status: 404 })).toContain("<yellow>404</yellow>");
    expect(format({ ...access, status: 503 })).toContain("<red>503</red>");
    expect(format({ ...access, status: 0 })).toContain("<red>aborted</red>");
  });

  it("leaves other lines' messages as they are", () => {
    expect(format({ msg: "listening", port: 8081 })).toBe("listening");
  });
});

describe("accessLevel", () => {
  it("is error for 5xx and aborted, warn for 4xx, info otherwise", () => {
    expect([200, 304, 404, 500, 0].map(accessLevel)).toEqual([
      "info",
      "info",
      "warn",
      "error",
      "error",
    ]);
  });
});
