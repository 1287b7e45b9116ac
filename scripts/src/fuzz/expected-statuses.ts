/**
 * What the contract fuzzing may accept beyond the strict defaults of scripts/fuzz/schemathesis.toml
 * (a valid request gets a 2xx, an invalid one a 400), derived per operation from the public
 * contract (the gateway's `GET /openapi.json`, OpenAPI 3.x) instead of a hand-kept list of
 * operationIds: a service added with `npm run new:service` is fuzzed without an edit here.
 *
 * The rule, for a request the contract calls valid (`positive_data_acceptance`): a 2xx, or one of
 * the state-dependent statuses the operation itself declares, when nothing in a schema can say
 * which answer a drawn request gets:
 * - 304 on a GET or HEAD that declares it: a drawn `If-None-Match: *` matches any representation
 *   (RFC 9110 section 13.1.2; a 304 answers conditional GET and HEAD only, section 15.4.5);
 * - 404 on an operation with a path parameter that declares it: an identifier drawn at random
 *   names nothing. An operation without path parameters (`GET /users/me`) names no drawn resource,
 *   so its declared 404 is not accepted from the administrator's own valid request;
 * - 409 when declared: uniqueness or a state conflict (an email registered twice, a replay of a
 *   dead letter already replayed);
 * - 422 when declared: a refusal that depends on state (a drawn product id in a body names no
 *   product);
 * - 401 and 429 when declared by an operation without security requirements: it takes credentials
 *   of its own (sign-in with a drawn account: RFC 6749 section 5.2 `invalid_grant`; throttled
 *   failed sign-ins). Where security is required the pass sends an administrator's valid token, so
 *   401 and 403 stay failures there, as do 400 and every 5xx (a 503 the contract declares is an
 *   outage, not an answer to a valid request).
 *
 * Beyond statuses, also from the contract:
 * - an operation whose 2xx is `text/event-stream` stays open until the client leaves: Schemathesis
 *   reads its first event only (`max-stream-events = 1`);
 * - an operation that declares 431 may answer an invalid request with it: an over-long drawn query
 *   percent-encodes to a request line beyond the HTTP server's header limit, which answers before
 *   any validation (RFC 6585 section 5).
 */
import { documentOperations } from "@portico/contracts/operations";

/** The part of an OpenAPI 3.x document the derivation reads; `$ref`s are local (`#/...`). */
export interface OpenApiDocument {
  paths?: Record<string, Record<string, unknown>>;
  security?: Record<string, string[]>[];
  components?: Record<string, unknown>;
}

/** What one operation may answer beyond the strict defaults, and how its answers are read. */
export interface OperationExpectations {
  operationId: string;
  /** Statuses a valid request may get besides a 2xx ("304", "404", ...), ascending. */
  validAlso: string[];
  /** Statuses an invalid request may get besides 400, ascending. */
  invalidAlso: string[];
  /** Events to read from a streamed answer before leaving it (Server-Sent Events), if streamed. */
  maxStreamEvents?: number;
}

const STREAM_MEDIA_TYPE = "text/event-stream";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Follows a local `$ref` (a JSON Pointer into the same document, RFC 6901); other values as is. */
function resolve(document: OpenApiDocument, value: unknown, depth = 0): unknown {
  if (!isObject(value) || typeof value.$ref !== "string" || depth > 20) return value;
  const ref = value.$ref;
  if (!ref.startsWith("#/")) throw new Error(`only local $refs are supported, got ${ref}`);
  let target: unknown = document;
  for (const token of ref.slice(2).split("/")) {
    const key = token.replaceAll("~1", "/").replaceAll("~0", "~");
    target = isObject(target) ? target[key] : undefined;
  }
  if (target === undefined) throw new Error(`unresolvable $ref ${ref}`);
  return resolve(document, target, depth + 1);
}

/** Whether an operation can be called without credentials (no requirement, or an empty one). */
function isUnsecured(document: OpenApiDocument, operation: Json): boolean {
  const security = (operation.security ?? document.security ?? []) as Json[];
  return (
    security.length === 0 || security.some((requirement) => Object.keys(requirement).length === 0)
  );
}

function hasPathParameter(document: OpenApiDocument, pathItem: Json, operation: Json): boolean {
  const parameters = [
    ...((pathItem.parameters as unknown[]) ?? []),
    ...((operation.parameters as unknown[]) ?? []),
  ];
  return parameters.some((parameter) => {
    const resolved = resolve(document, parameter);
    return isObject(resolved) && resolved.in === "path";
  });
}

