/**
 * Each declared service's configuration as the service itself reads it, for the checks of
 * compose.yaml and deploy/k8s: the variable names it reads (a zod shape) and what it says is
 * wrong with an environment. A TypeScript service's `src/config.ts` exports `configShape` and
 * `readConfig`; a Python service answers `python -m app.core.config [--variables]` from its
 * virtual environment (which `npm test` creates first).
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { repoRoot } from "../src/paths.js";
import { readServiceDeclarations, type ServiceDeclaration } from "../src/services/declarations.js";
import { pythonBin } from "../src/services/python-env.js";

/** A service's configuration, as checked against a deployment's environment. */
export interface ServiceConfig {
  declaration: ServiceDeclaration;
  /** Every variable it reads. */
  shape: z.ZodRawShape;
  /** What the service says is wrong with `env` (its message), or "" when it starts with it. */
  problems(env: Record<string, string>): string;
}

function pythonConfig(declaration: ServiceDeclaration): ServiceConfig {
  const dir = join(repoRoot, declaration.dir);
  const run = (args: string[], env: Record<string, string>) => {
    const result = spawnSync(pythonBin(dir, "python"), ["-m", "app.core.config", ...args], {
      cwd: dir,
      // Only what is given: nothing of the test's own environment may satisfy a requirement.
      env: { PATH: process.env.PATH ?? "", ...env },
      encoding: "utf8",
    });
    if (result.error) throw new Error(`cannot run ${dir}'s Python: ${result.error.message}`);
    return { status: result.status ?? 1, out: `${result.stdout}${result.stderr}`.trim() };
  };
  const variables = JSON.parse(run(["--variables"], {}).out) as string[];
  return {
    declaration,
    shape: Object.fromEntries(variables.map((name) => [name, z.string().optional()])),
    problems: (env) => {
      const { status, out } = run([], env);
      return status === 0 ? "" : out;
    },
  };
}

async function typescriptConfig(declaration: ServiceDeclaration): Promise<ServiceConfig> {
  const module = (await import(
    pathToFileURL(join(repoRoot, declaration.dir, "src", "config.ts")).href
  )) as {
    configShape: z.ZodRawShape;
    readConfig(env: Record<string, string>, options: { exit: false }): unknown;
  };
  return {
    declaration,
    shape: module.configShape,
    problems: (env) => {
      try {
        module.readConfig(env, { exit: false });
        return "";
      } catch (error) {
        return (error as Error).message;
      }
    },
  };
}

/** Every declared service's configuration, by service name. */
export async function serviceConfigs(): Promise<Record<string, ServiceConfig>> {
  const configs: Record<string, ServiceConfig> = {};
  for (const declaration of readServiceDeclarations()) {
    configs[declaration.name] =
      declaration.language === "python"
        ? pythonConfig(declaration)
        : await typescriptConfig(declaration);
  }
  return configs;
}
