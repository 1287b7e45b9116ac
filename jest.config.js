// @ts-check
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

/**
 * One jest project per workspace package (the root package.json's `workspaces`, so a service added
 * under services/ is a project without an edit here), named after the package (`@portico/kit` →
 * `kit`). All share the ESM + ts-jest setup, and one NATS and one PostgreSQL server that
 * globalSetup provisions (env URLs, else testcontainers, else local servers).
 */
const root = import.meta.dirname;
const { workspaces } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
/** @type {Record<string, string>} project name → folder relative to the root, in workspace order. */
const packages = Object.fromEntries(
  /** @type {string[]} */ (workspaces)
    .flatMap((pattern) =>
      pattern.endsWith("/*")
        ? readdirSync(join(root, pattern.slice(0, -2)), { withFileTypes: true })
            .filter((entry) => entry.isDirectory())
            .map((entry) => `${pattern.slice(0, -2)}/${entry.name}`)
            .sort()
        : [pattern],
    )
    .filter((dir) => existsSync(join(root, dir, "package.json")))
    .map((dir) => {
      const { name } = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"));
      return [name.replace(/^@portico\//, ""), dir];
    }),
);

/** @type {import('jest').Config} */
const shared = {
  extensionsToTreatAsEsm: [".ts"],
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  transform: {
    "^.+\\.ts$": [
      "ts-jest",
      { useESM: true, tsconfig: resolve(import.meta.dirname, "tsconfig.base.json") },
    ],
  },
  testEnvironment: "node",
  testEnvironmentOptions: { customExportConditions: ["portico-source", "node", "node-addons"] },
};

/** @type {import('jest').Config} */
const config = {
  ...shared,
  projects: Object.entries(packages).map(([name, dir]) => ({
    ...shared,
    displayName: name,
    rootDir: resolve(import.meta.dirname, dir),
    testMatch: ["<rootDir>/test/**/*.test.ts"],
  })),
  globalSetup: "<rootDir>/scripts/src/testing/global-setup.ts",
  globalTeardown: "<rootDir>/scripts/src/testing/global-teardown.ts",
  maxWorkers: 2,
  testTimeout: 30_000,
};

export default config;
