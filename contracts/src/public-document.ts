/**
 * What the public sees of a bundled OpenAPI document: the API, without the platform's own keys.
 * The bundles in contracts/generated/ carry the platform's `x-portico-*` declarations (owners,
 * timeouts, caches, feeds: read by the gateway) and the generator's `x-generated` note (do not
 * edit); neither belongs in the document served at the gateway's `/openapi.json` or in the
 * released snapshots.
 */

/** The prefix of the platform's vendor extensions (OpenAPI 3.1 section 4.9, `x-` keys). */
export const PLATFORM_EXTENSION_PREFIX = "x-portico-";
/** The key under which `npm run generate` marks a generated document as not to be edited. */
export const GENERATED_NOTE_KEY = "x-generated";

/**
 * Whether a key of a document belongs to the platform (`x-portico-*`, `x-generated`) rather than
 * to the API it describes.
 */
export function isPlatformKey(key: string): boolean {
  return key.startsWith(PLATFORM_EXTENSION_PREFIX) || key === GENERATED_NOTE_KEY;
}

/**
 * A deep copy of `value` (any JSON value: an OpenAPI document or a part of one) without a
 * platform key ({@link isPlatformKey}) at any depth, in objects and in objects inside arrays.
 * The input is not mutated; primitives are returned as they are. Never throws (JSON input only:
 * no cycles).
 */
export function withoutPlatformKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutPlatformKeys) as T;
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !isPlatformKey(key))
      .map(([key, entry]) => [key, withoutPlatformKeys(entry)]),
  ) as T;
}
