/**
 * Finds the operation of a request from its method and path, with a matcher compiled once from
 * the route table: each OpenAPI path template becomes one regular expression, `{name}` matching
 * one whole or partial path segment (OpenAPI 3.1 section 4.8.8: a path parameter never spans
 * `/`). Templates without parameters are tried first, then those with fewer, so a concrete path
 * wins over a templated one that would also match (section 4.8.8.1, "Path Templating Matching").
 */
import type { Operation } from "./table.js";

/** A request's operation and its path parameters, percent-decoded. */
export interface OperationMatch {
  route: Operation;
  /** Path parameter values by name, decoded (RFC 3986 section 2.1). */
  pathParams: Record<string, string>;
}

/** Finds the operation of `method` (upper case) and `pathname` (no query), if any. */
export type OperationMatcher = (method: string, pathname: string) => OperationMatch | undefined;

interface CompiledTemplate {
  route: Operation;
  pattern: RegExp;
  names: string[];
}

/** The regular expression of a path template, and its parameter names in order. */
export function compileTemplate(template: string): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const source = template
    .split(/(\{[^}/]+\})/)
    .map((part) => {
      const name = /^\{([^}/]+)\}$/.exec(part)?.[1];
      if (name === undefined) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      names.push(name);
      return "([^/]+)";
    })
    .join("");
  return { pattern: new RegExp(`^${source}$`), names };
}

/** Compiles the matcher of `operations`. */
export function compileOperationMatcher(operations: readonly Operation[]): OperationMatcher {
  // Paths without parameters are looked up directly; templated ones tried in order.
  const literal = new Map<string, OperationMatch>();
  const byMethod = new Map<string, CompiledTemplate[]>();
  for (const route of operations) {
    const compiled = { route, ...compileTemplate(route.template) };
    if (compiled.names.length === 0) {
      literal.set(`${route.method} ${route.template}`, { route, pathParams: {} });
      continue;
    }
    const list = byMethod.get(route.method) ?? [];
    list.push(compiled);
    byMethod.set(route.method, list);
  }
  for (const list of byMethod.values()) list.sort((a, b) => a.names.length - b.names.length);

  return (method, pathname) => {
    const exact = literal.get(`${method} ${pathname}`);
    if (exact) return { route: exact.route, pathParams: {} };
    const candidates = byMethod.get(method);
    if (!candidates) return undefined;
    for (const { route, pattern, names } of candidates) {
      const found = pattern.exec(pathname);
      if (!found) continue;
      const pathParams: Record<string, string> = {};
      for (let i = 0; i < names.length; i++) {
        const raw = found[i + 1] ?? "";
        try {
          pathParams[names[i] as string] = decodeURIComponent(raw);
        } catch {
          return undefined; // malformed percent-encoding: not a path this matcher vouches for
        }
      }
      return { route, pathParams };
    }
    return undefined;
  };
}
