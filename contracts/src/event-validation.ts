/**
 * Event envelope validation against the JSON Schemas generated from `contracts/events.yaml`
 * (`contracts/generated/events.schemas.json`, draft-07). Publishers assert before an event is
 * written; consumers validate on receipt. Each subject's validator is compiled once, on first use.
 */
import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import type { EventSubject } from "../generated/events.js";
import type { EventEnvelope } from "./events.js";

/** One way an envelope breaks its schema. */
export interface EventValidationError {
  /**
   * Where, as a JSON Pointer (RFC 6901) into the envelope: `/data/product/price/amount`;
   * a missing or unexpected property is named in the path; `""` is the envelope itself.
   */
  path: string;
  /** What is wrong, e.g. `must match format "uuid"`. */
  message: string;
}

/** The outcome of {@link validateEvent}. */
export type EventValidation = { valid: true } | { valid: false; errors: EventValidationError[] };

/** Thrown by {@link assertValidEvent}: the subject and every error of the envelope. */
export class InvalidEventError extends Error {
  override readonly name = "InvalidEventError";

  constructor(
    /** The subject the envelope was checked against. */
    readonly subject: string,
    /** Every violation found (never empty). */
    readonly errors: EventValidationError[],
  ) {
    super(
      `invalid ${subject} event: ${errors.map((e) => `${e.path || "(envelope)"} ${e.message}`).join("; ")}`,
    );
  }
}

interface EventSchemasFile {
  events: Record<string, object>;
}

let schemas: Record<string, object> | undefined;
let ajv: Ajv | undefined;
const validators = new Map<EventSubject, ValidateFunction>();

/** The envelope schemas by subject, read once from the generated file. */
function envelopeSchemas(): Record<string, object> {
  if (!schemas) {
    const url = new URL("../generated/events.schemas.json", import.meta.url);
    schemas = (JSON.parse(readFileSync(url, "utf8")) as EventSchemasFile).events;
  }
  return schemas;
}

/**
 * True when `subject` is a declared event subject (a key of `EventPayloads`).
 * @throws Error when contracts/generated/events.schemas.json is missing (`npm run generate`).
 */
export function isEventSubject(subject: string): subject is EventSubject {
  return Object.hasOwn(envelopeSchemas(), subject);
}

/** The compiled validator of `subject`'s envelope, compiled on first use. */
function validatorFor(subject: EventSubject): ValidateFunction {
  let validate = validators.get(subject);
  if (!validate) {
    if (!ajv) {
      // allErrors: report every violation, not only the first; strict: schema typos throw.
      ajv = new Ajv({ allErrors: true, strict: true });
      addFormats.default(ajv);
    }
    validate = ajv.compile(envelopeSchemas()[subject] as object);
    validators.set(subject, validate);
  }
  return validate;
}

/** An ajv error as a path (naming the missing or extra property) and a message. */
function toValidationError(error: ErrorObject): EventValidationError {
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  const property = params.missingProperty ?? params.additionalProperty;
  const path =
    property === undefined
      ? error.instancePath
      : `${error.instancePath}/${property.replaceAll("~", "~0").replaceAll("/", "~1")}`;
  return { path, message: messageOf(error) };
}

/** ajv's message, plus the expected value(s) where ajv leaves them out (`const`, `enum`). */
function messageOf(error: ErrorObject): string {
  const message = error.message ?? error.keyword;
  const params = error.params as { allowedValue?: unknown; allowedValues?: unknown[] };
  if (error.keyword === "const") return `${message} ${JSON.stringify(params.allowedValue)}`;
  if (error.keyword === "enum") {
    return `${message}: ${(params.allowedValues ?? []).map((v) => JSON.stringify(v)).join(", ")}`;
  }
  return message;
}

/**
 * Checks `envelope` against the schema of `subject`: envelope fields (`id` a UUID v7,
 * `type` = `subject`, `occurredAt` RFC 3339, `source` the publishing service, `subject` a
 * UUID) and the subject's `data`, with no property the contract does not declare.
 * @param subject the NATS subject the event is (to be) published on.
 * @param envelope the parsed JSON body.
 * @returns `{ valid: true }`, or every violation; an unknown subject is invalid.
 * @throws Error only when contracts/generated/events.schemas.json is missing or unreadable.
 */
export function validateEvent(subject: string, envelope: unknown): EventValidation {
  if (!isEventSubject(subject)) {
    return {
      valid: false,
      errors: [{ path: "", message: `"${subject}" is not a declared event subject` }],
    };
  }
  const validate = validatorFor(subject);
  if (validate(envelope)) return { valid: true };
  return { valid: false, errors: (validate.errors ?? []).map(toValidationError) };
}

/**
 * Asserts that `envelope` is a valid event of `subject` (see {@link validateEvent}).
 * @throws InvalidEventError naming the subject and each violation.
 */
export function assertValidEvent<S extends EventSubject>(
  subject: S,
  envelope: unknown,
): asserts envelope is EventEnvelope<S> {
  const result = validateEvent(subject, envelope);
  if (!result.valid) throw new InvalidEventError(subject, result.errors);
}
