/**
 * Finds the operation of a request from its method and path, with a matcher compiled once from
 * the operations of a contract, choosing as express-openapi-validator (5.6, `openapi.metadata`)
 * does, so that a fast way in and the validator never disagree on the operation:
 * - each path template becomes one regular expression, `{name}` matching one whole or partial
 *   path segment (OpenAPI 3.1 section 4.8.8: a path parameter never spans `/`);
 * - the templates are tried in the validator's order (its `sortRoutes`: a literal segment before
 *   a parameter at the same place, so a concrete path wins over a templated one that would also
 *   match, section 4.8.8.1) and the first whose pattern matches the path is *the* path, whatever
 *   the method: when it declares no operation for the method there is no match (the validator
 *   answers 405 then).
 */

/** What the matcher reads of an operation. */
export interface RoutedOperation {
  /** Upper-case HTTP method, e.g. `POST`. */
  method: string;
  /** OpenAPI path template, e.g. `/things/{thingId}`. */
  template: string;
}

/** A request's operation and its path parameters, percent-decoded. */
export interface OperationMatch<R extends RoutedOperation = RoutedOperation> {
  route: R;
  /** Path parameter values by name, decoded (RFC 3986 section 2.1). */
  pathParams: Record<string, string>;
}

/** Finds the operation of `method` (upper case) and `pathname` (no query), if any. */
export type OperationMatcher<R extends RoutedOperation = RoutedOperation> = (
  method: string,
  pathname: string,
) => OperationMatch<R> | undefined;

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

/**
 * The order express-openapi-validator tries path templates in (`sortRoutes` of its spec loader,
 * on the Express form of each template, `{id}` → `:id`, with `/:` read as `/~`).
 */
function validatorOrder(a: string, b: string): number {
  const key = (template: string) => template.replace(/\{([^}/]+)\}/g, ":$1").replace(/\/:/g, "/~");
  const [ka, kb] = [key(a), key(b)];
  if (ka.startsWith(kb)) return -1;
  if (kb.startsWith(ka)) return 1;
  return ka > kb ? 1 : -1;
}

interface CompiledPath<R> {
  template: string;
  pattern: RegExp;
  names: string[];
  /** Its operations by method. */
  methods: Map<string, R>;
}

/** Compiles the matcher of `operations`. */
export function compileOperationMatcher<R extends RoutedOperation>(
  operations: readonly R[],
): OperationMatcher<R> {
  const byTemplate = new Map<string, CompiledPath<R>>();
  for (const route of operations) {
    let path = byTemplate.get(route.template);
    if (!path) {
      path = { template: route.template, ...compileTemplate(route.template), methods: new Map() };
      byTemplate.set(route.template, path);
    }
    path.methods.set(route.method, route);
  }
  const ordered = [...byTemplate.values()].sort((a, b) => validatorOrder(a.template, b.template));
  const templated = ordered.filter((path) => path.names.length > 0);
  /** The path a request path is matched to, found by trying each in the validator's order. */
  const scan = (pathname: string, among: readonly CompiledPath<R>[]) =>
    among.find((path) => path.pattern.test(pathname));
  // A request for a literal template's own path: which path wins is known at start.
  const literal = new Map<string, CompiledPath<R>>();
  for (const path of ordered) {
    if (path.names.length === 0) literal.set(path.template, scan(path.template, ordered) ?? path);
  }

  return (method, pathname) => {
    const path = literal.get(pathname) ?? scan(pathname, templated);
    const route = path?.methods.get(method);
    if (!path || !route) return undefined;
    if (path.names.length === 0) return { route, pathParams: {} };
    const found = path.pattern.exec(pathname) as RegExpExecArray;
    const pathParams: Record<string, string> = {};
    for (let i = 0; i < path.names.length; i++) {
      try {
        pathParams[path.names[i] as string] = decodeURIComponent(found[i + 1] ?? "");
      } catch {
        return undefined; // malformed percent-encoding: not a path this matcher vouches for
      }
    }
    return { route, pathParams };
  };
}
