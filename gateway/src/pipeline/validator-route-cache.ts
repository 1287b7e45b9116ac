/**
 * Route templates compiled once. express-openapi-validator (5.6) matches every request by walking
 * the contract's routes and compiling each template with path-to-regexp again, per request
 * (`lookupRoute` in its openapi.metadata.js). Under load that is the largest waste the gateway's
 * CPU profile shows: path-to-regexp's parser (`escape`, `pathToRegexp`, …) about 6–8 % of all
 * samples, plus the garbage it leaves (docs/benchmarks.md). Compiling a template is a pure
 * function of the template and its options, so the compiled result is kept and handed out again:
 * the same `{ regexp, keys }` the validator would have built, without building it.
 */
import { createRequire } from "node:module";

/** path-to-regexp's `pathToRegexp(path, options)`: the part of its API the validator calls. */
type PathToRegexp = ((path: unknown, options?: Record<string, unknown>) => unknown) & {
  [COMPILED_ONCE]?: true;
};

const COMPILED_ONCE = Symbol.for("portico.compiledOnce");

/** Options the validator passes; anything else (e.g. a `decode` function) is not memoised. */
const MEMOISABLE_OPTIONS = new Set(["sensitive", "strict", "end", "trailing", "delimiter"]);

/** The cache key of a call, or `undefined` when the call is not memoisable. */
function keyOf(path: unknown, options: Record<string, unknown> | undefined): string | undefined {
  if (typeof path !== "string") return undefined;
  let key = path;
  for (const [name, value] of Object.entries(options ?? {})) {
    if (!MEMOISABLE_OPTIONS.has(name) || (value !== undefined && typeof value === "object")) {
      return undefined;
    }
    key += `\u0000${name}=${String(value)}`;
  }
  return key;
}

/** Every template compiled so far, by {@link keyOf}. */
const compiled = new Map<string, unknown>();

/** How many route templates have been compiled and kept (for tests and diagnostics). */
export function compiledValidatorRoutes(): number {
  return compiled.size;
}

/**
 * Makes the path-to-regexp that express-openapi-validator loads compile each route template once
 * (per set of options), for this process. Idempotent; changes no result, only how often it is
 * built.
 */
export function compileValidatorRoutesOnce(): void {
  const require = createRequire(import.meta.url);
  // The path-to-regexp instance the validator itself resolves, whatever the hoisting.
  const fromValidator = createRequire(require.resolve("express-openapi-validator"));
  const module = fromValidator("path-to-regexp") as { pathToRegexp: PathToRegexp };
  const original = module.pathToRegexp;
  if (original[COMPILED_ONCE]) return;
  const once: PathToRegexp = (path, options) => {
    const key = keyOf(path, options);
    if (key === undefined) return original(path, options);
    let result = compiled.get(key);
    if (result === undefined) {
      result = original(path, options);
      compiled.set(key, result);
    }
    return result;
  };
  once[COMPILED_ONCE] = true;
  module.pathToRegexp = once;
}
