/**
 * One rule for text that reaches PostgreSQL: a `text`, `varchar` or `jsonb` value cannot hold
 * U+0000 (the server refuses it with SQLSTATE 22021 / 22P05), so a request carrying it anywhere
 * — a body property or key at any depth, a query or path parameter, a header — is a 400 naming
 * each field, decided once before any handler runs instead of by a check each handler must
 * remember. Headers cannot carry it (Node's HTTP parser refuses a NUL byte in a header); the
 * function still looks at headers when given them, for request sources other than Node's parser.
 */
import type { RequestHandler } from "express";
import { badRequest, type FieldError, type HttpProblem } from "./problem.js";

/** The `message` of each {@link FieldError} this rule produces. */
export const NUL_CHARACTER_MESSAGE = "must not contain the NUL character (U+0000)";

/** The parts of a request this rule looks at (each optional; strings at any depth are checked). */
export interface RequestParts {
  body?: unknown;
  query?: unknown;
  path?: unknown;
  headers?: unknown;
}

const LOCATIONS = [
  ["body", "body"],
  ["query", "query"],
  ["path", "path"],
  ["headers", "header"],
] as const satisfies readonly (readonly [keyof RequestParts, FieldError["location"]])[];

/**
 * Every string in `parts` that contains U+0000, as one {@link FieldError} each: `field` is the
 * dotted path to it (`items.0.name`; `""` for a body that is itself a string). A property name
 * containing U+0000 is reported at its own path.
 * @returns an empty array when nothing contains U+0000.
 */
export function nulCharacterErrors(parts: RequestParts): FieldError[] {
  const errors: FieldError[] = [];
  for (const [part, location] of LOCATIONS) {
    collect(parts[part], [], (path) =>
      errors.push({ location, field: path.join("."), message: NUL_CHARACTER_MESSAGE }),
    );
  }
  return errors;
}

function collect(value: unknown, path: string[], found: (path: string[]) => void): void {
  if (typeof value === "string") {
    if (value.includes("\u0000")) found(path);
  } else if (value !== null && typeof value === "object") {
    // Arrays too: their entries are keyed "0", "1", ...
    for (const [key, item] of Object.entries(value)) {
      if (key.includes("\u0000")) found([...path, key]);
      else collect(item, [...path, key], found);
    }
  }
}

/**
 * The 400 Problem for `parts`, or undefined when no string in them contains U+0000 (see
 * {@link nulCharacterErrors}). Pure: the gateway's fast lane calls it on its own request objects.
 */
export function nulCharacterProblem(parts: RequestParts): HttpProblem | undefined {
  const errors = nulCharacterErrors(parts);
  if (errors.length === 0) return undefined;
  const named = errors.map((e) => `${e.location}${e.field ? `.${e.field}` : ""}`);
  return badRequest(`Invalid request: ${named.join(", ")} ${NUL_CHARACTER_MESSAGE}.`, errors);
}

/**
 * Express middleware applying the rule to the body, query and path parameters (Node's HTTP parser
 * already refuses a header holding NUL, with a 400, before any app code runs). Runs
 * after the contract validator, so the path parameters are the operation's (`req.openapi`) and
 * credentials were judged first (a NUL never turns a 401 into a 400).
 */
export function rejectNulCharacters(): RequestHandler {
  return (req, _res, next) => {
    const pathParams = (req as { openapi?: { pathParams?: Record<string, string> } }).openapi
      ?.pathParams;
    next(
      nulCharacterProblem({
        body: req.body,
        query: req.query,
        path: pathParams ?? req.params,
      }),
    );
  };
}
