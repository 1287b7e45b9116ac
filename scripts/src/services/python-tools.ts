/**
 * The Python tool steps of `npm test` and `npm run lint`, for every declared Python service and
 * every Python kit (a folder under services/ with a `pyproject.toml` and no service declaration:
 * services/kit-python, the package the Python services share):
 *   tsx scripts/src/services/python-tools.ts env    its virtual environment, with the dev tools
 *   tsx scripts/src/services/python-tools.ts lint   ruff check, ruff format --check, mypy (strict);
 *                                                   and ruff for the Python client's own files
 *                                                   (clients/python: its tests and README)
 *   tsx scripts/src/services/python-tools.ts test   pytest
 * Each runs in the package's folder with its own `.venv`; the first failure exits 1.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ensurePythonTools } from "../fuzz/venv.js";
import { PYTHON_CLIENT_PROJECT, PYTHON_CLIENT_TOOLS } from "../generate/python-client-project.js";
import { repoRoot } from "../paths.js";
import { declarationFileOf, readServiceDeclarations } from "./declarations.js";
import { ensurePythonEnv } from "./python-env.js";

/** The commands of each step, as [tool, ...args] run from the service's `.venv/bin`. */
export const PYTHON_STEPS: Record<string, readonly (readonly string[])[]> = {
  env: [],
  lint: [["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]],
  test: [["pytest"]],
};

/**
 * The lint commands for the Python client (clients/python): ruff only. Its generated package is
 * excluded by its pyproject.toml (the generator formats it); mypy is not among its tools.
 */
export const PYTHON_CLIENT_LINT: readonly (readonly string[])[] = [
  ["ruff", "check", "."],
  ["ruff", "format", "--check", "."],
];

/**
 * The Python kits: folders under services/ with a `pyproject.toml` and no service declaration
 * (`services/kit-python`), by name and folder (relative to `root`), sorted.
 */
export function pythonKits(root: string = repoRoot): { name: string; dir: string }[] {
  return readdirSync(join(root, "services"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => `services/${entry.name}`)
    .filter(
      (dir) => existsSync(join(root, dir, "pyproject.toml")) && !declarationFileOf(join(root, dir)),
    )
    .sort()
    .map((dir) => ({ name: dir.slice("services/".length), dir }));
}

/**
 * The Python packages the steps run for, by name and folder (relative to `root`): every declared
 * Python service, then every kit ({@link pythonKits}).
 */
export function pythonPackages(root: string = repoRoot): { name: string; dir: string }[] {
  const services = readServiceDeclarations(root)
    .filter((s) => s.language === "python")
    .map((s) => ({ name: s.name, dir: s.dir }));
  return [...services, ...pythonKits(root)];
}

/**
 * Runs `step` for every Python package ({@link pythonPackages}): makes its environment (with the dev tools), then each
 * command. Output goes to this process's.
 * @returns false when a command failed.
 */
export async function runPythonStep(step: string): Promise<boolean> {
  const commands = PYTHON_STEPS[step];
  if (!commands) throw new Error(`unknown step "${step}" (env, lint or test)`);
  for (const service of pythonPackages()) {
    const dir = join(repoRoot, service.dir);
    await ensurePythonEnv(dir, {
      dev: true,
      log: (line) => console.log(`${service.name}: ${line}`),
    });
    if (!runEach(service.name, join(dir, ".venv", "bin"), dir, commands)) return false;
  }
  if (step === "lint") {
    const bin = await ensurePythonTools(PYTHON_CLIENT_TOOLS, (line) =>
      console.log(`client: ${line}`),
    );
    if (!runEach("client", bin, PYTHON_CLIENT_PROJECT, PYTHON_CLIENT_LINT)) return false;
  }
  return true;
}

/** Runs each command (tool from `bin`) in `cwd`, output inherited; false at the first failure. */
function runEach(
  label: string,
  bin: string,
  cwd: string,
  commands: readonly (readonly string[])[],
): boolean {
  for (const [tool, ...args] of commands) {
    console.log(`${label}: ${[tool, ...args].join(" ")}`);
    const { status } = spawnSync(join(bin, tool as string), args, { cwd, stdio: "inherit" });
    if (status !== 0) return false;
  }
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    process.exit((await runPythonStep(process.argv[2] ?? "")) ? 0 : 1);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
