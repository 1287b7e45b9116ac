/**
 * Python tools in their own virtual environments: a folder's `.venv` (git-ignored), created with
 * the machine's `python3` and filled from the folder's pinned requirements file, again whenever
 * that file changes (a hash of it is kept in the venv). The fuzzer's (scripts/fuzz) is one.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { access, readFile, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { InfraError } from "../infra/errors.js";
import { repoRoot } from "../paths.js";

const run = promisify(execFile);

/** The fuzzer's folder: requirements.txt, schemathesis.toml, .venv/. */
export const FUZZ_DIR = join(repoRoot, "scripts", "fuzz");

/** A virtual environment of pinned Python tools. */
export interface PythonTools {
  /** The folder that holds the requirements file and gets `.venv/`. */
  dir: string;
  /** The pinned requirements file, e.g. `<dir>/requirements.txt`. */
  requirements: string;
  /** An executable the requirements install, checked to exist, e.g. `schemathesis`. */
  executable: string;
}

/**
 * The venv's `bin/` folder, after creating or updating the venv when the pinned requirements
 * changed (or `executable` is missing). `PYTHON` names the interpreter (default `python3`, 3.10
 * or newer).
 * @throws InfraError when Python is missing or pip fails (its output included).
 */
export async function ensurePythonTools(
  tools: PythonTools,
  say: (line: string) => void,
): Promise<string> {
  const venv = join(tools.dir, ".venv");
  const stamp = join(venv, ".requirements.sha256");
  const bin = join(venv, "bin");
  const hash = createHash("sha256")
    .update(await readFile(tools.requirements))
    .digest("hex");
  const current = await readFile(stamp, "utf8").catch(() => "");
  const installed = await access(join(bin, tools.executable)).then(
    () => true,
    () => false,
  );
  if (installed && current.trim() === hash) return bin;

  const python = process.env.PYTHON ?? "python3";
  say(
    `installing ${tools.executable} into ${venv} (${python}, pinned ${basename(tools.requirements)}) …`,
  );
  try {
    await rm(venv, { recursive: true, force: true });
    await run(python, ["-m", "venv", venv]);
    await run(
      join(bin, "pip"),
      ["install", "--quiet", "--disable-pip-version-check", "--no-input", "-r", tools.requirements],
      { maxBuffer: 64 * 1024 * 1024 },
    );
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new InfraError(
      `could not install ${tools.executable} with ${python} (Python 3.10+ with venv and pip is needed): ${stderr || message}`,
    );
  }
  await writeFile(stamp, `${hash}\n`);
  return bin;
}

/**
 * The path of the `schemathesis` executable (scripts/fuzz/.venv), installing the pinned
 * scripts/fuzz/requirements.txt first when needed.
 * @throws InfraError when Python is missing or pip fails (its output included).
 */
export async function ensureSchemathesis(say: (line: string) => void): Promise<string> {
  const tools = {
    dir: FUZZ_DIR,
    requirements: join(FUZZ_DIR, "requirements.txt"),
    executable: "schemathesis",
  };
  return join(await ensurePythonTools(tools, say), "schemathesis");
}
