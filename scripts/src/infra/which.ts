import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, join } from "node:path";

/**
 * Finds an executable named `name` on a PATH-style search path (default `process.env.PATH`), like
 * `which`. Resolves to its absolute path, or `undefined` when no directory holds it.
 */
export async function findExecutable(
  name: string,
  searchPath: string = process.env.PATH ?? "",
): Promise<string | undefined> {
  for (const dir of searchPath.split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  return undefined;
}
