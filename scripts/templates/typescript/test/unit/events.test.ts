/** The events this service publishes match the event contract (contracts/events.yaml). */
import { describe, expect, it } from "@jest/globals";
import { validateEvent } from "@portico/contracts";
import { newEnvelope } from "@portico/kit";
import { __entity__Created, SOURCE, STREAM } from "../../src/events.js";

const row = {
  id: "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10",
  name: "First __entity__",
  owner_id: "0192f0c1-7b00-7a11-8c22-3d4e5f607182",
  created_at: new Date("2026-11-21T09:31:00.000Z"),
};

describe("__name__.__entity__.created", () => {
  it("carries the row in the contract's shape, on this service's stream", () => {
    const envelope = newEnvelope(
      SOURCE,
      "__name__.__entity__.created",
      row.id,
      __entity__Created(row),
    );

    expect(validateEvent("__name__.__entity__.created", envelope).valid).toBe(true);
    expect(envelope.data.__entity__).toEqual({
      id: row.id,
      name: row.name,
      ownerId: row.owner_id,
      createdAt: "2026-11-21T09:31:00.000Z",
    });
    expect(STREAM.subjects).toContain("__name__.__entity__.created");
  });

  it("is refused by the contract without its name", () => {
    const { name: _name, ...incomplete } = __entity__Created(row).__entity__;
    const envelope = newEnvelope(SOURCE, "__name__.__entity__.created", row.id, {
      __entity__: incomplete as never,
    });

    expect(validateEvent("__name__.__entity__.created", envelope).valid).toBe(false);
  });
});
