/**
 * `npm run new:service -- <name> [--python]`: writes a working service from scripts/templates —
 * `services/<name>/` (handlers keyed by operationId, store and first migration, tests, README,
 * Dockerfile, its declaration), `contracts/<name>.yaml` (list, create, get under `/<name>`) and its
 * `<name>.<entity>.created` event in contracts/events.yaml — then runs the generation and links
 * the workspace (`npm install`). Nothing else is edited: everything that lists services reads
 * the declaration.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { parseArgs } from "node:util";
import { repoRoot } from "../paths.js";
import { readServiceDeclarations } from "../services/declarations.js";
import { withCreatedEvent } from "./event-contract.js";
import { fill, NEW_SERVICE_NAME, nextPort, placeholdersOf } from "./names.js";

const TEMPLATES = join(repoRoot, "scripts", "templates");

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** Options of {@link scaffoldService}. */
export interface ScaffoldOptions {
  name: string;
  language: "typescript" | "python";
  /** Repository root (default: this one). */
  root?: string;
  /** Runs `npm install` afterwards to link the workspace (default true). */
  install?: boolean;
  log?: (line: string) => void;
}

/**
 * Writes the service's files (see the module comment) and returns their paths, relative to the
 * root.
 * @throws Error for an invalid or taken name, or a failed generation or install.
 */
export async function scaffoldService(options: ScaffoldOptions): Promise<string[]> {
  const root = options.root ?? repoRoot;
  const log = options.log ?? (() => undefined);
  const { name } = options;
  if (!NEW_SERVICE_NAME.test(name)) {
    throw new Error(`"${name}" is not a service name: lower-case letters and digits, 2 to 31`);
  }
  const serviceDir = join(root, "services", name);
  const contract = join(root, "contracts", `${name}.yaml`);
  // A folder holding only a prepared `.venv` (a Python environment to reuse) is not a service yet.
  const taken = existsSync(serviceDir) && (await readdir(serviceDir)).some((f) => f !== ".venv");
  if (taken || existsSync(contract)) {
    throw new Error(`services/${name} or contracts/${name}.yaml exists already`);
  }
  const placeholders = placeholdersOf(name, nextPort(readServiceDeclarations(root)));
  const template = join(TEMPLATES, options.language);
  const written: string[] = [];
  await mkdir(dirname(contract), { recursive: true });
  await writeFile(
    contract,
    fill(await readFile(join(TEMPLATES, "contract.yaml"), "utf8"), placeholders),
  );
  written.push(relative(root, contract));
  for (const file of await filesUnder(template)) {
    const target = file === "contract.yaml" ? contract : join(serviceDir, fill(file, placeholders));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, fill(await readFile(join(template, file), "utf8"), placeholders));
    written.push(relative(root, target));
  }
  const events = join(root, "contracts", "events.yaml");
  await writeFile(events, withCreatedEvent(await readFile(events, "utf8"), placeholders));
  written.push("contracts/events.yaml");
  log(`wrote ${written.length} files (port ${placeholders.__port__})`);

  const run = (args: string[]) => {
    log(`npm ${args.join(" ")}`);
    execFileSync("npm", args, { cwd: root, stdio: "inherit" });
  };
  run(["run", "generate"]);
  if (options.language === "typescript" && (options.install ?? true)) {
    run(["install", "--no-audit", "--no-fund"]);
  }
  return written;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      python: { type: "boolean", default: false },
      // For scratch copies whose node_modules are links to another checkout's.
      "no-install": { type: "boolean", default: false },
    },
  });
  const name = positionals[0];
  if (!name || positionals.length > 1) {
    console.error("Usage: npm run new:service -- <name> [--python]");
    process.exit(1);
  }
  try {
    await scaffoldService({
      name,
      language: values.python ? "python" : "typescript",
      install: !values["no-install"],
      log: (line) => console.log(line),
    });
    console.log(
      `services/${name} is ready: npm start runs it behind the gateway (/${name}), npm test runs its tests.\nNext: edit contracts/${name}.yaml, then npm run generate (see docs/development.md, "Adding a service").`,
    );
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
