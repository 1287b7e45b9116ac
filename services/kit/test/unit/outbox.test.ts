import { describe, expect, it } from "@jest/globals";
import { traceparentOf } from "../../src/outbox.js";

const VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("traceparentOf", () => {
  it("passes a well-formed W3C traceparent on", () => {
    expect(traceparentOf({ traceparent: VALID })).toBe(VALID);
    expect(traceparentOf({ traceparent: ` ${VALID} ` })).toBe(VALID);
  });

  it("drops a missing, malformed or invalid one", () => {
    expect(traceparentOf({})).toBeUndefined();
    expect(traceparentOf({ traceparent: "not-a-trace" })).toBeUndefined();
    expect(traceparentOf({ traceparent: VALID.toUpperCase() })).toBeUndefined();
    expect(traceparentOf({ traceparent: `ff${VALID.slice(2)}` })).toBeUndefined();
    expect(
      traceparentOf({ traceparent: "00-00000000000000000000000000000000-00f067aa0ba902b7-01" }),
    ).toBeUndefined();
    expect(
      traceparentOf({ traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01" }),
    ).toBeUndefined();
  });
});
