/**
 * Email rules of the users service: one canonical, lower-case form per address, and the
 * configured list of administrators ("the first admin comes from configuration").
 */
import type { UsersApi } from "@portico/contracts";

/** A user's role (`user` or `admin`). */
export type Role = UsersApi.components["schemas"]["Role"];

/**
 * The canonical form of an email address: trimmed and lower-cased, so addresses compare case-insensitively
 * everywhere (storage, unique constraint, login). The contract already restricts emails to ASCII.
 */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * Parses a comma-separated list of emails (the `ADMIN_EMAILS` variable) into canonical forms.
 * Blank entries are ignored: `"Ada@x.org, ,bob@y.org"` → `{"ada@x.org", "bob@y.org"}`.
 */
export function parseEmailList(csv: string): ReadonlySet<string> {
  return new Set(
    csv
      .split(",")
      .map(normalizeEmail)
      .filter((email) => email !== ""),
  );
}

/**
 * The role a new account gets: `admin` when its email is one of the configured administrators'
 * (compared case-insensitively), else `user`.
 * @param adminEmails canonical emails, as returned by {@link parseEmailList}.
 */
export function roleForNewUser(email: string, adminEmails: ReadonlySet<string>): Role {
  return adminEmails.has(normalizeEmail(email)) ? "admin" : "user";
}
