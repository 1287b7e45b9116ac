/**
 * The fuzzer's own Python virtual environment (scripts/fuzz/.venv, git-ignored): created with the
 * machine's `python3` and filled from the pinned scripts/fuzz/requirements.txt, again whenever that
 * file changes (a hash of it is kept in the venv).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { access, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { InfraError } from "../infra/errors.js";
import { repoRoot } from "../paths.js";

const run = promisify(execFile);

/** The fuzzer's folder: requirements.txt, schemathesis.toml, .venv/. */
export const FUZZ_DIR = join(repoRoot, "scripts", "fuzz");
const VENV = join(FUZZ_DIR, ".venv");
const STAMP = join(VENV, ".requirements.sha256");

/**
 * The path of the `schemathesis` executable, after creating or updating the venv when the pinned
 * requirements changed. `PYTHON` names the interpreter (default `python3`, 3.10 or newer).
 * @throws InfraError when Python is missing or pip fails (its output included).
 */
export async function ensureSchemathesis(say: (line: string) => void): Promise<string> {
  const requirements = await readFile(join(FUZZ_DIR, "requirements.txt"));
  const hash = createHash("sha256").update(requirements).digest("hex");
  const binary = join(VENV, "bin", "schemathesis");
  const current = await readFile(STAMP, "utf8").catch(() => "");
  const installed = await access(binary).then(
    () => true,
    () => false,
  );
  if (installed && current.trim() === hash) return binary;

  const python = process.env.PYTHON ?? "python3";
  say(`installing schemathesis into ${VENV} (${python}, pinned requirements) …`);
  try {
    await rm(VENV, { recursive: true, force: true });
    await run(python, ["-m", "venv", VENV]);
    await run(
      join(VENV, "bin", "pip"),
      [
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        "-r",
        join(FUZZ_DIR, "requirements.txt"),
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    );
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new InfraError(
      `could not install schemathesis with ${python} (Python 3.10+ with venv and pip is needed): ${stderr || message}`,
    );
  }
  await writeFile(STAMP, `${hash}\n`);
  return binary;
}
