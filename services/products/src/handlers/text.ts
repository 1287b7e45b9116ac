/**
 * Text the contract accepts but PostgreSQL cannot store: a `text` value cannot contain U+0000
 * (the server rejects it with SQLSTATE 22021), so such input is a 400 naming the field rather
 * than a database error.
 */
import { badRequest, type FieldError } from "@portico/kit";

/**
 * Checks that none of `fields` (name → value; undefined values are skipped) contains U+0000.
 * @throws HttpProblem 400 with one entry per offending field at `location`.
 */
export function assertStorableText(
  location: FieldError["location"],
  fields: Record<string, string | undefined>,
): void {
  const errors: FieldError[] = Object.entries(fields)
    .filter(([, value]) => value?.includes("\u0000"))
    .map(([field]) => ({
      location,
      field,
      message: "must not contain the NUL character (U+0000)",
    }));
  if (errors.length > 0) {
    throw badRequest(
      `Invalid request: ${errors.map((e) => e.field).join(", ")} contains U+0000.`,
      errors,
    );
  }
}
