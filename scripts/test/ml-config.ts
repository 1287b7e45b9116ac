/**
 * The ML service's configuration as the Python service itself reads it (app/core/config.py), for
 * the checks of compose.yaml and deploy/k8s: its variable names, and whether it accepts an
 * environment. Runs the service's virtual environment, which `npm test` creates first
 * (`npm run ml:env -- --dev` does it alone).
 */
import { spawnSync } from "node:child_process";
import { z } from "zod";
import { ML_DIR, venvBin } from "../src/ml-env.js";

function runConfig(args: string[], env: Record<string, string>): { status: number; out: string } {
  const result = spawnSync(venvBin("python"), ["-m", "app.core.config", ...args], {
    cwd: ML_DIR,
    // Only what is given: nothing of the test's own environment may satisfy a requirement.
    env: { PATH: process.env.PATH ?? "", ...env },
    encoding: "utf8",
  });
  if (result.error) {
    throw new Error(`cannot run the ML service's Python (${result.error.message}): npm run ml:env`);
  }
  return { status: result.status ?? 1, out: `${result.stdout}${result.stderr}`.trim() };
}

/** Every variable the ML service reads. */
export const ML_VARIABLES: readonly string[] = JSON.parse(runConfig(["--variables"], {}).out);

/**
 * A zod shape with the ML service's variables (each an optional string), for the checks that
 * compare variable names; {@link mlConfigProblems} checks the values.
 */
export const mlConfigShape: z.ZodRawShape = Object.fromEntries(
  ML_VARIABLES.map((name) => [name, z.string().optional()]),
);

/** What the ML service says is wrong with `env` (one line per variable), or "" if it starts. */
export function mlConfigProblems(env: Record<string, string>): string {
  const { status, out } = runConfig([], env);
  return status === 0 ? "" : out;
}
