/**
 * oasdiff (https://github.com/oasdiff/oasdiff), the OpenAPI diff engine of the breaking-change
 * gate: a pinned Go binary in `.data/tools/`, installed with `go install` when missing.
 */
import { execFile } from "node:child_process";
import { access, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { InfraError } from "../infra/errors.js";
import { repoRoot } from "../paths.js";

const run = promisify(execFile);

/** The pinned release; `.ci/run` and the README install the same one. */
export const OASDIFF_VERSION = "1.39.0";
const TOOLS_DIR = join(repoRoot, ".data", "tools");
const BINARY = join(TOOLS_DIR, "oasdiff");
/**
 * Rules raised to `error` beyond oasdiff's defaults: a consumer may read an optional response
 * field, and may switch over every value of a response enum it was promised.
 */
const SEVERITY_LEVELS = join(import.meta.dirname, "severity-levels.txt");

/** One change oasdiff reports (its `-f json` output of `breaking` and `changelog`). */
export interface OasdiffChange {
  /** The rule, e.g. `api-path-removed-without-deprecation`, `new-required-request-property`. */
  id: string;
  /** What changed, in English. */
  text: string;
  /** 3 = error (breaking), 2 = warning, 1 = info. */
  level: number;
  operation?: string;
  path?: string;
}

/**
 * The path of the pinned oasdiff, installing it first (`go install`, needs Go 1.24+) when it is
 * missing or another version.
 * @throws InfraError when Go is missing or the install fails (its output included).
 */
export async function ensureOasdiff(say: (line: string) => void = () => {}): Promise<string> {
  const present = await access(BINARY).then(
    () => true,
    () => false,
  );
  if (present) {
    const { stdout } = await run(BINARY, ["--version"]).catch(() => ({ stdout: "" }));
    if (stdout.trim().endsWith(OASDIFF_VERSION)) return BINARY;
  }
  say(`installing oasdiff ${OASDIFF_VERSION} into ${TOOLS_DIR} (go install) …`);
  await mkdir(TOOLS_DIR, { recursive: true });
  try {
    await run("go", ["install", `github.com/oasdiff/oasdiff@v${OASDIFF_VERSION}`], {
      env: { ...process.env, GOBIN: TOOLS_DIR },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new InfraError(
      `could not install oasdiff ${OASDIFF_VERSION} (Go 1.24+ is needed: https://go.dev/dl/): ${stderr || message}`,
    );
  }
  return BINARY;
}

/**
 * Runs `oasdiff <command> base revision -f json`.
 * @param command `breaking` (breaking changes and warnings) or `changelog` (every change).
 * @returns each change found; an empty list when the documents are equivalent.
 * @throws InfraError when oasdiff cannot read a document (its message included).
 */
export async function oasdiff(
  command: "breaking" | "changelog",
  base: string,
  revision: string,
): Promise<OasdiffChange[]> {
  const binary = await ensureOasdiff((line) => console.error(line));
  try {
    const { stdout } = await run(
      binary,
      [command, base, revision, "-f", "json", "--severity-levels", SEVERITY_LEVELS],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    return (JSON.parse(stdout || "[]") ?? []) as OasdiffChange[];
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new InfraError(`oasdiff ${command} ${base} ${revision} failed: ${stderr || message}`);
  }
}

/**
 * Runs `oasdiff changelog base revision -f markdown`: every change, grouped by operation, as a
 * Markdown section (empty when nothing changed).
 * @throws InfraError when oasdiff fails.
 */
export async function oasdiffMarkdownChangelog(base: string, revision: string): Promise<string> {
  const binary = await ensureOasdiff((line) => console.error(line));
  try {
    const { stdout } = await run(
      binary,
      ["changelog", base, revision, "-f", "markdown", "--severity-levels", SEVERITY_LEVELS],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    return stdout.trim();
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new InfraError(`oasdiff changelog ${base} ${revision} failed: ${stderr || message}`);
  }
}
