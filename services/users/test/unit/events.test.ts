import { describe, expect, it } from "@jest/globals";
import { validateEvent } from "@portico/contracts";
import { USER_REGISTERED, USERS_SOURCE, userRegisteredData } from "../../src/events.js";
import type { UserRow } from "../../src/store/schema.js";

const user: UserRow = {
  id: "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b10",
  email: "ada@example.com",
  name: "Ada Lovelace",
  password_hash: "$argon2id$secret",
  role: "user",
  created_at: new Date("2026-11-21T09:30:00.000Z"),
};

describe("userRegisteredData", () => {
  it("carries the id, email, name and role, never the password hash", () => {
    expect(userRegisteredData(user)).toEqual({
      userId: user.id,
      email: "ada@example.com",
      name: "Ada Lovelace",
      role: "user",
    });
  });

  it("satisfies the event contract in the envelope the outbox writes", () => {
    const envelope = {
      id: "0192f0c1-7c1a-7b3e-9f43-2d8a5c1e4b11",
      type: USER_REGISTERED,
      occurredAt: "2026-11-21T09:30:00.000Z",
      source: USERS_SOURCE,
      subject: user.id,
      data: userRegisteredData(user),
    };
    expect(validateEvent(USER_REGISTERED, envelope)).toEqual({ valid: true });
  });
});
