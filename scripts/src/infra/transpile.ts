/**
 * Runs the system's TypeScript processes as plain JavaScript, without a loader in each of them.
 *
 * `node --import tsx` costs every process a second V8 isolate (Node 20 runs module hooks on their
 * own thread) and esbuild's transform on every import: measured, ~35 MiB of resident memory and a
 * few hundred ms of start-up per process. Instead, {@link transpileWorkspaces} transpiles the
 * workspaces once per start (esbuild, the one tsx uses, file by file: types stripped, nothing
 * bundled; ~0.2 s for all of them) into a mirror of the repository under
 * `node_modules/.cache/portico/js/`, and the processes run as `node <mirror>/<entry>.js`.
 *
 * The mirror keeps the repository's layout, so relative paths (`import.meta.url` + `../generated/`)
 * hold: every `.ts` file of a workspace becomes a `.js` file (with an inline source map pointing at
 * the `.ts` file, for stack traces under `--enable-source-maps`), every other file is a symlink to
 * the original. Each workspace's `package.json` is copied with its `portico-source` export targets
 * as the exports, and `<mirror>/node_modules/@portico/*` link to the mirrored workspaces, so a
 * workspace import resolves inside the mirror; every other package resolves from the repository's
 * `node_modules/` (the mirror lies below it; a workspace's own `node_modules/` is linked).
 *
 * Files are replaced by rename and only when their content changed, so concurrent starts (test
 * workers) and running processes never read a half-written file.
 */
import { execFile } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import {
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve, sep } from "node:path";
import { promisify } from "node:util";
import { InfraError } from "./errors.js";

const run = promisify(execFile);

/** Directory names never mirrored: dependencies, build output, tests, virtual environments. */
const SKIPPED_DIRS = new Set(["node_modules", "dist", "test", "coverage"]);

/** Workspaces that no service or gateway process imports (dev tooling): not mirrored. */
const SKIPPED_WORKSPACES = new Set(["scripts"]);

/** The mirror of `repoRoot`: where {@link transpileWorkspaces} writes by default. */
export function mirrorRoot(repoRoot: string): string {
  return join(repoRoot, "node_modules", ".cache", "portico", "js");
}

/** esbuild's options besides the files and `--outdir`: one ES module per file, for Node 20. */
const ESBUILD_FLAGS = [
  "--outbase=.",
  "--format=esm",
  "--platform=node",
  "--target=node20",
  "--sourcemap=inline",
  "--sources-content=false",
  "--log-level=error",
];

/** The mirror's record of what it was transpiled from (see {@link transpileWorkspaces}). */
const MANIFEST = ".sources.json";

/**
 * What the output depends on besides each source: esbuild's version, its flags and the TypeScript
 * settings it reads (`tsconfig.json`, `tsconfig.base.json` at the root).
 */
async function compilerKey(repoRoot: string): Promise<string> {
  const hash = createHash("sha256").update(JSON.stringify(ESBUILD_FLAGS));
  const esbuildManifest = join(dirname(dirname(esbuildBin())), "package.json");
  for (const file of [esbuildManifest, "tsconfig.json", "tsconfig.base.json"]) {
    hash.update(await readFile(resolve(repoRoot, file)).catch(() => ""));
  }
  return hash.digest("hex");
}

/** Size and modification time of each source at its last transpilation, if `compiler` matches. */
async function readManifest(path: string, compiler: string): Promise<Record<string, string>> {
  try {
    const manifest = JSON.parse(await readFile(path, "utf8"));
    return manifest.compiler === compiler ? manifest.sources : {};
  } catch {
    return {};
  }
}

/** The esbuild executable tsx itself uses (a dependency of tsx, which `scripts` declares). */
function esbuildBin(): string {
  const tsxManifest = createRequire(import.meta.url).resolve("tsx/package.json");
  const manifest = createRequire(tsxManifest).resolve("esbuild/package.json");
  return join(dirname(manifest), "bin", "esbuild");
}

