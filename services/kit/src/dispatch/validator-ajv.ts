/**
 * Ajv instances that judge JSON exactly as express-openapi-validator (5.6) does, so a check
 * compiled here and the validator never disagree: JSON Schema 2020-12 (OpenAPI 3.1), its base
 * options (`framework/ajv/options.js`: not strict, strict numbers and tuples, no union types),
 * ajv-formats in "fast" mode (what `validateFormats: true` selects) plus the validator's own
 * OpenAPI formats (`int32`, `int64`, `float`, `double`, `byte`, `binary`, `password`,
 * `media-range`). A format neither knows fails here (the validator would ignore it: a check built
 * on this instance is then stricter, never looser).
 */
import { createRequire } from "node:module";
import { Ajv2020, type Format } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

/** The id under which the contract is added to each instance; refs are `contract.json#/...`. */
export const CONTRACT_ID = "contract.json";

/** Escapes one JSON Pointer reference token (RFC 6901 section 3). */
export function pointerToken(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** A schema that is the node of the contract at `pointer` (a JSON Pointer, e.g. `/paths/~1a/get`). */
export function contractSchemaRef(pointer: string): { $ref: string } {
  return { $ref: `${CONTRACT_ID}#${encodeURI(pointer)}` };
}

/** The validator's own formats, from the installed validator (one source of truth). */
function validatorFormats(): Record<string, Format> {
  const require = createRequire(import.meta.url);
  const fromValidator = createRequire(require.resolve("express-openapi-validator"));
  return (fromValidator("./framework/ajv/formats") as { formats: Record<string, Format> }).formats;
}

/** Every `format` value used anywhere in `document`. */
function formatsUsed(document: unknown): Set<string> {
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
  visit(document);
  return formats;
}

/**
 * An Ajv holding `contract` as {@link CONTRACT_ID}, configured as the validator's.
 * @param options.useDefaults fill in `default`s (the validator does for requests, not responses).
 */
export function validatorAjv(
  contract: Record<string, unknown>,
  options: { useDefaults: boolean },
): Ajv2020 {
  const ajv = new Ajv2020({
    strict: false,
    strictNumbers: true,
    strictTuples: true,
    allowUnionTypes: false,
    allErrors: false,
    useDefaults: options.useDefaults,
    validateFormats: true,
  });
  addFormats.default(ajv, { mode: "fast" });
  ajv.addFormat("media-range", true);
  for (const [name, format] of Object.entries(validatorFormats())) ajv.addFormat(name, format);
  for (const format of formatsUsed(contract)) {
    if (!ajv.formats[format]) ajv.addFormat(format, () => false);
  }
  ajv.addSchema(structuredClone(contract), CONTRACT_ID);
  return ajv;
}
