import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { type ImportGraph, readImportGraph } from "../../src/infra/import-graph.js";
import { type ManagedProcess, spawnManaged } from "../../src/infra/process.js";
import { Supervisor } from "../../src/infra/supervisor.js";
import {
  planRestart,
  Restarter,
  startWatchMode,
  type WatchTarget,
} from "../../src/infra/watch-mode.js";
import type { Watcher } from "../../src/infra/watcher.js";
import { tempDir } from "../helpers.js";

const TARGETS: WatchTarget[] = [
  {
    name: "users",
    service: "users",
    kind: "service",
    stage: 0,
    entry: "services/users/src/main.ts",
  },
  {
    name: "products-1",
    service: "products",
    kind: "service",
    stage: 0,
    entry: "services/products/src/main.ts",
  },
  {
    name: "products-2",
    service: "products",
    kind: "service",
    stage: 0,
    entry: "services/products/src/main.ts",
  },
  {
    name: "ml",
    service: "ml",
    kind: "service",
    stage: 0,
    dirs: ["services/ml", "services/kit-python"],
  },
  { name: "gateway", service: "gateway", kind: "gateway", stage: 1, entry: "gateway/src/main.ts" },
];

const GRAPH: ImportGraph = new Map([
  ["users", new Set(["services/users/src/main.ts", "services/kit/src/app.ts"])],
  ["products-1", new Set(["services/products/src/main.ts", "services/kit/src/app.ts"])],
  ["products-2", new Set(["services/products/src/main.ts", "services/kit/src/app.ts"])],
  ["gateway", new Set(["gateway/src/main.ts", "services/kit/src/core.ts"])],
]);

describe("planRestart", () => {
  it("restarts the processes importing a changed TypeScript file, and only those", () => {
    expect(planRestart(["services/products/src/main.ts"], TARGETS, [GRAPH])).toEqual({
      contracts: [],
      transpile: true,
      stages: [["products-1", "products-2"]],
    });
    expect(planRestart(["services/kit/src/app.ts"], TARGETS, [GRAPH]).stages).toEqual([
      ["users", "products-1", "products-2"],
    ]);
    expect(planRestart(["services/kit/src/core.ts"], TARGETS, [GRAPH]).stages).toEqual([
      ["gateway"],
    ]);
  });

  it("restarts a contract's service and the gateway, stage by stage; a shared contract restarts all", () => {
    expect(planRestart(["contracts/products.yaml"], TARGETS, [GRAPH])).toEqual({
      contracts: ["contracts/products.yaml"],
      transpile: true,
      stages: [["products-1", "products-2"], ["gateway"]],
    });
    expect(planRestart(["contracts/components.yaml"], TARGETS, [GRAPH]).stages).toEqual([
      ["users", "products-1", "products-2", "ml"],
      ["gateway"],
    ]);
  });

  it("restarts a folder's process on any change below it; unrelated files restart nothing", () => {
    expect(planRestart(["services/ml/app/main.py"], TARGETS, [GRAPH])).toEqual({
      contracts: [],
      transpile: false,
      stages: [["ml"]],
    });
    expect(
      planRestart(["services/kit-python/src/portico_kit/limits.py"], TARGETS, [GRAPH]).stages,
    ).toEqual([["ml"]]);
    expect(
      planRestart(["README.md", "services/kit/src/unused.ts"], TARGETS, [GRAPH]).stages,
    ).toEqual([]);
  });

  it("consults every graph given (an import removed by the change still counts)", () => {
    const after: ImportGraph = new Map([["gateway", new Set(["gateway/src/main.ts"])]]);
    expect(planRestart(["services/kit/src/core.ts"], TARGETS, [GRAPH, after]).stages).toEqual([
      ["gateway"],
    ]);
  });
});

/** Writes `files` (path → content) below `root`. */
async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

/** A small repository: `alpha` imports the shared `lib`, `beta` does not. */
const FIXTURE = {
  "lib/src/shared.ts": "export const shared = (n: number): number => n + 1;\n",
  "lib/src/types.ts": "export interface Unused { n: number }\n",
  "alpha/src/main.ts":
    'import { readFileSync } from "node:fs";\nimport type { Unused } from "../../lib/src/types.js";\nimport { shared } from "../../lib/src/shared.js";\nexport const alpha: Unused = { n: shared(readFileSync.length) };\n',
  "beta/src/main.ts": 'import pino from "pino";\nexport const beta = pino;\n',
  "contracts/alpha.yaml": "openapi: 3.1.0\n",
};

