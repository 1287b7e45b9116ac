import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Absolute path of the monorepo root (no trailing slash). */
export const repoRoot = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/**
 * Where `npm start` keeps local infrastructure state: `.data/` at the repo root (git-ignored), or
 * the directory in `PORTICO_DATA_DIR` (the benchmark times a cold start with a fresh one).
 */
export const dataRoot = process.env.PORTICO_DATA_DIR
  ? resolve(process.env.PORTICO_DATA_DIR)
  : join(repoRoot, ".data");
