import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Absolute path of the monorepo root (no trailing slash). */
export const repoRoot = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/** Where `npm start` keeps local infrastructure state (`.data/` at the repo root, git-ignored). */
export const dataRoot = join(repoRoot, ".data");
