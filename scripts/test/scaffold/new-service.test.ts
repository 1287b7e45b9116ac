/**
 * `npm run new:service` end to end, once per language: scaffolds a throwaway service in a scratch
 * copy of the repository (a git worktree of HEAD whose node_modules link to this checkout's),
 * checks that nothing outside its folder, its contract, the event contract and the generated
 * output changed, then starts the copy's whole system and calls the service through the gateway
 * with @portico/client (drive-service.ts). The copy is removed afterwards. Slow: one system
 * start and one generation per language.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "@jest/globals";
import { entityOf } from "../../src/new-service/names.js";
import { repoRoot } from "../../src/paths.js";

const run = promisify(execFile);

/** Paths a scaffold may change: its own, the event contract, generated output, the lockfile. */
function allowedChange(service: string, path: string): boolean {
  return (
    path.startsWith(`services/${service}/`) ||
    path === `contracts/${service}.yaml` ||
    path === "contracts/events.yaml" ||
    path.startsWith("contracts/generated/") ||
    path.startsWith("clients/python/") || // the Python client is generated from the public contract
    path === "compose.yaml" ||
    path.startsWith("deploy/") ||
    path === "package-lock.json"
  );
}

/**
 * A worktree of HEAD at a temporary path with node_modules linked to this checkout's, except the
 * workspace packages (`@portico/*`), linked to the copy's own folders, and the cache (the
 * transpiled mirror of its workspaces).
 */
async function scratchCopy(): Promise<{ dir: string; remove(): Promise<void> }> {
  const parent = await mkdtemp(join(tmpdir(), "portico-scaffold-"));
  const dir = join(parent, "repo");
  await run("git", ["worktree", "add", "--detach", dir, "HEAD"], { cwd: repoRoot });
  await mkdir(join(dir, "node_modules", "@portico"), { recursive: true });
  for (const entry of await readdir(join(repoRoot, "node_modules"))) {
    // The copy's own: its workspaces (below) and the transpiled mirror npm start runs (.cache).
    if (entry !== "@portico" && entry !== ".cache") {
      await symlink(join(repoRoot, "node_modules", entry), join(dir, "node_modules", entry));
    }
  }
  for (const entry of await readdir(join(repoRoot, "node_modules", "@portico"))) {
    const { stdout } = await run("readlink", [
      "-f",
      join(repoRoot, "node_modules", "@portico", entry),
    ]);
    const folder = stdout.trim().slice(repoRoot.length + 1);
    await symlink(join(dir, folder), join(dir, "node_modules", "@portico", entry));
    // A workspace's own node_modules (versions that differ from the root's).
    const own = join(repoRoot, folder, "node_modules");
    if (existsSync(own)) await symlink(own, join(dir, folder, "node_modules"));
  }
  // The Python services' environments (npm test creates them first).
  for (const entry of await readdir(join(repoRoot, "services"))) {
    const venv = join(repoRoot, "services", entry, ".venv");
    if (existsSync(venv)) await symlink(venv, join(dir, "services", entry, ".venv"));
  }
  return {
    dir,
    remove: async () => {
      await run("git", ["worktree", "remove", "--force", dir], { cwd: repoRoot }).catch(
        () => undefined,
      );
      await rm(parent, { recursive: true, force: true });
    },
  };
}

const copies: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const remove of copies) await remove();
}, 60_000);

describe.each([
  ["typescript", "scaffoldts", []],
  ["python", "scaffoldpy", ["--python"]],
] as const)("npm run new:service (%s)", (_language, service, flags) => {
  it("writes a service that runs behind the gateway with nothing else edited", async () => {
    const copy = await scratchCopy();
    copies.push(copy.remove);
    if (flags.length > 0) {
      // Lean: the new Python service reuses an existing one's environment (the template's lock
      // files are the ML service's) instead of installing its own.
      const donor = (await readdir(join(repoRoot, "services"))).find((entry) =>
        existsSync(join(repoRoot, "services", entry, ".venv", "bin", "datamodel-codegen")),
      );
      if (!donor) throw new Error("no Python environment to reuse: npm run python:env");
      await mkdir(join(copy.dir, "services", service), { recursive: true });
      await symlink(
        join(repoRoot, "services", donor, ".venv"),
        join(copy.dir, "services", service, ".venv"),
      );
    }
    const tsx = join(repoRoot, "node_modules", ".bin", "tsx");
    await run(
      tsx,
      [
        "--conditions=portico-source",
        "scripts/src/new-service/main.ts",
        service,
        ...flags,
        "--no-install",
      ],
      {
        cwd: copy.dir,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    if (existsSync(join(copy.dir, "services", service, "package.json"))) {
      // What `npm install` does for the workspace (the copy's node_modules are links).
      await symlink(
        join(copy.dir, "services", service),
        join(copy.dir, "node_modules", "@portico", service),
      );
    }

    const { stdout: status } = await run(
      "git",
      ["status", "--porcelain", "--untracked-files=all"],
      {
        cwd: copy.dir,
      },
    );
    const changed = status
      .split("\n")
      .filter(Boolean)
      .map((line) => line.slice(3))
      // The links scratchCopy made (a link is a file to git: .gitignore's `node_modules/` misses it).
      .filter(
        (path) => !path.split("/").some((part) => part === "node_modules" || part === ".venv"),
      );
    expect(changed.filter((path) => !allowedChange(service, path))).toEqual([]);
    expect(changed).toContain(`contracts/${service}.yaml`);

    const { stdout } = await run(
      tsx,
      ["--conditions=portico-source", "scripts/test/scaffold/drive-service.ts", service],
      {
        cwd: copy.dir,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    expect(JSON.parse(stdout.trim().split("\n").at(-1) as string)).toEqual({
      anonymous: 401,
      created: 201,
      got: 200,
      sameAsCreated: true,
      event: `${service}.${entityOf(service)}.created`,
      eventAbout: true,
      eventValid: true,
    });
  }, 600_000);
});
