/**
 * The Python tool steps of `npm test` and `npm run lint`, for every declared Python service:
 *   tsx scripts/src/services/python-tools.ts env    its virtual environment, with the dev tools
 *   tsx scripts/src/services/python-tools.ts lint   ruff check, ruff format --check, mypy (strict)
 *   tsx scripts/src/services/python-tools.ts test   pytest
 * Each runs in the service's folder with its own `.venv`; the first failure exits 1.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../paths.js";
import { readServiceDeclarations } from "./declarations.js";
import { ensurePythonEnv, pythonBin } from "./python-env.js";

/** The commands of each step, as [tool, ...args] run from the service's `.venv/bin`. */
export const PYTHON_STEPS: Record<string, readonly (readonly string[])[]> = {
  env: [],
  lint: [["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]],
  test: [["pytest"]],
};

/**
 * Runs `step` for every Python service: makes its environment (with the dev tools), then each
 * command. Output goes to this process's.
 * @returns false when a command failed.
 */
export async function runPythonStep(step: string): Promise<boolean> {
  const commands = PYTHON_STEPS[step];
  if (!commands) throw new Error(`unknown step "${step}" (env, lint or test)`);
  for (const service of readServiceDeclarations().filter((s) => s.language === "python")) {
    const dir = join(repoRoot, service.dir);
    await ensurePythonEnv(dir, {
      dev: true,
      log: (line) => console.log(`${service.name}: ${line}`),
    });
    for (const [tool, ...args] of commands) {
      console.log(`${service.name}: ${[tool, ...args].join(" ")}`);
      const { status } = spawnSync(pythonBin(dir, tool as string), args, {
        cwd: dir,
        stdio: "inherit",
      });
      if (status !== 0) return false;
    }
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
