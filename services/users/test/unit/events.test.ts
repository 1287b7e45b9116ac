import { describe, expect, it } from "@jest/globals";
import { createLogger, type EventPublisher } from "@portico/kit";
import { publishUserRegistered, userRegisteredData } from "../../src/events.js";
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
});

describe("publishUserRegistered", () => {
  it("logs a failed publish as an error instead of failing the registration", async () => {
    const failing: EventPublisher = {
      publish: async () => {
        throw new Error("no responders");
      },
    };
    const log = createLogger("users", "silent");
    const errors: unknown[] = [];
    log.error = ((obj: unknown) => {
      errors.push(obj);
    }) as typeof log.error;
    await expect(
      publishUserRegistered(failing, user, { requestId: "req-1", log }),
    ).resolves.toBeUndefined();
    expect(errors).toEqual([
      expect.objectContaining({ subject: "users.user.registered", userId: user.id }),
    ]);
  });
});
