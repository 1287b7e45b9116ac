/**
 * Loading the AsyncAPI 3.0 document of the events (contracts/events.yaml): validated with the
 * official parser, bundled with Redocly so that the schemas it shares with the OpenAPI contracts
 * become local `#/components/schemas/...` references.
 */
import { DiagnosticSeverity, fromFile, Parser } from "@asyncapi/parser";
import { bundle, loadConfig } from "@redocly/openapi-core";

/** A JSON Schema (draft-07, the base of the AsyncAPI Schema Object) as plain JSON. */
export type JsonSchema = { [keyword: string]: unknown };

/** A `{ $ref }` object: a reference inside the bundled document (`#/...`). */
export interface Reference {
  $ref: string;
}

/** An AsyncAPI 3.0 document as plain JSON. Only the parts the generator reads are typed. */
export interface AsyncApiDocument {
  asyncapi: string;
  info: { title: string; version: string; [key: string]: unknown };
  channels: Record<string, AsyncApiChannel>;
  operations: Record<string, AsyncApiOperation>;
  components: {
    messages?: Record<string, AsyncApiMessage | Reference>;
    schemas?: Record<string, JsonSchema>;
    [section: string]: unknown;
  };
  [key: string]: unknown;
}

/** A channel: `address` is the NATS subject (or subject filter). */
export interface AsyncApiChannel {
  address: string;
  title?: string;
  description?: string;
  messages?: Record<string, AsyncApiMessage | Reference>;
  "x-portico-stream"?: string;
  [key: string]: unknown;
}

/** An operation: one service sending to or receiving from a channel. */
export interface AsyncApiOperation {
  action: "send" | "receive";
  channel: Reference;
  messages?: Reference[];
  "x-portico-service"?: string;
  "x-portico-durable"?: string;
  [key: string]: unknown;
}

/** A message: its payload schema and named examples. */
export interface AsyncApiMessage {
  name?: string;
  title?: string;
  summary?: string;
  payload?: JsonSchema;
  headers?: JsonSchema;
  examples?: { name?: string; headers?: Record<string, unknown>; payload?: unknown }[];
  [key: string]: unknown;
}

/** One problem the official AsyncAPI parser reports, with where it is. */
export interface AsyncApiProblem {
  message: string;
  /** JSON path of the offending node, e.g. `channels.deadLetter.address`. */
  path: string;
}

/**
 * Validates an AsyncAPI document with the official parser (`@asyncapi/parser`: the AsyncAPI
 * JSON Schema plus its Spectral ruleset, references resolved).
 * @param file absolute path of the document (YAML or JSON).
 * @returns the problems of severity "error" (warnings and hints are not returned); empty when
 *   the document is valid.
 */
export async function asyncApiErrors(file: string): Promise<AsyncApiProblem[]> {
  const { diagnostics } = await fromFile(new Parser(), file).parse();
  return diagnostics
    .filter((d) => d.severity === DiagnosticSeverity.Error)
    .map((d) => ({ message: d.message, path: d.path.join(".") }));
}

/**
 * Validates then bundles an AsyncAPI document: external `$ref`s (into the OpenAPI contracts'
 * components) become local `#/components/schemas/...` refs; local refs are kept.
 * @param file absolute path of the document.
 * @throws Error listing every parser error, or when a reference cannot be resolved.
 */
export async function loadAsyncApi(file: string): Promise<AsyncApiDocument> {
  const errors = await asyncApiErrors(file);
  if (errors.length > 0) {
    throw new Error(
      `${file} is not a valid AsyncAPI document:\n${errors.map((e) => `  ${e.path}: ${e.message}`).join("\n")}`,
    );
  }
  const config = await loadConfig({});
  const result = await bundle({ ref: file, config, dereference: false });
  const unresolved = result.problems.filter((p) => p.severity === "error");
  if (unresolved.length > 0) {
    throw new Error(`${file}: ${unresolved.map((p) => p.message).join("; ")}`);
  }
  return result.bundle.parsed as AsyncApiDocument;
}

/**
 * Follows local references (`#/a/b`, JSON Pointer, RFC 6901) until a non-reference value.
 * @throws Error when a reference is not local or points at nothing.
 */
export function resolveLocal<T>(doc: AsyncApiDocument, value: T | Reference): T {
  let current: unknown = value;
  for (let hops = 0; isReference(current); hops++) {
    const ref = current.$ref;
    if (!ref.startsWith("#/") || hops > 32) throw new Error(`cannot resolve $ref ${ref}`);
    current = ref
      .slice(2)
      .split("/")
      .map((token) => token.replaceAll("~1", "/").replaceAll("~0", "~"))
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc);
    if (current === undefined) throw new Error(`$ref ${ref} points at nothing`);
  }
  return current as T;
}

/** True for a `{ $ref: string }` object. */
export function isReference(value: unknown): value is Reference {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { $ref?: unknown }).$ref === "string"
  );
}
