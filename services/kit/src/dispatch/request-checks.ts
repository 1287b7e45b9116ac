/**
 * Request checks compiled once per operation from a contract: path, query and header parameters,
 * and a JSON request body, judged as express-openapi-validator would (validator-ajv.ts), for a
 * fast way in that must only take the requests the validator would let through — the kit's
 * dispatcher (contract-dispatcher.ts) and the gateway's fast lane.
 *
 * They only ever *accept*: a request they are not sure of — a failed check, a parameter style
 * or media type they were not built for — is left to express-openapi-validator, which decides
 * and, for a bad request, writes the 400 naming each field. So they may be stricter than that
 * validator, never looser. Operations whose parameters are not plain primitives (arrays, objects,
 * `content`, non-default styles) or whose security schemes are not `bearerAuth`/`apiKeyAuth` get
 * no checks: every request for them takes the validator's way.
 *
 * What they accept they also give back as the validator leaves it for a handler: query and path
 * parameters coerced to their schema's type (the validator's Ajv coerces parameters), absent ones
 * with a `default` filled in, the body parsed with its schema's defaults filled in.
 */
import { parse as parseQuery } from "node:querystring";
import type { Ajv2020, ValidateFunction } from "ajv/dist/2020.js";
import { isJsonMediaType, mediaTypeOf } from "./media-type.js";
import { contractSchemaRef, pointerToken, validatorAjv } from "./validator-ajv.js";

/** What the checks read of an operation. */
export interface CheckedOperation {
  method: string;
  template: string;
  operationId: string;
}

/** One security requirement: scheme name → required scopes (roles). OpenAPI 3.1 section 4.8.30. */
export type SecurityRequirement = Record<string, string[]>;

/** What a request brings, as the checks read it. */
export interface RawRequestParts {
  /** Path parameters, percent-decoded (see operation-matcher.ts). */
  pathParams: Record<string, string>;
  /** The query string without `?` (may be empty). */
  query: string;
  headers: Record<string, string | string[] | undefined>;
  /** The body exactly as received; empty when there is none. */
  body: Buffer;
}

/** An accepted request's values, as the validator leaves them for a handler. */
export interface CheckedRequest {
  /** Path parameters, coerced. */
  path: Record<string, unknown>;
  /** Query parameters, coerced, defaults filled in (a prototype-less object, as Node parses it). */
  query: Record<string, unknown>;
  /** The declared header parameters whose value the validator changes (coerced or defaulted). */
  headers: Record<string, unknown>;
  /** The parsed JSON body with its defaults filled in; undefined without a body. */
  body: unknown;
}

/** The compiled checks of one operation. */
export interface OperationChecks {
  /** Security requirements (alternatives); empty: public. */
  security: SecurityRequirement[];
  /** The request's values when its parameters and body are surely valid, else undefined. */
  check(parts: RawRequestParts): CheckedRequest | undefined;
  /** Whether the parameters and body are surely valid (false: let the validator decide). */
  accepts(parts: RawRequestParts): boolean;
}

/** The security schemes the checks know (contracts/components.yaml). */
const KNOWN_SCHEMES = new Set(["bearerAuth", "apiKeyAuth"]);
const PRIMITIVES = new Set(["string", "integer", "number", "boolean"]);
const UTF8 = new Set(["utf-8", "utf8"]);
/** Characters express-openapi-validator refuses unencoded in a query value (its mutator). */
const RESERVED_CHARS = /[:/?#[\]@!$&'()*+,;=]/;

type Json = Record<string, unknown>;
type Coerce = (value: string) => unknown;

interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  required: boolean;
  /** JSON pointer of its schema in the contract. */
  schemaPointer: string;
  coerce: Coerce;
  /** The `default` the validator fills in when it is absent. */
  default: unknown;
}

/** Follows a local `$ref` (`#/...`) to the node it names, with that node's pointer and hops. */
function follow(
  contract: Json,
  node: unknown,
  pointer: string,
): { node: Json; pointer: string; hops: number } {
  let current = node as Json;
  let at = pointer;
  let hops = 0;
  for (; typeof current?.$ref === "string" && hops < 10; hops++) {
    const ref = current.$ref as string;
    if (!ref.startsWith("#/")) break;
    at = ref.slice(1);
    current = ref
      .slice(2)
      .split("/")
      .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
      .reduce<unknown>((value, key) => (value as Json | undefined)?.[key], contract) as Json;
  }
  return { node: current, pointer: at, hops };
}

/**
 * The parser turning a parameter's text into its schema's type, as Ajv's `coerceTypes` would for
 * the plain forms; anything else is left a string (and fails the type: the validator decides).
 */
function coercerOf(type: unknown): Coerce | undefined {
  if (type === "string") return (value) => value;
  if (type === "integer") return (value) => (/^-?\d{1,15}$/.test(value) ? Number(value) : value);
  if (type === "number") {
    return (value) => (/^-?\d{1,15}(\.\d{1,15})?$/.test(value) ? Number(value) : value);
  }
  if (type === "boolean") {
    return (value) => (value === "true" ? true : value === "false" ? false : value);
  }
  return undefined;
}