function streamsEvents(document: OpenApiDocument, responses: Json): boolean {
  return Object.entries(responses).some(([status, response]) => {
    if (!/^2(\d\d|XX)$/.test(status)) return false;
    const content = (resolve(document, response) as Json | undefined)?.content;
    return (
      isObject(content) && Object.keys(content).some((type) => type.startsWith(STREAM_MEDIA_TYPE))
    );
  });
}

/**
 * Derives, for every operation of `document` that needs any, what it may answer beyond a 2xx to a
 * valid request and a 400 to an invalid one (the rule is in this module's docstring). Operations
 * the strict defaults fit are left out. Ordered as the document lists them.
 *
 * @throws Error when an operation lacks an operationId or a `$ref` is not local or resolvable.
 */
export function deriveExpectations(document: OpenApiDocument): OperationExpectations[] {
  const derived: OperationExpectations[] = [];
  for (const { method, template: path, pathItem, operation } of documentOperations(document)) {
    if (typeof operation.operationId !== "string") {
      throw new Error(`${method.toUpperCase()} ${path} has no operationId`);
    }
    const responses = isObject(operation.responses) ? operation.responses : {};
    const declares = (status: string) => status in responses;
    const validAlso = [
      declares("304") && (method === "get" || method === "head") ? "304" : undefined,
      declares("401") && isUnsecured(document, operation) ? "401" : undefined,
      declares("404") && hasPathParameter(document, pathItem, operation) ? "404" : undefined,
      declares("409") ? "409" : undefined,
      declares("422") ? "422" : undefined,
      declares("429") && isUnsecured(document, operation) ? "429" : undefined,
    ].filter((status) => status !== undefined);
    const invalidAlso = declares("431") ? ["431"] : [];
    const expectations: OperationExpectations = {
      operationId: operation.operationId,
      validAlso,
      invalidAlso,
    };
    if (streamsEvents(document, responses)) expectations.maxStreamEvents = 1;
    if (validAlso.length > 0 || invalidAlso.length > 0 || expectations.maxStreamEvents) {
      derived.push(expectations);
    }
  }
  return derived;
}

/** The settings of one `[[operations]]` block, as a key grouping operations that share them. */
function settingsOf(expectations: OperationExpectations): string {
  const lines: string[] = [];
  if (expectations.maxStreamEvents !== undefined) {
    lines.push(`max-stream-events = ${expectations.maxStreamEvents}`);
  }
  if (expectations.validAlso.length > 0) {
    const statuses = ["2xx", ...expectations.validAlso].map((s) => JSON.stringify(s)).join(", ");
    lines.push(`checks.positive_data_acceptance.expected-statuses = [${statuses}]`);
  }
  if (expectations.invalidAlso.length > 0) {
    const statuses = ["400", ...expectations.invalidAlso].map((s) => JSON.stringify(s)).join(", ");
    lines.push(`checks.negative_data_rejection.expected-statuses = [${statuses}]`);
  }
  return lines.join("\n");
}

/**
 * Schemathesis 4.x configuration (TOML) for `expectations`: one `[[operations]]` block per
 * distinct set of settings, selecting its operations with `include-operation-id`. Appended after
 * the static settings (an array of tables may follow any table). Empty for no expectations.
 */
export function renderOperationsToml(expectations: OperationExpectations[]): string {
  const groups = new Map<string, string[]>();
  for (const entry of expectations) {
    const settings = settingsOf(entry);
    groups.set(settings, [...(groups.get(settings) ?? []), entry.operationId]);
  }
  return [...groups]
    .map(([settings, ids]) => {
      const selector = `include-operation-id = [${ids.map((id) => JSON.stringify(id)).join(", ")}]`;
      return `[[operations]]\n${selector}\n${settings}\n`;
    })
    .join("\n");
}

/** One line per operation for the run's output: `getProduct: valid 2xx|304|404`. */
export function describeExpectations(expectations: OperationExpectations[]): string[] {
  return expectations.map((entry) => {
    const parts: string[] = [];
    if (entry.validAlso.length > 0) parts.push(`valid ${["2xx", ...entry.validAlso].join("|")}`);
    if (entry.invalidAlso.length > 0)
      parts.push(`invalid ${["400", ...entry.invalidAlso].join("|")}`);
    if (entry.maxStreamEvents !== undefined)
      parts.push(`stream read to ${entry.maxStreamEvents} event`);
    return `${entry.operationId}: ${parts.join(", ")}`;
  });
}
