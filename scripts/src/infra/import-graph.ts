/**
 * Which files each process runs, to restart only the processes a change concerns.
 *
 * The source of truth is esbuild's metafile (https://esbuild.github.io/api/#metafile) of a bundle
 * of each entry that is never written: esbuild resolves every import as Node would (with the
 * `portico-source` export condition, so workspace packages resolve to their `.ts` sources) and
 * lists each input file. Packages from `node_modules` (other than the workspaces) are left
 * external: they do not change while the system runs. Type-only imports are not followed, as
 * they do not reach the running JavaScript.
 */
import { realpathSync } from "node:fs";
import { relative, resolve } from "node:path";
import { build, type Plugin } from "esbuild";
import { InfraError } from "./errors.js";

/** Files (repository-relative, `/`-separated) each entry imports, itself included, by name. */
export type ImportGraph = ReadonlyMap<string, ReadonlySet<string>>;

/** Options of {@link readImportGraph}. */
export interface ImportGraphOptions {
  repoRoot: string;
  /** Entry file (repository-relative `.ts` path) by process name. */
  entries: Readonly<Record<string, string>>;
  /** Package name prefix of the workspaces, whose imports are followed. Default `@portico/`. */
  workspaceScope?: string;
  /** Export conditions to resolve with. Default `["portico-source"]`. */
  conditions?: string[];
}

/** Leaves every bare import external except the workspaces' (`@portico/...`). */
function externalPackages(workspaceScope: string): Plugin {
  return {
    name: "external-packages",
    setup(builder) {
      builder.onResolve({ filter: /^[^./]/ }, (args) =>
        args.path.startsWith(workspaceScope) ? undefined : { path: args.path, external: true },
      );
    },
  };
}

/**
 * Reads the import graph of every entry (each a separate, unwritten esbuild bundle).
 * @throws InfraError naming esbuild's first error when an entry does not resolve or parse.
 */
export async function readImportGraph(options: ImportGraphOptions): Promise<ImportGraph> {
  const { repoRoot, workspaceScope = "@portico/", conditions = ["portico-source"] } = options;
  const root = realpathSync(repoRoot);
  const graph = new Map<string, Set<string>>();
  await Promise.all(
    Object.entries(options.entries).map(async ([name, entry]) => {
      try {
        const result = await build({
          absWorkingDir: root,
          entryPoints: [entry],
          bundle: true,
          write: false,
          metafile: true,
          platform: "node",
          format: "esm",
          conditions,
          outdir: "out",
          logLevel: "silent",
          plugins: [externalPackages(workspaceScope)],
        });
        const inputs = Object.keys(result.metafile.inputs).map((input) =>
          relative(root, resolve(root, input)).split("\\").join("/"),
        );
        graph.set(name, new Set(inputs));
      } catch (error) {
        const first = (error as { errors?: { text: string }[] }).errors?.[0]?.text;
        throw new InfraError(`reading the imports of ${entry} failed: ${first ?? String(error)}`);
      }
    }),
  );
  return graph;
}

/** The names whose files (in `graph`) include any of `changed` (repository-relative paths). */
export function importersOf(graph: ImportGraph, changed: Iterable<string>): string[] {
  const files = [...changed];
  return [...graph].filter(([, inputs]) => files.some((f) => inputs.has(f))).map(([name]) => name);
}