/** The parameters of an operation, or undefined when one is not a plain primitive. */
function parametersOf(contract: Json, route: CheckedOperation): Parameter[] | undefined {
  const itemPointer = `/paths/${pointerToken(route.template)}`;
  const item = (contract.paths as Json)[route.template] as Json;
  const opPointer = `${itemPointer}/${route.method.toLowerCase()}`;
  const op = item[route.method.toLowerCase()] as Json;
  const declared = new Map<string, Parameter | undefined>();
  const lists: [unknown, string][] = [
    [item.parameters, `${itemPointer}/parameters`],
    [op.parameters, `${opPointer}/parameters`],
  ];
  for (const [list, listPointer] of lists) {
    if (!Array.isArray(list)) continue;
    list.forEach((entry, index) => {
      const { node: param, pointer } = follow(contract, entry, `${listPointer}/${index}`);
      const where = param.in as string;
      const key = `${where}:${String(param.name).toLowerCase()}`;
      // The validator follows one `$ref` of a parameter's schema and reads that schema's default.
      const resolved = follow(contract, param.schema, `${pointer}/schema`);
      const schema = resolved.node;
      const coerce = coercerOf(schema?.type);
      const plain =
        (where === "path" || where === "query" || where === "header") &&
        param.content === undefined &&
        param.style === undefined &&
        param.explode === undefined &&
        param.allowReserved === undefined &&
        param.allowEmptyValue === undefined &&
        resolved.hops <= 1 &&
        typeof schema?.type === "string" &&
        PRIMITIVES.has(schema.type) &&
        coerce !== undefined;
      declared.set(
        key,
        plain
          ? {
              name: where === "header" ? String(param.name).toLowerCase() : String(param.name),
              in: where as Parameter["in"],
              required: param.required === true,
              schemaPointer: `${pointer}/schema`,
              coerce,
              default: schema.default,
            }
          : undefined,
      );
    });
  }
  const parameters = [...declared.values()];
  return parameters.every((p) => p !== undefined) ? (parameters as Parameter[]) : undefined;
}

/** The JSON Schema of `{ path, query, headers }` for an operation's parameters. */
function parametersSchema(parameters: Parameter[]): Json {
  const group = (where: Parameter["in"], additional: boolean) => {
    const own = parameters.filter((p) => p.in === where);
    return {
      type: "object",
      properties: Object.fromEntries(own.map((p) => [p.name, contractSchemaRef(p.schemaPointer)])),
      required: own.filter((p) => p.required).map((p) => p.name),
      additionalProperties: additional,
    };
  };
  return {
    type: "object",
    properties: {
      path: group("path", false),
      query: group("query", false),
      headers: group("header", true),
    },
  };
}

/**
 * Compiles the checks of every operation of `contract` that they can judge.
 * @param routes the operations to compile checks for.
 * @returns checks by operationId; an operation missing from the map always takes the validator's
 *   way.
 */
export function compileRequestChecks(
  contract: Json,
  routes: readonly CheckedOperation[],
): Map<string, OperationChecks> {
  const ajv = validatorAjv(contract, { useDefaults: true });
  const checks = new Map<string, OperationChecks>();
  for (const route of routes) {
    const compiled = compileOperation(ajv, contract, route);
    if (compiled) checks.set(route.operationId, compiled);
  }
  return checks;
}

/**
 * Checks one parameter's text against its schema: the reasons it is invalid (Ajv's messages,
 * e.g. `must NOT have more than 4096 characters`), empty when it is valid.
 */
export type ParameterCheck = (value: string) => string[];

/**
 * Compiles the check of one parameter of an operation from its own schema in `contract`, for a
 * step that must judge it before the contract validator sees the request (e.g. a parameter the
 * gateway removes from the URL).
 * @param where where the parameter is: `path`, `query` or `header`.
 * @returns undefined when the operation declares no such parameter of a primitive type.
 */
export function compileParameterCheck(
  contract: Json,
  route: CheckedOperation,
  where: "path" | "query" | "header",
  name: string,
): ParameterCheck | undefined {
  const itemPointer = `/paths/${pointerToken(route.template)}`;
  const item = ((contract.paths as Json | undefined)?.[route.template] ?? {}) as Json;
  const op = (item[route.method.toLowerCase()] ?? {}) as Json;
  const lists: [unknown, string][] = [
    [op.parameters, `${itemPointer}/${route.method.toLowerCase()}/parameters`],
    [item.parameters, `${itemPointer}/parameters`],
  ];
  for (const [list, listPointer] of lists) {
    if (!Array.isArray(list)) continue;
    for (const [index, entry] of list.entries()) {
      const { node: param, pointer } = follow(contract, entry, `${listPointer}/${index}`);
      if (param?.in !== where || param.name !== name) continue;
      const coerce = coercerOf(follow(contract, param.schema, `${pointer}/schema`).node?.type);
      if (!coerce) return undefined;
      const validate = validatorAjv(contract, { useDefaults: false }).compile(
        contractSchemaRef(`${pointer}/schema`),
      );
      return (value) =>
        validate(coerce(value))
          ? []
          : (validate.errors ?? []).map((e) => e.message ?? "is invalid");
    }
  }
  return undefined;
}

