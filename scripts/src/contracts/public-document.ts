/**
 * The public API document as consumers see it: contracts/generated/public.openapi.json (the
 * bundle `npm run generate` writes) without the platform's `x-portico-*` extensions and the
 * generator's `x-generated` note.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { withoutPlatformKeys } from "@portico/contracts";
import { repoRoot } from "../paths.js";

/** The generated bundle of every public contract. */
export const PUBLIC_DOCUMENT_FILE = join(repoRoot, "contracts", "generated", "public.openapi.json");

/**
 * Reads the public OpenAPI 3.1 document, platform keys removed.
 * @param file the bundle to read (default {@link PUBLIC_DOCUMENT_FILE}).
 * @throws Error when the file is missing or not JSON (run `npm run generate`).
 */
export async function readPublicDocument(
  file = PUBLIC_DOCUMENT_FILE,
): Promise<Record<string, unknown>> {
  return withoutPlatformKeys(JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>);
}
