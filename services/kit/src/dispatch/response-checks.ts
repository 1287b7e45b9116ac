/**
 * Response validation compiled once per operation, status and media type, judging a handler's
 * response as express-openapi-validator's response validator (5.6, `openapi.response.validator`)
 * does where the kit's app turns it on (development and test): the declared response is the
 * status's own, else its `2XX`-style range, else `default`; one without content must have no
 * body; one with a JSON schema must have a body that passes it. Only bodies are judged (the
 * validator hooks `res.json`), and never for a 5xx. A response the contract does not allow
 * becomes a {@link ResponseContractError}, which the kit's error handler renders as the 500
 * Problem "The service produced a response that breaks its contract.".
 */
import type { ValidateFunction } from "ajv/dist/2020.js";
import { contractSchemaRef, pointerToken, validatorAjv } from "./validator-ajv.js";

/** A response that breaks the contract, shaped like the validator's own error (status 500). */
export class ResponseContractError extends Error {
  readonly status = 500;
  /** Where in the response: `/response` (the validator's convention). */
  readonly path = "/response";
  constructor(message: string) {
    super(message);
    this.name = "Internal Server Error";
  }
}

/** Judges one operation's response: the error when it breaks the contract, else undefined. */
export type ResponseCheck = (status: number, body: unknown) => ResponseContractError | undefined;

type Json = Record<string, unknown>;

/** The media types the validator judges: a `json` subtype or `+json` suffix (RFC 6839). */
const JSON_TYPE = /^[^/;\s]+\/(?:[^/;\s]+\+)?json\s*(?:;.*)?$/i;

/** A declared response: no content (`null`), or the validator of its one JSON media type. */
type Declared = ValidateFunction | null;

/**
 * Compiles the response checks of `operations` of `contract`.
 * @returns by operationId; an operation is missing when one of its responses offers several
 *   media types (which one the validator would pick depends on the request's `Accept`): its
 *   responses cannot be judged here.
 */
export function compileResponseChecks(
  contract: Json,
  operations: readonly { method: string; template: string; operationId: string }[],
): Map<string, ResponseCheck> {
  const ajv = validatorAjv(contract, { useDefaults: false });
  const checks = new Map<string, ResponseCheck>();
  const components = (contract.components ?? {}) as Json;
  for (const { method, template, operationId } of operations) {
    const opPointer = `/paths/${pointerToken(template)}/${method.toLowerCase()}`;
    const op = ((contract.paths as Json)[template] as Json)[method.toLowerCase()] as Json;
    const declared = new Map<string, Declared>();
    let judgeable = true;
    for (const [code, raw] of Object.entries((op.responses ?? {}) as Json)) {
      let response = raw as Json;
      let pointer = `${opPointer}/responses/${pointerToken(code)}`;
      if (typeof response.$ref === "string") {
        // The validator resolves a top-level response `$ref` by its last segment.
        const name = response.$ref.replace(/^.+\//, "");
        response = ((components.responses ?? {}) as Json)[name] as Json;
        pointer = `/components/responses/${pointerToken(name)}`;
      }
      if (!response?.content) {
        declared.set(code, null);
        continue;
      }
      const withSchema = Object.entries(response.content as Json).filter(
        ([, media]) => (media as Json | undefined)?.schema !== undefined,
      );
      const types = withSchema.filter(([type]) => JSON_TYPE.test(type));
      // Several JSON types, or a wildcard the validator would match: not judged here.
      if (types.length > 1 || withSchema.some(([type]) => type.includes("*"))) judgeable = false;
      const [type] = types[0] ?? [];
      if (type === undefined) continue; // nothing the validator judges: as if undeclared
      declared.set(
        code,
        ajv.compile(contractSchemaRef(`${pointer}/content/${pointerToken(type)}/schema`)),
      );
    }
    if (!judgeable) continue;
    checks.set(operationId, (status, body) => {
      if (status >= 500) return undefined;
      const key = String(status);
      const found = declared.has(key)
        ? declared.get(key)
        : declared.has(`${key[0]}XX`)
          ? declared.get(`${key[0]}XX`)
          : declared.get("default");
      if (found === undefined) {
        return new ResponseContractError(
          `no schema defined for status code '${status}' in the openapi spec`,
        );
      }
      if (found === null) return new ResponseContractError("response should NOT have a body");
      if (body === null) return new ResponseContractError("response body required.");
      if (found(body)) return undefined;
      const [first] = found.errors ?? [];
      return new ResponseContractError(`/response${first?.instancePath ?? ""} ${first?.message}`);
    });
  }
  return checks;
}
