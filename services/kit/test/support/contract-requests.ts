/**
 * Requests derived from a bundled contract: for each operation a valid request (path, query and
 * body sampled from the schemas with openapi-sampler, which prefers the contract's examples), and
 * the string fields it carries, so a test can alter one field at a time.
 */

import { sample } from "openapi-sampler";
import type { FieldError } from "../../src/problem.js";

type Schema = Record<string, unknown>;
interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: Schema;
}
interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
}

/** A valid request for one operation, parts kept apart so one field can be changed. */
export interface SampledRequest {
  operationId: string;
  method: string;
  /** The path template, e.g. `/products/{productId}`. */
  template: string;
  path: Record<string, string>;
  query: Record<string, string>;
  /** The JSON body (undefined when the operation takes none). */
  body: unknown;
}

/** One string a request carries, by the location and dotted field name a Problem uses. */
export interface StringField {
  location: FieldError["location"];
  field: string;
}

const METHODS = ["get", "put", "post", "delete", "patch"] as const;

function resolve<T>(document: Schema, value: T): T {
  const ref = (value as { $ref?: string } | undefined)?.$ref;
  if (!ref?.startsWith("#/")) return value;
  const target = ref
    .slice(2)
    .split("/")
    .reduce<unknown>((node, key) => (node as Schema)[key], document);
  return resolve(document, target as T);
}

function sampled(document: Schema, schema: Schema | undefined): unknown {
  return sample(
    (schema ?? {}) as never,
    { skipReadOnly: true, enablePatterns: true, quiet: true },
    document,
  );
}

/** A valid request for every operation of `document` (a bundled OpenAPI 3.1 contract). */
export function sampleRequests(document: Schema): SampledRequest[] {
  const requests: SampledRequest[] = [];
  for (const [template, rawItem] of Object.entries(document.paths as Record<string, Schema>)) {
    const item = resolve(document, rawItem);
    for (const method of METHODS) {
      const op = item[method] as Operation | undefined;
      if (!op) continue;
      const parameters = [
        ...((item.parameters as Parameter[] | undefined) ?? []),
        ...(op.parameters ?? []),
      ].map((p) => resolve(document, p));
      const path: Record<string, string> = {};
      const query: Record<string, string> = {};
      for (const p of parameters) {
        if (p.in === "path") path[p.name] = String(sampled(document, p.schema));
        // Optional query parameters too: each string one is a field to test.
        if (p.in === "query") query[p.name] = String(sampled(document, p.schema));
      }
      const json = op.requestBody?.content?.["application/json"]?.schema;
      requests.push({
        operationId: op.operationId,
        method: method.toUpperCase(),
        template,
        path,
        query,
        body: json ? sampled(document, json) : undefined,
      });
    }
  }
  return requests;
}

/**
 * The string fields of `request`: every path and query parameter that is a string in the
 * contract, and every string in the body at any depth.
 */
export function stringFields(document: Schema, request: SampledRequest): StringField[] {
  const item = resolve(document, (document.paths as Record<string, Schema>)[request.template]);
  const op = item?.[request.method.toLowerCase()] as Operation;
  const parameters = [
    ...((item?.parameters as Parameter[] | undefined) ?? []),
    ...(op.parameters ?? []),
  ].map((p) => resolve(document, p));
  const isString = (p: Parameter) => resolve(document, p.schema)?.type === "string";
  const fields: StringField[] = parameters
    .filter((p) => (p.in === "path" || p.in === "query") && isString(p))
    .map((p) => ({ location: p.in as "path" | "query", field: p.name }));
  const walk = (value: unknown, path: string[]) => {
    if (typeof value === "string") fields.push({ location: "body", field: path.join(".") });
    else if (value !== null && typeof value === "object")
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
  };
  walk(request.body, []);
  return fields;
}

/** `request` with `suffix` appended to the string at `target`. */
export function withSuffix(
  request: SampledRequest,
  target: StringField,
  suffix: string,
): SampledRequest {
  const copy = structuredClone(request);
  if (target.location === "path") copy.path[target.field] += suffix;
  else if (target.location === "query") copy.query[target.field] += suffix;
  else {
    const keys = target.field.split(".");
    const last = keys.pop() as string;
    const parent = keys.reduce<Record<string, unknown>>(
      (node, key) => node[key] as Record<string, unknown>,
      copy.body as Record<string, unknown>,
    );
    parent[last] = `${parent[last] as string}${suffix}`;
  }
  return copy;
}

/** The URL path and query of `request`, percent-encoded. */
export function urlOf(request: SampledRequest): string {
  const path = request.template.replace(/\{([^}]+)\}/g, (_, name: string) =>
    encodeURIComponent(request.path[name] ?? ""),
  );
  const query = new URLSearchParams(request.query).toString();
  return query ? `${path}?${query}` : path;
}
