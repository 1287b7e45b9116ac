/**
 * The request checks of the gateway's fast lane (fast-lane.ts), compiled once per operation from
 * the public contract with Ajv (JSON Schema 2020-12, as OpenAPI 3.1 uses): path, query and header
 * parameters, and a JSON request body.
 *
 * They only ever *accept*: a request they are not sure of — a failed check, a parameter style
 * or media type they were not built for — is handed to express-openapi-validator, which decides
 * and, for a bad request, writes the 400 naming each field. So they may be stricter than that
 * validator (formats are checked in ajv-formats' "full" mode, it uses "fast"), never looser.
 * Operations whose parameters are not plain primitives (arrays, objects, `content`, non-default
 * styles) or whose security schemes are not `bearerAuth`/`apiKeyAuth` get no checks: every
 * request for them takes the validator's way.
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { isJsonMediaType, mediaTypeOf } from "../pipeline/body.js";

/** What the checks read of an operation. */
type Operation = { method: string; template: string; operationId: string };

/** One security requirement: scheme name → required scopes (roles). OpenAPI 3.1 section 4.8.30. */
export type SecurityRequirement = Record<string, string[]>;

/** What a request brings, as the checks read it. */
export interface RequestParts {
  pathParams: Record<string, string>;
  /** The query string without `?` (may be empty). */
  query: string;
  headers: Record<string, string | string[] | undefined>;
  /** The body exactly as received; empty when there is none. */
  body: Buffer;
}

/** The compiled checks of one operation. */
export interface OperationChecks {
  /** Security requirements (alternatives); empty: public. */
  security: SecurityRequirement[];
  /** Whether the parameters and body are surely valid (false: let the validator decide). */
  accepts(parts: RequestParts): boolean;
}

/** The security schemes the fast lane can check (contracts/components.yaml). */
const KNOWN_SCHEMES = new Set(["bearerAuth", "apiKeyAuth"]);
const PRIMITIVES = new Set(["string", "integer", "number", "boolean"]);
const UTF8 = new Set(["utf-8", "utf8"]);
const CONTRACT_ID = "contract.json";

type Json = Record<string, unknown>;
type Coerce = (value: string) => unknown;

interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  required: boolean;
  /** JSON pointer of its schema in the contract. */
  schemaPointer: string;
  coerce: Coerce;
}

/** Escapes one JSON pointer token (RFC 6901 section 3). */
function token(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** Follows a local `$ref` (`#/...`) to the node it names, with that node's pointer. */
function follow(contract: Json, node: unknown, pointer: string): { node: Json; pointer: string } {
  let current = node as Json;
  let at = pointer;
  for (let hops = 0; typeof current?.$ref === "string" && hops < 10; hops++) {
    const ref = current.$ref as string;
    if (!ref.startsWith("#/")) break;
    at = ref.slice(1);
    current = ref
      .slice(2)
      .split("/")
      .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
      .reduce<unknown>((value, key) => (value as Json | undefined)?.[key], contract) as Json;
  }
  return { node: current, pointer: at };
}

/** The parser turning a parameter's text into its schema's type; undefined when unsure. */
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
function parametersOf(contract: Json, route: Operation): Parameter[] | undefined {
  const itemPointer = `/paths/${token(route.template)}`;
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
      const schema = follow(contract, param.schema, `${pointer}/schema`).node;
      const coerce = coercerOf(schema?.type);
      const plain =
        (where === "path" || where === "query" || where === "header") &&
        param.content === undefined &&
        param.style === undefined &&
        param.explode === undefined &&
        param.allowReserved === undefined &&
        param.allowEmptyValue === undefined &&
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
      properties: Object.fromEntries(
        own.map((p) => [p.name, { $ref: `${CONTRACT_ID}#${encodeURI(p.schemaPointer)}` }]),
      ),
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
 * Compiles the checks of every operation of `contract` that the fast lane can take.
 * @param routes the operations (see routes.ts); local ones are skipped by the caller.
 * @returns checks by operationId; an operation missing from the map always takes the validator's
 *   way.
 */
export function compileRequestChecks(
  contract: Json,
  routes: readonly Operation[],
): Map<string, OperationChecks> {
  const ajv = contractAjv(contract);
  const checks = new Map<string, OperationChecks>();
  for (const route of routes) {
    const compiled = compileOperation(ajv, contract, route);
    if (compiled) checks.set(route.operationId, compiled);
  }
  return checks;
}

/** An Ajv holding `contract` (as {@link CONTRACT_ID}), checking formats in "full" mode. */
function contractAjv(contract: Json): Ajv2020 {
  const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
  addFormats.default(ajv, { mode: "full" });
  // A format Ajv does not know fails the check (the validator may know it: it decides then).
  for (const format of formatsUsed(contract)) {
    if (!ajv.formats[format]) ajv.addFormat(format, () => false);
  }
  ajv.addSchema(structuredClone(contract), CONTRACT_ID);
  return ajv;
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
  route: Operation,
  where: "path" | "query" | "header",
  name: string,
): ParameterCheck | undefined {
  const itemPointer = `/paths/${token(route.template)}`;
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
      const validate = contractAjv(contract).compile({
        $ref: `${CONTRACT_ID}#${encodeURI(`${pointer}/schema`)}`,
      });
      return (value) =>
        validate(coerce(value))
          ? []
          : (validate.errors ?? []).map((e) => e.message ?? "is invalid");
    }
  }
  return undefined;
}

function compileOperation(
  ajv: Ajv2020,
  contract: Json,
  route: Operation,
): OperationChecks | undefined {
  const method = route.method.toLowerCase();
  const opPointer = `/paths/${token(route.template)}/${method}`;
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

  let body: { required: boolean; mediaType: string; validate: ValidateFunction } | undefined;
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
      const schemaPointer = `${pointer}/content/${token(mediaType)}/schema`;
      body = {
        required: requestBody.required === true,
        mediaType,
        validate: ajv.compile({ $ref: `${CONTRACT_ID}#${encodeURI(schemaPointer)}` }),
      };
    } else if (requestBody.required === true) return undefined;
  }

  return {
    security,
    accepts: (parts) => {
      const values = { path: {} as Json, query: {} as Json, headers: {} as Json };
      if (parts.query !== "") {
        for (const [name, value] of new URLSearchParams(parts.query)) {
          const param = query.get(name);
          // Unknown, repeated or empty: the validator knows what to answer.
          if (!param || name in values.query || value === "") return false;
          values.query[name] = param.coerce(value);
        }
      }
      for (const param of others) {
        const raw = param.in === "path" ? parts.pathParams[param.name] : parts.headers[param.name];
        if (raw === undefined) continue;
        if (typeof raw !== "string") return false;
        (param.in === "path" ? values.path : values.headers)[param.name] = param.coerce(raw);
      }
      if (!validateParameters(values)) return false;
      if (parts.body.length === 0) return body?.required !== true;
      if (!body) return false;
      const { type, charset } = mediaTypeOf(headerOf(parts.headers["content-type"]));
      if (type !== body.mediaType || (charset !== undefined && !UTF8.has(charset))) return false;
      let parsed: unknown;
      try {
        parsed = JSON.parse(parts.body.toString("utf8"));
      } catch {
        return false;
      }
      return body.validate(parsed) === true;
    },
  };
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** Every `format` value used anywhere in `contract`. */
function formatsUsed(contract: unknown): Set<string> {
  const formats = new Set<string>();
  const visit = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) {
        if (key === "format" && typeof value === "string") formats.add(value);
        else visit(value);
      }
    }
  };
  visit(contract);
  return formats;
}
