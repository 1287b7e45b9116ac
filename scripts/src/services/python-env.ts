/**
 * A Python service's virtual environment, `<service>/.venv` (git-ignored): created on first use
 * with `python3 -m venv` and filled from the service's pinned lock files (`requirements.lock`, and
 * `requirements-dev.lock` for the test and lint tools) with pip, then left alone until a lock file
 * changes (a stamp in the environment records what was installed).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { InfraError } from "../infra/errors.js";

const run = promisify(execFile);

/** The lowest Python the services support (pyproject `requires-python`). */
export const MIN_PYTHON: readonly [number, number] = [3, 11];

/** What the stamp records: the SHA-256 of each lock file installed. */
interface Stamp {
  runtime: string;
  dev?: string;
}

/** Absolute path of an executable of the environment of the service in `dir`. */
export function pythonBin(dir: string, tool: string): string {
  return join(dir, ".venv", "bin", tool);
}

async function sha256(file: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(file))
    .digest("hex");
}

/**
 * The system Python: `PYTHON` if set, else `python3`.
 * @throws InfraError when it is missing or older than {@link MIN_PYTHON}.
 */
async function systemPython(): Promise<string> {
  const python = process.env.PYTHON ?? "python3";
  const need = `Python ${MIN_PYTHON.join(".")}+`;
  const version = await run(python, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
    .then(({ stdout }) => stdout.trim())
    .catch(() => {
      throw new InfraError(
        `${need} is needed as "${python}" (Debian: apt-get install python3-venv)`,
      );
    });
  const [major = 0, minor = 0] = version.split(".").map(Number);
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
    throw new InfraError(`${need} is needed; ${python} is ${version}`);
  }
  return python;
}

/**
 * Makes sure `<dir>/.venv` holds exactly what the lock files pin: creates it when missing,
 * re-installs when a lock file changed, else does nothing (a few ms).
 * @param dir the service's folder (absolute).
 * @param options.dev also install `requirements-dev.lock`.
 * @param options.log receives one line per step taken.
 * @throws InfraError when Python is missing or too old, or venv creation or pip fails.
 */
export async function ensurePythonEnv(
  dir: string,
  options: { dev?: boolean; log?: (line: string) => void } = {},
): Promise<void> {
  const log = options.log ?? (() => undefined);
  const venv = join(dir, ".venv");
  const stampFile = join(venv, ".portico-lock.json");
  const wanted: Stamp = { runtime: await sha256(join(dir, "requirements.lock")) };
  if (options.dev) wanted.dev = await sha256(join(dir, "requirements-dev.lock"));
  const stamp = (await readFile(stampFile, "utf8").then(JSON.parse, () => undefined)) as
    | Stamp
    | undefined;
  const python = pythonBin(dir, "python");
  if (
    existsSync(python) &&
    stamp?.runtime === wanted.runtime &&
    (!options.dev || stamp.dev === wanted.dev)
  ) {
    return;
  }
  try {
    if (!existsSync(python)) {
      log(`creating the virtual environment ${venv}`);
      await rm(venv, { recursive: true, force: true });
      await run(await systemPython(), ["-m", "venv", venv], { cwd: dir });
    }
    const lock = options.dev ? "requirements-dev.lock" : "requirements.lock";
    log(`installing the dependencies (${lock})`);
    await run(
      python,
      ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", lock],
      {
        cwd: dir,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
  } catch (error) {
    if (error instanceof InfraError) throw error;
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new InfraError(`setting up ${venv} failed: ${stderr?.trim() || message}`);
  }
  await writeFile(stampFile, `${JSON.stringify(wanted)}\n`);
}
