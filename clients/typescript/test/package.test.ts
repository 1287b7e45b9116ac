/**
 * @portico/client as a published package: `npm pack` gives a tarball that installs into an empty
 * project outside this repository (its dependencies from the npm cache or registry), type-checks
 * there with the bundled types, runs in Node, and bundles for the browser without Node built-ins.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { build } from "esbuild";

const run = promisify(execFile);
const packageDir = join(import.meta.dirname, "..");
const repoRoot = join(packageDir, "..", "..");
const tsc = join(repoRoot, "node_modules", "typescript", "bin", "tsc");

let project: string;

/** Type-checks `source` as the consumer's own module: tsc's exit code and output. */
async function typeCheck(source: string): Promise<{ ok: boolean; output: string }> {
  await writeFile(join(project, "index.ts"), source);
  return run(process.execPath, [tsc, "-p", project], { cwd: project }).then(
    () => ({ ok: true, output: "" }),
    (error: { stdout: string }) => ({ ok: false, output: error.stdout }),
  );
}

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), "portico-client-consumer-"));
  await run("npm", ["run", "build"], { cwd: packageDir, maxBuffer: 16 * 1024 * 1024 });
  const { stdout } = await run(
    "npm",
    ["pack", "--ignore-scripts", "--json", "--pack-destination", project],
    { cwd: packageDir },
  );
  const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
  await writeFile(
    join(project, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  await writeFile(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        lib: ["ES2023", "DOM"],
        strict: true,
        noEmit: true,
        types: [],
      },
      files: ["index.ts"],
    }),
  );
  await run(
    "npm",
    ["install", "--prefer-offline", "--no-audit", "--no-fund", join(project, filename)],
    { cwd: project, maxBuffer: 16 * 1024 * 1024 },
  );
}, 240_000);

afterAll(async () => {
  await rm(project, { recursive: true, force: true });
});

describe("the @portico/client tarball", () => {
  it("depends only on published packages and ships its types and code", async () => {
    const installed = JSON.parse(
      await readFile(join(project, "node_modules", "@portico", "client", "package.json"), "utf8"),
    ) as { dependencies: Record<string, string>; files: string[]; license: string };
    expect(Object.keys(installed.dependencies).sort()).toEqual([
      "eventsource-parser",
      "openapi-fetch",
    ]);
    expect(installed.license).toBe("MIT");
    const types = await readFile(
      join(project, "node_modules", "@portico", "client", "dist", "index.d.ts"),
      "utf8",
    );
    expect(types).not.toMatch(/(from|import\()\s*["']@portico\//);
  });

  it("type-checks a consumer's typed calls, and refuses one that breaks the contract", async () => {
    const good = await typeCheck(`
      import { createPorticoClient, unwrap, type Schemas } from "@portico/client";
      const client = createPorticoClient({ baseUrl: "http://127.0.0.1:8080" });
      export async function price(productId: string): Promise<Schemas["Money"]> {
        const product = await unwrap(client.GET("/products/{productId}", { params: { path: { productId } } }));
        return product.price;
      }
    `);
    expect(good).toEqual({ ok: true, output: "" });
    const bad = await typeCheck(`
      import { createPorticoClient } from "@portico/client";
      const client = createPorticoClient({ baseUrl: "http://127.0.0.1:8080" });
      export const wrong = client.POST("/products", { body: { name: 42 } });
    `);
    expect(bad.ok).toBe(false);
    expect(bad.output).toMatch(/index\.ts.*error TS/);
  }, 180_000);

  it("runs in Node", async () => {
    const { stdout } = await run(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { createPorticoClient, PorticoError } from "@portico/client";
         const client = createPorticoClient({ baseUrl: "http://127.0.0.1:9", token: "t" });
         console.log(typeof client.GET, client.token, new PorticoError(404, undefined).status);`,
      ],
      { cwd: project },
    );
    expect(stdout.trim()).toBe("function t 404");
  });

  it("bundles for the browser without any Node built-in", async () => {
    await writeFile(
      join(project, "browser.js"),
      `import { createPorticoClient } from "@portico/client";
       globalThis.client = createPorticoClient({ baseUrl: location.origin });`,
    );
    const result = await build({
      entryPoints: [join(project, "browser.js")],
      absWorkingDir: project,
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    expect(result.errors).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((input) => input.includes("@portico/client/dist/index.js"))).toBe(true);
    expect(inputs.some((input) => input.includes("openapi-fetch"))).toBe(true);
    const imports = Object.values(result.metafile.inputs).flatMap((input) =>
      input.imports.map((entry) => entry.path),
    );
    expect(imports.filter((path) => path.startsWith("node:") || !path.includes("/"))).toEqual([]);
  });
});
