/**
 * The ML service's Python virtual environment, `services/ml/.venv` (git-ignored): created on first
 * use with `python3 -m venv` and filled from the service's pinned lock files with pip, then left
 * alone until a lock file changes (a stamp in the environment records what was installed), so
 * `npm start`, `npm test` and `npm run generate` can all call {@link ensureMlEnv} cheaply.
 *
 * `tsx scripts/src/ml-env.ts [--dev]` does the same from the command line (`npm run ml:env`).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { InfraError } from "./infra/errors.js";
import { repoRoot } from "./paths.js";

const run = promisify(execFile);

/** The ML service's folder. */
export const ML_DIR = join(repoRoot, "services", "ml");
/** Its virtual environment. */
export const ML_VENV = join(ML_DIR, ".venv");
/** The lowest Python the service supports (pyproject `requires-python`). */
export const MIN_PYTHON: readonly [number, number] = [3, 11];

/** What the stamp in the environment records: the SHA-256 of each lock file installed. */
interface Stamp {
  runtime: string;
  /** Set once the development tools (requirements-dev.lock) are installed too. */
  dev?: string;
}

const STAMP = join(ML_VENV, ".portico-lock.json");

/** Absolute path of an executable of the environment, e.g. `venvBin("pytest")`. */
export function venvBin(tool: string): string {
  return join(ML_VENV, "bin", tool);
}

async function sha256(file: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(file))
    .digest("hex");
}

async function readStamp(): Promise<Stamp | undefined> {
  try {
    return JSON.parse(await readFile(STAMP, "utf8")) as Stamp;
  } catch {
    return undefined;
  }
}

/**
 * The system Python that creates the environment: `PYTHON` if set, else `python3`.
 * @throws InfraError when it is missing or older than {@link MIN_PYTHON}.
 */
async function systemPython(): Promise<string> {
  const python = process.env.PYTHON ?? "python3";
  let version: string;
  try {
    ({ stdout: version } = await run(python, [
      "-c",
      "import sys; print('%d.%d' % sys.version_info[:2])",
    ]));
  } catch {
    throw new InfraError(
      `the ML service needs Python ${MIN_PYTHON.join(".")}+ as "${python}" (Debian: apt-get install python3 python3-venv)`,
    );
  }
  const [major = 0, minor = 0] = version.trim().split(".").map(Number);
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
    throw new InfraError(
      `the ML service needs Python ${MIN_PYTHON.join(".")}+; ${python} is ${version.trim()}`,
    );
  }
  return python;
}

/**
 * Makes sure `services/ml/.venv` exists and holds exactly what the lock files pin: creates it when
 * missing (or broken), re-installs when a lock file changed, else does nothing (a few ms).
 * @param options.dev also install the test and lint tools (requirements-dev.lock).
 * @param options.log receives one line per step taken (nothing when the environment is current).
 * @throws InfraError when Python is missing or too old, or venv creation or pip fails (with its
 *   output).
 */
export async function ensureMlEnv(
  options: { dev?: boolean; log?: (line: string) => void } = {},
): Promise<void> {
  const log = options.log ?? (() => undefined);
  const wanted: Stamp = { runtime: await sha256(join(ML_DIR, "requirements.lock")) };
  if (options.dev) wanted.dev = await sha256(join(ML_DIR, "requirements-dev.lock"));
  const stamp = await readStamp();
  const python = venvBin("python");
  const current =
    existsSync(python) &&
    stamp?.runtime === wanted.runtime &&
    (!options.dev || stamp.dev === wanted.dev);
  if (current) return;

  try {
    if (!existsSync(python)) {
      log(`creating the ML service's virtual environment in ${ML_VENV}`);
      await rm(ML_VENV, { recursive: true, force: true });
      await run(await systemPython(), ["-m", "venv", ML_VENV], { cwd: ML_DIR });
    }
    const lock = options.dev ? "requirements-dev.lock" : "requirements.lock";
    log(`installing the ML service's dependencies (${lock})`);
    await run(
      python,
      ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", lock],
      { cwd: ML_DIR, maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    if (error instanceof InfraError) throw error;
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new InfraError(`setting up services/ml/.venv failed: ${stderr?.trim() || message}`);
  }
  await writeFile(STAMP, `${JSON.stringify(wanted)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dev = process.argv.includes("--dev");
  try {
    await ensureMlEnv({ dev, log: (line) => console.log(line) });
    console.log(`services/ml/.venv is ready${dev ? " (with the test tools)" : ""}.`);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