/** What a workspace contributes to the mirror, paths relative to the repository root. */
interface WorkspaceFiles {
  /** `.ts` files (not `.d.ts`) to transpile. */
  sources: string[];
  /** Every other file, to link. */
  others: string[];
}

/** Walks `dir` (relative to `root`), skipping {@link SKIPPED_DIRS} and hidden entries. */
async function collect(root: string, dir: string, into: WorkspaceFiles): Promise<void> {
  for (const entry of await readdir(join(root, dir), { withFileTypes: true })) {
    if (entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) await collect(root, path, into);
    } else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) {
      into.sources.push(path);
    } else if (entry.name !== "package.json") {
      into.others.push(path);
    }
  }
}

/** A package's `exports` with each condition object replaced by its `portico-source` target. */
function sourceExports(exports: unknown): unknown {
  if (typeof exports !== "object" || exports === null) return exports;
  const conditions = exports as Record<string, unknown>;
  const source = conditions["portico-source"];
  if (typeof source === "string") return source.replace(/\.ts$/, ".js");
  return Object.fromEntries(Object.entries(conditions).map(([k, v]) => [k, sourceExports(v)]));
}

/** Writes `content` to `path` by rename, unless the file already holds exactly that. */
async function writeIfChanged(path: string, content: string | Buffer): Promise<void> {
  const current = await readFile(path).catch(() => undefined);
  if (current?.equals(Buffer.from(content))) return;
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${randomUUID()}.tmp`;
  await writeFile(temporary, content);
  await rename(temporary, path);
}

/** Makes `path` a symlink to `target`, replacing (by rename) whatever else is there. */
async function linkTo(path: string, target: string): Promise<void> {
  if ((await readlink(path).catch(() => undefined)) === target) return;
  const stat = await lstat(path).catch(() => undefined);
  if (stat?.isDirectory() && !stat.isSymbolicLink()) await rm(path, { recursive: true });
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${randomUUID()}.tmp`;
  await symlink(target, temporary);
  await rename(temporary, path);
}

/** Every file and symlink below `dir`, relative to it (not following symlinks). */
async function listMirror(dir: string, prefix = ""): Promise<string[]> {
  const entries = await readdir(join(dir, prefix), { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(prefix, entry.name);
    if (entry.isDirectory()) files.push(...(await listMirror(dir, path)));
    else files.push(path);
  }
  return files;
}

/**
 * The workspace folders a root `package.json` names: each pattern as npm reads it, a `*` segment
 * standing for every subfolder (`services/*`), kept only when it holds a `package.json`.
 */
async function expandWorkspaces(repoRoot: string, patterns: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const pattern of patterns) {
    let dirs = [""];
    for (const segment of pattern.split("/")) {
      if (segment !== "*") {
        dirs = dirs.map((dir) => (dir ? `${dir}/${segment}` : segment));
        continue;
      }
      const next: string[] = [];
      for (const dir of dirs) {
        const entries = await readdir(join(repoRoot, dir), { withFileTypes: true }).catch(() => []);
        for (const entry of entries) {
          if (entry.isDirectory() && !entry.name.startsWith(".")) {
            next.push(dir ? `${dir}/${entry.name}` : entry.name);
          }
        }
      }
      dirs = next.sort();
    }
    for (const dir of dirs) if (existsSync(join(repoRoot, dir, "package.json"))) found.push(dir);
  }
  return [...new Set(found)];
}

/** Options of {@link transpileWorkspaces}. */
export interface TranspileOptions {
  /** The repository whose workspaces (root `package.json` `workspaces`) are mirrored. */
  repoRoot: string;
  /** Where the mirror goes. Default {@link mirrorRoot}. */
  outDir?: string;
}

/** A transpiled mirror of the repository. */
export interface Mirror {
  /** Its root directory. */
  root: string;
  /** The mirrored JavaScript file of a repository `.ts` path (`gateway/src/main.ts`), absolute. */
  entry(path: string): string;
  /** Source files, those transpiled by this call, and how long the whole update took, in ms. */
  stats: { sources: number; transpiled: number; milliseconds: number };
}

