// @ts-check
import { resolve } from "node:path";

/**
 * One jest project per workspace package. All share the ESM + ts-jest setup, and one NATS and one
 * PostgreSQL server that globalSetup provisions (env URLs, else testcontainers, else local servers).
 */
const packages = {
  contracts: "contracts",
  kit: "services/kit",
  users: "services/users",
  products: "services/products",
  notifications: "services/notifications",
  gateway: "gateway",
  client: "clients/typescript",
  scripts: "scripts",
};

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
