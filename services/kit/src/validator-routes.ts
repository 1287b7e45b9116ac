/**
 * How express-openapi-validator (5.6) compiles the contract's route templates, corrected in one
 * place for every app that uses `contractValidator`:
 * - exact paths: the validator passes Express's `strict routing` setting to path-to-regexp as
 *   `strict`, an option path-to-regexp 8 no longer has (it became `trailing`, default true), so
 *   `/products/` matched `/products` whatever the app said. `strict: true` is handed on as
 *   `trailing: false` (issue 9, finding 4).
 * - compiled once: the validator compiles every template again on every request (`lookupRoute`
 *   in its openapi.metadata.js; 6-8 % of a process's CPU under load, issue 14). A template's
 *   compiled `{ regexp, keys }` depends only on the template and the options, so it is kept.
 */
import { createRequire } from "node:module";

/** path-to-regexp's `pathToRegexp(path, options)`: the part of its API the validator calls. */
type PathToRegexp = ((path: unknown, options?: Record<string, unknown>) => unknown) & {
  [EXACT_AND_ONCE]?: true;
};

const EXACT_AND_ONCE = Symbol.for("portico.kit.validatorRoutes");

/** Options the validator passes; anything else (e.g. a `decode` function) is not memoised. */
const MEMOISABLE_OPTIONS = new Set(["sensitive", "strict", "end", "trailing", "delimiter"]);

/** `options` as path-to-regexp 8 understands them: `strict` becomes `trailing: !strict`. */
export function pathToRegexpOptions(
  options: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  if (!options || !("strict" in options)) return options;
  const { strict, ...rest } = options;
  return { trailing: !strict, ...rest };
}

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

/**
 * Replaces the `pathToRegexp` that express-openapi-validator loads (whatever the hoisting) with
 * one that honours `strict` and compiles each template once per set of options, for this
 * process. Idempotent.
 */
export function compileValidatorRoutesExactlyOnce(): void {
  const require = createRequire(import.meta.url);
  const fromValidator = createRequire(require.resolve("express-openapi-validator"));
  const module = fromValidator("path-to-regexp") as { pathToRegexp: PathToRegexp };
  const original = module.pathToRegexp;
  if (original[EXACT_AND_ONCE]) return;
  const compiled = new Map<string, unknown>();
  const exactOnce: PathToRegexp = (path, options) => {
    const key = keyOf(path, options);
    if (key === undefined) return original(path, pathToRegexpOptions(options));
    let result = compiled.get(key);
    if (result === undefined) {
      result = original(path, pathToRegexpOptions(options));
      compiled.set(key, result);
    }
    return result;
  };
  exactOnce[EXACT_AND_ONCE] = true;
  module.pathToRegexp = exactOnce;
}
