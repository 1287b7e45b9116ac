/**
 * The operations of an OpenAPI document: one walk of `paths` that the gateway, the kit, the
 * generator and the fuzz rules share, so they agree on what an operation is.
 */

/** The fields of a path item that hold operations, in the order OpenAPI 3.1.0 section 4.8.9 lists them. */
export const OPERATION_METHODS = [
  "get",
  "put",
  "post",
  "delete",
  "options",
  "head",
  "patch",
  "trace",
] as const;

/** A field of a path item that holds an operation (lower case, as the document spells it). */
export type OperationMethod = (typeof OPERATION_METHODS)[number];

/** Whether a path item's field `key` holds an operation (rather than `parameters`, `summary`...). */
export function isOperationMethod(key: string): key is OperationMethod {
  return (OPERATION_METHODS as readonly string[]).includes(key);
}

/** One operation of a document, where it was found. */
export interface DocumentOperation {
  /** The path item field it is under (lower case). */
  method: OperationMethod;
  /** The path template it is under, e.g. `/products/{productId}`. */
  template: string;
  /** The path item (its `parameters` apply to every operation under it). */
  pathItem: Record<string, unknown>;
  /** The Operation Object itself, as in the document (not copied). */
  operation: Record<string, unknown>;
}

/**
 * Every operation of `document` (a parsed OpenAPI 3.x document; its `paths` may be absent), in
 * document order of the paths and then {@link OPERATION_METHODS} order. A field that is not an
 * object is not an operation. `$ref` path items are not followed (bundled documents have none).
 * Never throws.
 */
export function documentOperations(document: { paths?: unknown }): DocumentOperation[] {
  const paths = isObject(document.paths) ? document.paths : {};
  const found: DocumentOperation[] = [];
  for (const [template, pathItem] of Object.entries(paths)) {
    if (!isObject(pathItem)) continue;
    for (const method of OPERATION_METHODS) {
      const operation = pathItem[method];
      if (isObject(operation)) found.push({ method, template, pathItem, operation });
    }
  }
  return found;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
