/**
 * The JavaScript mirror the system's processes run from: a fixture repository with two workspaces
 * (one importing the other through its `portico-source` export, one reading a file next to its
 * sources), transpiled, run with plain `node`, changed and transpiled again.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { isInfraError } from "../../src/infra/errors.js";
import { transpileWorkspaces } from "../../src/infra/transpile.js";
import { tempDir } from "../helpers.js";

const run = promisify(execFile);

async function put(root: string, path: string, content: string | object): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  const text = typeof content === "string" ? content : JSON.stringify(content);
  await writeFile(join(root, path), text);
}

describe("transpileWorkspaces", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let repo: string;
  beforeAll(async () => {
    dir = await tempDir("transpile");
    repo = dir.path;
    // A pattern, as npm reads it: every folder with a package.json (lib, app; scripts is skipped).
    await put(repo, "package.json", { private: true, workspaces: ["*", "scripts"] });
    await put(repo, "lib/package.json", {
      name: "@fx/lib",
      type: "module",
      exports: { ".": { "portico-source": "./src/index.ts", default: "./dist/index.js" } },
    });
    await put(
      repo,
      "lib/src/index.ts",
      [
        'import { readFileSync } from "node:fs";',
        "export type Count = number;",
        'const url = new URL("../data/greeting.json", import.meta.url);',
        'export const greeting: string = JSON.parse(readFileSync(url, "utf8")).text;',
        "",
      ].join("\n"),
    );
    await put(repo, "lib/data/greeting.json", { text: "hello" });
    await put(repo, "lib/test/skipped.ts", "export {};\n");
    await put(repo, "app/package.json", { name: "@fx/app", type: "module" });
    await put(
      repo,
      "app/src/main.ts",
      [
        'import { type Count, greeting } from "@fx/lib";',
        "const count: Count = 1;",
        "console.log(greeting, count);",
        "",
      ].join("\n"),
    );
    // Line 4 throws: the stack trace must name the TypeScript file and line.
    await put(
      repo,
      "app/src/fail.ts",
      "interface A {\n  a: number;\n}\nthrow new Error('boom');\n",
    );
    await put(repo, "scripts/src/tool.ts", "export {};\n");
  });
  afterAll(async () => {
    await dir.remove();
  });

  it("mirrors the workspaces as JavaScript that plain node runs, imports resolved", async () => {
    const mirror = await transpileWorkspaces({ repoRoot: repo });

    expect(mirror.root).toBe(join(repo, "node_modules", ".cache", "portico", "js"));
    expect(mirror.stats.sources).toBe(3); // lib/src/index, app/src/main, app/src/fail
    const { stdout } = await run(process.execPath, [mirror.entry("app/src/main.ts")]);
    expect(stdout).toBe("hello 1\n");
    // The workspace's exports point at the mirrored sources; tests and tooling are left out.
    const manifest = JSON.parse(await readFile(join(mirror.root, "lib/package.json"), "utf8"));
    expect(manifest.exports).toEqual({ ".": "./src/index.js" });
    await expect(stat(join(mirror.root, "lib/test"))).rejects.toThrow();
    await expect(stat(join(mirror.root, "scripts"))).rejects.toThrow();
  });

  it("maps stack traces to the TypeScript source under --enable-source-maps", async () => {
    const mirror = await transpileWorkspaces({ repoRoot: repo });
    const failed = run(process.execPath, ["--enable-source-maps", mirror.entry("app/src/fail.ts")]);
    await expect(failed).rejects.toMatchObject({
      stderr: expect.stringContaining(`${join(repo, "app/src/fail.ts")}:4`),
    });
  });

  it("transpiles only changed files and removes those whose source is gone", async () => {
    const first = await transpileWorkspaces({ repoRoot: repo });
    const untouched = join(first.root, "lib/src/index.js");
    const before = (await stat(untouched)).mtimeMs;
    await put(
      repo,
      "app/src/main.ts",
      'import { greeting } from "@fx/lib";\nconsole.log(greeting);\n',
    );
    await rm(join(repo, "app/src/fail.ts"));

    const second = await transpileWorkspaces({ repoRoot: repo });

    expect(second.stats.transpiled).toBe(1); // app/src/main.ts only

    const { stdout } = await run(process.execPath, [second.entry("app/src/main.ts")]);
    expect(stdout).toBe("hello\n");
    expect((await stat(untouched)).mtimeMs).toBe(before);
    await expect(stat(join(second.root, "app/src/fail.js"))).rejects.toThrow();
  });

  it("fails with esbuild's message when a file does not parse", async () => {
    await put(repo, "app/src/broken.ts", "const = 1;\n");
    try {
      const error = await transpileWorkspaces({ repoRoot: repo }).catch((e: unknown) => e);
      expect(isInfraError(error)).toBe(true);
      expect((error as Error).message).toMatch(/app\/src\/broken\.ts/);
    } finally {
      await rm(join(repo, "app/src/broken.ts"));
    }
  });
});