/**
 * Brings the mirror up to date with the workspaces' sources (see the module comment).
 * @throws InfraError naming esbuild's message when a file does not transpile.
 */
export async function transpileWorkspaces(options: TranspileOptions): Promise<Mirror> {
  const begin = performance.now();
  const { repoRoot } = options;
  const root = options.outDir ?? mirrorRoot(repoRoot);
  const manifest = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as {
    workspaces?: string[];
  };
  const workspaces = (await expandWorkspaces(repoRoot, manifest.workspaces ?? [])).filter(
    (ws) => !SKIPPED_WORKSPACES.has(ws),
  );

  const files: WorkspaceFiles = { sources: [], others: [] };
  for (const workspace of workspaces) await collect(repoRoot, workspace, files);

  // Sources unchanged since the last run (same size and modification time, same compiler
  // settings, output present) are not transpiled again: a warm start spawns no esbuild at all.
  const manifestPath = join(root, MANIFEST);
  const compiler = await compilerKey(repoRoot);
  const previous = await readManifest(manifestPath, compiler);
  const signatures: Record<string, string> = {};
  const changed: string[] = [];
  const expected = new Set<string>([MANIFEST]);
  for (const source of files.sources) {
    const output = source.replace(/\.ts$/, ".js");
    expected.add(output);
    const { size, mtimeMs } = await stat(join(repoRoot, source));
    signatures[source] = `${size}:${mtimeMs}`;
    if (previous[source] !== signatures[source] || !existsSync(join(root, output))) {
      changed.push(source);
    }
  }
  if (changed.length > 0) {
    // esbuild writes into a fresh directory; changed files are moved into the mirror from there.
    const staging = join(dirname(root), `staging-${randomUUID()}`);
    try {
      try {
        await run(esbuildBin(), [...changed, `--outdir=${staging}`, ...ESBUILD_FLAGS], {
          cwd: repoRoot,
          maxBuffer: 16 * 1024 * 1024,
        });
      } catch (error) {
        const stderr = (error as { stderr?: string }).stderr?.trim();
        throw new InfraError(`transpiling the workspaces failed: ${stderr || String(error)}`);
      }
      for (const source of changed) {
        const output = source.replace(/\.ts$/, ".js");
        await writeIfChanged(join(root, output), await readFile(join(staging, output)));
      }
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    await writeIfChanged(manifestPath, JSON.stringify({ compiler, sources: signatures }));
  }

  for (const other of files.others) {
    expected.add(other);
    await linkTo(join(root, other), join(repoRoot, other));
  }
  for (const workspace of workspaces) {
    const pkg = JSON.parse(await readFile(join(repoRoot, workspace, "package.json"), "utf8"));
    const mirrored = {
      name: pkg.name,
      type: pkg.type,
      ...(pkg.exports ? { exports: sourceExports(pkg.exports) } : {}),
      ...(pkg.imports ? { imports: sourceExports(pkg.imports) } : {}),
    };
    expected.add(join(workspace, "package.json"));
    await writeIfChanged(
      join(root, workspace, "package.json"),
      `${JSON.stringify(mirrored, null, 2)}\n`,
    );
    if (typeof pkg.name === "string") {
      expected.add(join("node_modules", pkg.name));
      await linkTo(join(root, "node_modules", pkg.name), join(root, workspace));
    }
    if (existsSync(join(repoRoot, workspace, "node_modules"))) {
      expected.add(join(workspace, "node_modules"));
      await linkTo(
        join(root, workspace, "node_modules"),
        join(repoRoot, workspace, "node_modules"),
      );
    }
  }

  // Files whose source is gone (a staging file of a concurrent start ends in `.tmp`: kept).
  for (const file of await listMirror(root)) {
    if (!expected.has(file) && !file.endsWith(".tmp")) await rm(join(root, file), { force: true });
  }

  return {
    root,
    entry: (path) => join(root, path.split("/").join(sep).replace(/\.ts$/, ".js")),
    stats: {
      sources: files.sources.length,
      transpiled: changed.length,
      milliseconds: performance.now() - begin,
    },
  };
}