/** Whether any raw (undecoded) query value carries a character the validator wants encoded. */
function hasReservedCharacters(query: string): boolean {
  for (const pair of query.split("&")) {
    const equals = pair.indexOf("=");
    if (equals >= 0 && RESERVED_CHARS.test(pair.slice(equals + 1))) return true;
  }
  return false;
}

function compileOperation(
  ajv: Ajv2020,
  contract: Json,
  route: CheckedOperation,
): OperationChecks | undefined {
  const method = route.method.toLowerCase();
  const opPointer = `/paths/${pointerToken(route.template)}/${method}`;
  const op = ((contract.paths as Json)[route.template] as Json)[method] as Json;
  const security = (op.security ?? contract.security ?? []) as SecurityRequirement[];
  if (security.some((requirement) => Object.keys(requirement).some((s) => !KNOWN_SCHEMES.has(s)))) {
    return undefined;
  }
  const parameters = parametersOf(contract, route);
  if (!parameters) return undefined;
  const validateParameters = ajv.compile(parametersSchema(parameters));
  const query = new Map(parameters.filter((p) => p.in === "query").map((p) => [p.name, p]));
  const others = parameters.filter((p) => p.in !== "query");
  const defaulted = parameters.filter((p) => p.default !== undefined);
  const headerParameters = parameters.filter((p) => p.in === "header");

  let body:
    | { required: unknown; mediaType: string | undefined; validate?: ValidateFunction }
    | undefined;
  if (op.requestBody !== undefined) {
    const { node: requestBody, pointer } = follow(
      contract,
      op.requestBody,
      `${opPointer}/requestBody`,
    );
    const content = (requestBody.content ?? {}) as Json;
    // Only the operation's JSON media type is checked here (a form body takes the validator's way).
    const mediaType = Object.keys(content).find(isJsonMediaType);
    if (mediaType) {
      const schemaPointer = `${pointer}/content/${pointerToken(mediaType)}/schema`;
      body = {
        required: requestBody.required,
        mediaType,
        validate: ajv.compile(contractSchemaRef(schemaPointer)),
      };
    } else if (requestBody.required === true) return undefined;
    else body = { required: requestBody.required, mediaType: undefined };
  }

  const check = (parts: RawRequestParts): CheckedRequest | undefined => {
    const values = {
      path: {} as Json,
      query: (parts.query === "" ? Object.create(null) : parseQuery(parts.query)) as Json,
      headers: {} as Json,
    };
    if (parts.query !== "" && hasReservedCharacters(parts.query)) return undefined;
    for (const name in values.query) {
      const param = query.get(name);
      const value = values.query[name];
      // Unknown, repeated or empty: the validator knows what to answer.
      if (!param || typeof value !== "string" || value === "") return undefined;
      values.query[name] = param.coerce(value);
    }
    for (const param of others) {
      const raw = param.in === "path" ? parts.pathParams[param.name] : parts.headers[param.name];
      if (raw === undefined) continue;
      if (typeof raw !== "string") return undefined;
      (param.in === "path" ? values.path : values.headers)[param.name] = param.coerce(raw);
    }
    if (!validateParameters(values)) return undefined;
    for (const param of defaulted) {
      const group =
        param.in === "path" ? values.path : param.in === "query" ? values.query : values.headers;
      if (group[param.name] === undefined) group[param.name] = structuredClone(param.default);
    }
    const headers: Json = {};
    for (const param of headerParameters) {
      const value = values.headers[param.name];
      if (value !== undefined && value !== parts.headers[param.name]) headers[param.name] = value;
    }
    const checked = { path: values.path, query: values.query, headers, body: undefined as unknown };
    const contentType = headerOf(parts.headers["content-type"]);
    if (parts.body.length === 0) {
      if (!body) return checked;
      // The validator wants a declared media type, or none only where the body is optional
      // *explicitly* (`required: false`).
      if (contentType === undefined) return body.required === false ? checked : undefined;
      return body.required !== true && mediaTypeOf(contentType).type === body.mediaType
        ? checked
        : undefined;
    }
    if (!body?.validate) return undefined;
    const { type, charset } = mediaTypeOf(contentType);
    if (type !== body.mediaType || (charset !== undefined && !UTF8.has(charset))) return undefined;
    try {
      checked.body = JSON.parse(parts.body.toString("utf8"));
    } catch {
      return undefined;
    }
    return body.validate(checked.body) === true ? checked : undefined;
  };

  return { security, check, accepts: (parts) => check(parts) !== undefined };
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}