describe("readImportGraph", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir("import-graph");
    await writeTree(dir.path, FIXTURE);
  });
  afterAll(async () => {
    await dir.remove();
  });

  it("lists each entry's own files: relative imports followed, packages and types left out", async () => {
    const graph = await readImportGraph({
      repoRoot: dir.path,
      entries: { alpha: "alpha/src/main.ts", beta: "beta/src/main.ts" },
    });
    expect([...(graph.get("alpha") ?? [])].sort()).toEqual([
      "alpha/src/main.ts",
      "lib/src/shared.ts",
    ]);
    expect([...(graph.get("beta") ?? [])]).toEqual(["beta/src/main.ts"]);
  });
});

describe("startWatchMode", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let watcher: Watcher | undefined;
  const running = new Map<string, ManagedProcess>();
  const started: string[] = [];
  const said: string[] = [];
  let transpiles = 0;
  let restarter: Restarter;
  let supervisor: Supervisor;

  beforeAll(async () => {
    dir = await tempDir("watch-mode");
    await writeTree(dir.path, FIXTURE);
    // Each fixture process idles until stopped; starting one records its name.
    const startProcess = async (name: string) => {
      started.push(name);
      running.set(
        name,
        spawnManaged({
          name,
          command: process.execPath,
          args: ["-e", "setInterval(() => {}, 1000)"],
        }),
      );
    };
    for (const name of ["alpha", "beta", "gateway"]) await startProcess(name);
    started.length = 0;
    restarter = new Restarter({
      stopProcess: async (name) => {
        await running.get(name)?.stop(1000);
      },
      startProcess,
    });
    supervisor = new Supervisor({ restart: (name) => restarter.restart(name), report: () => {} });
    watcher = await startWatchMode({
      repoRoot: dir.path,
      targets: [
        { name: "alpha", service: "alpha", kind: "service", stage: 0, entry: "alpha/src/main.ts" },
        { name: "beta", service: "beta", kind: "service", stage: 0, entry: "beta/src/main.ts" },
        { name: "gateway", service: "gateway", kind: "gateway", stage: 1, dirs: ["gateway"] },
      ],
      restarter,
      supervisor,
      transpile: async () => {
        transpiles++;
      },
      // The generation writes a file the test can see.
      generate: {
        command: process.execPath,
        args: ["-e", 'require("node:fs").writeFileSync("generated.flag", "")'],
      },
      say: (line) => said.push(line),
      log: () => {},
    });
  });
  afterAll(async () => {
    await watcher?.close();
    await restarter.close();
    await Promise.all([...running.values()].map((proc) => proc.stop(1000)));
    await dir.remove();
  });

  /** Waits until watch mode has printed a line matching `pattern`; returns it. */
  async function saidLine(pattern: RegExp): Promise<string> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const line = said.find((l) => pattern.test(l));
      if (line) return line;
      if (Date.now() > deadline)
        throw new Error(`no line matching ${pattern}; said: ${said.join(" / ")}`);
      await delay(20);
    }
  }

  it("restarts only the process importing an edited file, and says what changed and how long it took", async () => {
    await writeFile(
      join(dir.path, "lib/src/shared.ts"),
      "export const shared = (n: number): number => n + 2;\n",
    );
    const line = await saidLine(/shared\.ts changed/);
    expect(line).toMatch(/^lib\/src\/shared\.ts changed: restarted alpha in \d+\.\d s$/);
    expect(started).toEqual(["alpha"]);
    expect(transpiles).toBe(1);
    expect(running.get("beta")?.exitInfo()).toBeUndefined();
  });

  it("runs the generation for a changed contract, then restarts its service and the gateway", async () => {
    started.length = 0;
    await writeFile(join(dir.path, "contracts/alpha.yaml"), "openapi: 3.1.1\n");
    const line = await saidLine(/alpha\.yaml changed: restarted/);
    expect(line).toMatch(/restarted alpha, gateway in/);
    expect(said).toContain("contracts/alpha.yaml changed: generating");
    expect(existsSync(join(dir.path, "generated.flag"))).toBe(true);
    expect(started).toEqual(["alpha", "gateway"]);
    expect(running.get("beta")?.exitInfo()).toBeUndefined();
  });
});
